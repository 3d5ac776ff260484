#include "tracing/encode.h"

#include <charconv>

#include "core/json_string.h"

namespace icaht::tracing {
namespace {

using core::AppendJsonString;

struct StringAttribute {
  std::string_view key;
  std::string Span::*field;
};

// Omitted when empty.
constexpr StringAttribute kStringAttributes[] = {
    {"icaht.service", &Span::service},
    {"http.request.method", &Span::method},
    {"url.path", &Span::path},
    {"http.route", &Span::route},
    {"server.address", &Span::server_address},
    {"icaht.upstream.address", &Span::upstream_address},
    {"error.type", &Span::error_kind},
    {"client.address", &Span::client_address},
    {"user_agent.original", &Span::user_agent},
};

struct IntAttribute {
  std::string_view key;
  uint64_t (*get)(const Span&);
  bool omit_zero;
};

constexpr IntAttribute kIntAttributes[] = {
    {"http.response.status_code", [](const Span& s) -> uint64_t { return s.status_code; }, true},
    {"http.request.body.size", [](const Span& s) { return s.request_body_bytes; }, false},
    {"http.response.body.size", [](const Span& s) { return s.response_body_bytes; }, false},
    {"icaht.attempts", [](const Span& s) -> uint64_t { return s.attempts; }, false},
};

template <typename Int>
void AppendInt(std::string& out, Int v) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, result.ptr);
}

// `"key":"<hex>"` (ids need no escaping).
template <size_t N>
void AppendHexMember(std::string& out, std::string_view key, const std::array<uint8_t, N>& id) {
  out.push_back('"');
  out.append(key);
  out.append("\":\"");
  const size_t at = out.size();
  out.resize(at + 2 * N);
  WriteHex(id, out.data() + at);
  out.push_back('"');
}

// OTLP KeyValue with a string AnyValue.
void AppendOtlpString(std::string& out, std::string_view key, std::string_view value) {
  out.append("{\"key\":");
  AppendJsonString(out, key);
  out.append(",\"value\":{\"stringValue\":");
  AppendJsonString(out, value);
  out.append("}}");
}

void AppendOtlpAttributes(std::string& out, const Span& span) {
  out.append("\"attributes\":[");
  bool first = true;
  for (const StringAttribute& a : kStringAttributes) {
    const std::string& value = span.*a.field;
    if (value.empty()) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendOtlpString(out, a.key, value);
  }
  for (const IntAttribute& a : kIntAttributes) {
    const uint64_t value = a.get(span);
    if (value == 0 && a.omit_zero) continue;
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"key\":\"");
    out.append(a.key);
    out.append("\",\"value\":{\"intValue\":\"");
    AppendInt(out, value);
    out.append("\"}}");
  }
  out.push_back(']');
}

// `{"traceId":..,"<span_key>":..[,"<parent_key>":..]`: the parent only when there is one.
void AppendIds(std::string& out, const Span& span, std::string_view span_key,
               std::string_view parent_key) {
  out.push_back('{');
  AppendHexMember(out, "traceId", span.trace_id);
  out.push_back(',');
  AppendHexMember(out, span_key, span.span_id);
  if (span.has_parent()) {
    out.push_back(',');
    AppendHexMember(out, parent_key, span.parent_span_id);
  }
}

void AppendOtlpSpan(std::string& out, const Span& span) {
  AppendIds(out, span, "spanId", "parentSpanId");
  out.append(",\"name\":");
  AppendJsonString(out, span.name);
  // SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3.
  out.append(span.kind == SpanKind::kServer ? ",\"kind\":2" : ",\"kind\":3");
  out.append(",\"startTimeUnixNano\":\"");
  AppendInt(out, span.start_unix_ns);
  out.append("\",\"endTimeUnixNano\":\"");
  AppendInt(out, span.end_unix_ns);
  out.append("\",");
  AppendOtlpAttributes(out, span);
  // STATUS_CODE_ERROR = 2; otherwise UNSET (0): an HTTP server leaves success unset.
  if (span.error) {
    out.append(",\"status\":{\"code\":2");
    if (!span.error_kind.empty()) {
      out.append(",\"message\":");
      AppendJsonString(out, span.error_kind);
    }
    out.append("}}");
  } else {
    out.append(",\"status\":{\"code\":0}}");
  }
}

