#include "filters/cors.h"

#include <array>

#include "core/check.h"
#include "http/field_syntax.h"

namespace icaht::filters {
namespace {

// The response fields of the CORS protocol: an upstream's are replaced.
constexpr std::array<std::string_view, 6> kResponseFields = {
    "Access-Control-Allow-Origin",   "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",  "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers", "Access-Control-Max-Age"};
constexpr std::string_view kResponseFieldPrefix = "access-control-";

constexpr std::string_view kPreflightVary =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsAlpha(c) || http::IsDigit(c); }

bool IsScheme(std::string_view s) {
  if (s.empty() || !IsAlpha(s.front())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// Dot-separated non-empty labels of [A-Za-z0-9_-] (browsers send hosts
// ASCII-serialized: IDNs as punycode).
bool IsRegName(std::string_view s) {
  if (s.empty()) return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (IsAlnum(c) || c == '-' || c == '_') {
      ++label;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool IsIpLiteral(std::string_view s) {
  if (s.size() < 4 || s.front() != '[' || s.back() != ']') return false;
  for (char c : s.substr(1, s.size() - 2)) {
    if (!(http::HexValue(c) >= 0 || c == ':' || c == '.')) return false;
  }
  return true;
}

uint16_t DefaultPort(std::string_view scheme) {
  if (http::EqualsIgnoreCase(scheme, "http")) return 80;
  if (http::EqualsIgnoreCase(scheme, "https")) return 443;
  return 0;
}

// ":" 1*5DIGIT with a value 1..65535.
bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.size() < 2 || s.size() > 6 || s.front() != ':') return false;
  uint32_t value = 0;
  for (char c : s.substr(1)) {
    if (!http::IsDigit(c)) return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// ParseOrigin, plus (with allow_wildcard) "scheme://*.host[:port]", where
// *wildcard is set and out->host is the part after "*.".
bool ParseOriginOrPattern(std::string_view text, bool allow_wildcard, OriginParts* out,
                          bool* wildcard) {
  *wildcard = false;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return false;
  std::string_view scheme = text.substr(0, sep);
  if (!IsScheme(scheme)) return false;
  std::string_view authority = text.substr(sep + 3);
  if (allow_wildcard && authority.starts_with("*.")) {
    *wildcard = true;
    authority.remove_prefix(2);
  }
  std::string_view host;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    if (*wildcard) return false;
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(0, close + 1);
    port_text = authority.substr(close + 1);
    if (!IsIpLiteral(host)) return false;
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon);
    if (!IsRegName(host)) return false;
  }
  uint16_t port = DefaultPort(scheme);
  if (!port_text.empty() && !ParsePort(port_text, &port)) return false;
  out->scheme = scheme;
  out->host = host;
  out->port = port;
  return true;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out.append(", ");
    out.append(item);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = http::ToLowerAscii(c);
  return out;
}

bool Contains(const std::vector<std::string>& items, std::string_view item) {
  for (const std::string& s : items) {
    if (s == item) return true;
  }
  return false;
}

}  // namespace

bool ParseOrigin(std::string_view text, OriginParts* out) {
  bool wildcard;
  return ParseOriginOrPattern(text, false, out, &wildcard);
}

bool IsValidOriginPattern(std::string_view pattern) {
  if (pattern == "*") return true;
  OriginParts parts;
  bool wildcard;
  return ParseOriginOrPattern(pattern, true, &parts, &wildcard);
}

CorsFilter::CorsFilter(CorsSpec spec) : spec_(std::move(spec)) {
  for (const std::string& pattern : spec_.allow_origins) {
    if (pattern == "*") {
      any_origin_ = true;
      continue;
    }
    OriginParts parts;
    bool wildcard;
    ICAHT_CHECK(ParseOriginOrPattern(pattern, true, &parts, &wildcard));
    OriginRule rule;
    rule.subdomains = wildcard;
    rule.scheme = Lower(parts.scheme);
    rule.host = Lower(parts.host);
    if (wildcard) rule.host.insert(rule.host.begin(), '.');
    rule.port = parts.port;
    rules_.push_back(std::move(rule));
  }
  any_method_ = Contains(spec_.allow_methods, "*");
  any_header_ = Contains(spec_.allow_headers, "*");
  answer_star_ = any_origin_ && !spec_.allow_credentials;
  methods_value_ = Join(spec_.allow_methods);
  headers_value_ = Join(spec_.allow_headers);
  expose_value_ = Join(spec_.expose_headers);
  max_age_value_ = std::to_string(spec_.max_age_s);
}

bool CorsFilter::OriginAllowed(std::string_view origin) const {
  OriginParts parts;
  // "null" and malformed values: only the anonymous "*" answer may cover them.
  if (!ParseOrigin(origin, &parts)) return answer_star_;
  if (any_origin_) return true;
  for (const OriginRule& rule : rules_) {
    if (rule.port != parts.port || !http::EqualsIgnoreCase(rule.scheme, parts.scheme)) continue;
    if (!rule.subdomains) {
      if (http::EqualsIgnoreCase(rule.host, parts.host)) return true;
      continue;
    }
    // ".example.com" after at least one label (ParseOrigin refused empty ones).
    std::string_view host = parts.host;
    if (host.size() > rule.host.size() &&
        http::EqualsIgnoreCase(host.substr(host.size() - rule.host.size()), rule.host)) {
      return true;
    }
  }
  return false;
}

bool CorsFilter::MethodAllowed(std::string_view method) const {
  if (!http::IsToken(method)) return false;
  return any_method_ || Contains(spec_.allow_methods, method);
}

bool CorsFilter::HeaderAllowed(std::string_view header) const {
  if (any_header_) return true;
  for (const std::string& allowed : spec_.allow_headers) {
    if (http::EqualsIgnoreCase(allowed, header)) return true;
  }
  return false;
}

CorsFilter::Preflight CorsFilter::Classify(const RequestContext& ctx, std::string_view* origin,
                                           std::string_view* method) const {
  if (!ctx.has_request() || ctx.request().method_id != http::Method::kOptions) {
    return Preflight::kNo;
  }
  const std::vector<http::Header>& headers = ctx.request().headers;
  const http::Header* origin_field = nullptr;
  const http::Header* method_field = nullptr;
  int method_fields = 0;
  for (const http::Header& h : headers) {
    if (origin_field == nullptr && http::NameEquals(h.name, "origin")) {
      origin_field = &h;
    } else if (http::NameEquals(h.name, "access-control-request-method")) {
      if (method_field == nullptr) method_field = &h;
      ++method_fields;
    }
  }
  if (origin_field == nullptr || method_field == nullptr) return Preflight::kNo;
  *origin = origin_field->value;
  *method = method_field->value;
  if (!OriginAllowed(*origin)) return Preflight::kBadOrigin;
  // One method, not a list (Fetch sends exactly one field).
  if (method_fields != 1 || !MethodAllowed(*method)) return Preflight::kBadMethod;
  // Access-Control-Request-Headers: #field-name, possibly over several fields;
  // empty elements are skipped (RFC 9110 5.6.1).
  for (const http::Header& h : headers) {
    if (!http::NameEquals(h.name, "access-control-request-headers")) continue;
    std::string_view rest = h.value;
    for (;;) {
      size_t comma = rest.find(',');
      std::string_view name = http::TrimOws(rest.substr(0, comma));
      if (!name.empty() && (!http::IsToken(name) || !HeaderAllowed(name))) {
        return Preflight::kBadHeaders;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return Preflight::kAllowed;
}

Verdict CorsFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks&) {
  std::string_view origin;
  std::string_view method;
  Preflight preflight = Classify(ctx, &origin, &method);
  LocalResponse& r = ctx.local_response;
  switch (preflight) {
    case Preflight::kNo:
      return Verdict::kContinue;
    case Preflight::kAllowed:
      // The fields are added in the response phase: the exchange clears the
      // response edits before it runs it for a local answer.
      r.status = 204;
      r.body.clear();
      return Verdict::kRespond;
    case Preflight::kBadOrigin:
      r.body = "CORS preflight refused: origin not allowed\n";
      break;
    case Preflight::kBadMethod:
      r.body = "CORS preflight refused: method not allowed\n";
      break;
    case Preflight::kBadHeaders:
      r.body = "CORS preflight refused: header not allowed\n";
      break;
  }
  r.status = 403;
  r.content_type = "text/plain; charset=utf-8";
  return Verdict::kRespond;
}

void CorsFilter::OnResponseHead(RequestContext& ctx) {
  std::string_view origin;
  std::string_view method;
  switch (Classify(ctx, &origin, &method)) {
    case Preflight::kNo:
      return AddActualFields(ctx);
    case Preflight::kAllowed:
      // This filter's 204 (a preflight is answered by nobody else; an error
      // answer to one gets nothing).
      if (ctx.upstream_response == nullptr && ctx.response_status == 204) {
        AddPreflightFields(ctx, origin, method);
      }
      return;
    case Preflight::kBadOrigin:
    case Preflight::kBadMethod:
    case Preflight::kBadHeaders:
      return;  // the 403 carries no CORS field
  }
}

void CorsFilter::AddPreflightFields(RequestContext& ctx, std::string_view origin,
                                    std::string_view method) const {
  HeaderEdits& edits = ctx.response_edits;
  edits.Add("Access-Control-Allow-Origin", answer_star_ ? std::string_view("*") : origin);
  edits.Add("Access-Control-Allow-Methods", any_method_ ? method : methods_value_);
  if (any_header_) {
    // Echoed field by field: several fields are one list (RFC 9110 5.3).
    for (const http::Header& h : ctx.request().headers) {
      if (http::NameEquals(h.name, "access-control-request-headers") && !h.value.empty()) {
        edits.Add("Access-Control-Allow-Headers", h.value);
      }
    }
  } else if (!headers_value_.empty()) {
    edits.Add("Access-Control-Allow-Headers", headers_value_);
  }
  if (spec_.allow_credentials) edits.Add("Access-Control-Allow-Credentials", "true");
  edits.Add("Access-Control-Max-Age", max_age_value_);
  edits.Add("Vary", kPreflightVary);
}

void CorsFilter::AddActualFields(RequestContext& ctx) const {
  if (!ctx.has_request()) return;  // a malformed head: nothing to vary on
  HeaderEdits& edits = ctx.response_edits;
  if (ctx.upstream_response != nullptr) {
    for (const http::Header& h : ctx.upstream_response->headers) {
      if (h.name.size() <= kResponseFieldPrefix.size() ||
          !http::EqualsIgnoreCase(h.name.substr(0, kResponseFieldPrefix.size()),
                                  kResponseFieldPrefix)) {
        continue;
      }
      // Removed by this filter's literal names: the views outlive the head.
      for (std::string_view field : kResponseFields) {
        if (http::EqualsIgnoreCase(h.name, field) && !edits.Removes(field)) edits.Remove(field);
      }
    }
  }
  edits.Add("Vary", "Origin");
  const http::Header* origin = ctx.FindRequestHeader("origin");
  if (origin == nullptr || !OriginAllowed(origin->value)) return;
  edits.Add("Access-Control-Allow-Origin", answer_star_ ? std::string_view("*") : origin->value);
  if (spec_.allow_credentials) edits.Add("Access-Control-Allow-Credentials", "true");
  if (!expose_value_.empty()) edits.Add("Access-Control-Expose-Headers", expose_value_);
}

}  // namespace icaht::filters
