#pragma once
// Batch encoders for the span exporter: OTLP/HTTP JSON (an
// ExportTraceServiceRequest, POST /v1/traces) and Zipkin v2 JSON (a span
// list, POST /api/v2/spans). Both are sent as application/json. Run on the
// control thread, off the data path.
//
// Span attributes follow the OpenTelemetry semantic conventions
// (http.request.method, url.path, http.route, http.response.status_code,
// server.address, client.address, user_agent.original, error.type,
// http.request.body.size, http.response.body.size) plus icaht.service,
// icaht.upstream.address and icaht.attempts; Zipkin gets the same keys as
// tags (values as strings) and an `error` tag on failed spans.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tracing/span.h"

namespace icaht::tracing {

// Who produced the spans: the OTLP resource and instrumentation scope, and
// Zipkin's localEndpoint.serviceName.
struct ExportResource {
  std::string service_name = "icaht-sidecar";
  std::string host_name;  // host.name; omitted when empty
  std::string scope_name = "icaht-sidecar";
  std::string scope_version;  // omitted when empty
};

enum class ExportFormat : uint8_t { kOtlpJson, kZipkinJson };

// The collector path each format is posted to: /v1/traces or /api/v2/spans.
std::string_view ExportPath(ExportFormat format);

// Appends one OTLP JSON request holding `spans` (one resource, one scope).
// Ids are lowercase hex (the OTLP JSON mapping, not protobuf's base64), kind
// and status code are integers, times and integer attributes are decimal
// strings (64-bit integers in the protobuf JSON mapping).
void EncodeOtlpJson(std::span<const Span> spans, const ExportResource& resource, std::string& out);

// Appends a Zipkin v2 JSON array of `spans`: timestamp and duration in
// microseconds (a duration under 1 µs is rounded up to 1), the client as
// remoteEndpoint when its address is known.
void EncodeZipkinJson(std::span<const Span> spans, const ExportResource& resource,
                      std::string& out);

void EncodeSpans(ExportFormat format, std::span<const Span> spans, const ExportResource& resource,
                 std::string& out);

}  // namespace icaht::tracing