void AppendZipkinTag(std::string& out, bool& first, std::string_view key, std::string_view value) {
  if (!first) out.push_back(',');
  first = false;
  AppendJsonString(out, key);
  out.push_back(':');
  AppendJsonString(out, value);
}

void AppendZipkinSpan(std::string& out, const Span& span, std::string_view service_name) {
  AppendIds(out, span, "id", "parentId");
  out.append(span.kind == SpanKind::kServer ? ",\"kind\":\"SERVER\"" : ",\"kind\":\"CLIENT\"");
  out.append(",\"name\":");
  AppendJsonString(out, span.name);
  out.append(",\"timestamp\":");
  AppendInt(out, span.start_unix_ns / 1000);
  const int64_t duration_ns = span.end_unix_ns - span.start_unix_ns;
  out.append(",\"duration\":");
  AppendInt(out, duration_ns > 1000 ? (duration_ns + 999) / 1000 : 1);
  out.append(",\"localEndpoint\":{\"serviceName\":");
  AppendJsonString(out, service_name);
  out.push_back('}');
  if (!span.client_address.empty()) {
    // Zipkin wants the address family named; an IPv6 address has a ':'.
    const bool v6 = span.client_address.find(':') != std::string::npos;
    out.append(v6 ? ",\"remoteEndpoint\":{\"ipv6\":" : ",\"remoteEndpoint\":{\"ipv4\":");
    AppendJsonString(out, span.client_address);
    out.push_back('}');
  }
  out.append(",\"tags\":{");
  bool first = true;
  for (const StringAttribute& a : kStringAttributes) {
    const std::string& value = span.*a.field;
    if (!value.empty()) AppendZipkinTag(out, first, a.key, value);
  }
  char digits[24];
  for (const IntAttribute& a : kIntAttributes) {
    const uint64_t value = a.get(span);
    if (value == 0 && a.omit_zero) continue;
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    AppendZipkinTag(out, first, a.key, std::string_view(digits, result.ptr - digits));
  }
  if (span.error) {
    // Zipkin marks a failed span by the presence of the `error` tag.
    std::string_view message = span.error_kind;
    if (message.empty()) {
      const auto result = std::to_chars(digits, digits + sizeof digits, span.status_code);
      message = std::string_view(digits, result.ptr - digits);
    }
    AppendZipkinTag(out, first, "error", message);
  }
  out.append("}}");
}

}  // namespace

std::string_view ExportPath(ExportFormat format) {
  return format == ExportFormat::kOtlpJson ? "/v1/traces" : "/api/v2/spans";
}

void EncodeOtlpJson(std::span<const Span> spans, const ExportResource& resource, std::string& out) {
  out.append("{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
  AppendOtlpString(out, "service.name", resource.service_name);
  if (!resource.host_name.empty()) {
    out.push_back(',');
    AppendOtlpString(out, "host.name", resource.host_name);
  }
  out.append("]},\"scopeSpans\":[{\"scope\":{\"name\":");
  AppendJsonString(out, resource.scope_name);
  if (!resource.scope_version.empty()) {
    out.append(",\"version\":");
    AppendJsonString(out, resource.scope_version);
  }
  out.append("},\"spans\":[");
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendOtlpSpan(out, spans[i]);
  }
  out.append("]}]}]}");
}

void EncodeZipkinJson(std::span<const Span> spans, const ExportResource& resource,
                      std::string& out) {
  out.push_back('[');
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendZipkinSpan(out, spans[i], resource.service_name);
  }
  out.push_back(']');
}

void EncodeSpans(ExportFormat format, std::span<const Span> spans, const ExportResource& resource,
                 std::string& out) {
  if (format == ExportFormat::kOtlpJson) {
    EncodeOtlpJson(spans, resource, out);
  } else {
    EncodeZipkinJson(spans, resource, out);
  }
}

}  // namespace icaht::tracing
