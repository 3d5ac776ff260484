#pragma once
// Cross-origin resource sharing (`cors` in the service record; WHATWG Fetch,
// "CORS protocol"). The proxy decides the policy; the upstream never sees a
// preflight, and its own Access-Control-* answers are replaced.
//
// Preflight: OPTIONS with Origin and Access-Control-Request-Method. Answered
// here, never forwarded:
//   204 when the origin, the method and every header named in
//       Access-Control-Request-Headers are allowed, with Access-Control-Allow-
//       Origin, -Allow-Methods, -Allow-Headers (when any are allowed),
//       -Allow-Credentials (when set), -Max-Age and
//       "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
//   403 without any Access-Control-* field otherwise (a short text body says
//       which check failed, for whoever debugs it with curl).
// An OPTIONS without those two fields is not a preflight: it goes upstream like
// any request.
//
// Any other request (the "actual" one): forwarded; its answer (the upstream's,
// a later filter's such as a 401, or an error) gets
//   Vary: Origin                      always, also without or with a refused
//                                     Origin: the answer depends on it, and a
//                                     shared cache must not hand one origin's
//                                     answer to another (Fetch 3.2.5)
//   Access-Control-Allow-Origin       for an allowed Origin: "*" when
//                                     allow_origins has "*" and credentials
//                                     are off, else the Origin itself
//   Access-Control-Allow-Credentials  "true", when allow_credentials
//   Access-Control-Expose-Headers     when expose_headers is not empty
// A refused Origin gets no Access-Control-* field: the request still reaches
// the upstream (CORS protects the reader, not the server); the browser keeps
// the answer from the page.
//
// The upstream's Access-Control-Allow-Origin, -Allow-Credentials,
// -Allow-Methods, -Allow-Headers, -Expose-Headers and -Max-Age fields are
// removed from every answer it sends (Traefik does the same): otherwise an
// upstream answering "Access-Control-Allow-Origin: *" would open the service
// to origins this policy refuses.
//
// Matching:
//   origins  "*" (any), an origin "scheme://host[:port]" (scheme and host
//            case-insensitive; no port means the scheme's default, so
//            "https://a.example" and "https://a.example:443" are the same
//            origin, as browsers never send a default port), or a subdomain
//            pattern "scheme://*.host[:port]": one or more labels before
//            ".host", never host itself; scheme and port as for origins (a
//            pattern without a port allows the default port only). "*" does
//            not allow the opaque origin "null" (sandboxed frames, file:,
//            redirects) or a malformed Origin when credentials are allowed;
//            without credentials the answer "*" is the same for everyone.
//   methods  case-sensitive (RFC 9110 9.1; browsers upper-case only the six
//            standard ones, so "patch" is not "PATCH"). "*" allows any method
//            and is answered with the requested method, which also works with
//            credentials.
//   headers  case-insensitive. "*" allows any header and is answered by
//            echoing Access-Control-Request-Headers: a literal "*" would mean
//            nothing to a browser when credentials are allowed (Fetch) and
//            never covers Authorization; the echo does both. There are no
//            implicit allowances for the CORS-safelisted headers: browsers
//            leave a safelisted header out of Access-Control-Request-Headers,
//            and one they list (Content-Type: application/json) needs the
//            allowance per Fetch.
//
// Defaults (the record names only what differs): no origins, methods GET,
// HEAD and POST (the CORS-safelisted methods, which need no preflight),
// no headers, nothing exposed, no credentials, max_age_s 600 (browsers
// otherwise re-ask after 5 s; Chromium caps the value at 7200). max_age_s 0
// sends "Access-Control-Max-Age: 0": do not cache the preflight.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filters/filter.h"

namespace icaht::filters {

struct CorsSpec {
  bool enabled = false;  // the record names `cors`
  std::vector<std::string> allow_origins;
  std::vector<std::string> allow_methods = {"GET", "HEAD", "POST"};
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  uint32_t max_age_s = 600;  // 0..86400

  friend bool operator==(const CorsSpec&, const CorsSpec&) = default;
};

// A serialized origin split into its parts (views into the text).
struct OriginParts {
  std::string_view scheme;
  std::string_view host;  // a reg-name, or an IP literal with its brackets
  uint16_t port = 0;      // explicit, or the scheme's default; 0 when neither
};

// Parses "scheme://host[:port]" as browsers send it in Origin: scheme = ALPHA
// *(ALPHA / DIGIT / "+" / "-" / "."), host = dot-separated non-empty labels of
// [A-Za-z0-9_-] or "[" IPv6 "]", port = 1..65535. No path, userinfo, query or
// trailing slash. "null" is not an origin here.
bool ParseOrigin(std::string_view text, OriginParts* out);

// An allow_origins entry: "*", an origin (ParseOrigin), or "scheme://*.host[:port]".
bool IsValidOriginPattern(std::string_view pattern);

class CorsFilter final : public Filter {
 public:
  // `spec` must be valid as ParseCors checks it (every origin pattern valid:
  // CHECKed). The joined header values are built here, once per config.
  explicit CorsFilter(CorsSpec spec);
  std::string_view name() const override { return "cors"; }
  // Answers preflights; everything else continues untouched.
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  // Adds the fields above. Views into the request head (the echoed Origin,
  // Access-Control-Request-*) live in ctx, the constant values in this filter:
  // both outlive the writing of the head.
  void OnResponseHead(RequestContext& ctx) override;

  // Whether `origin` (an Origin field value) is allowed. Exposed for tests.
  bool OriginAllowed(std::string_view origin) const;

 private:
  enum class Preflight : uint8_t { kNo, kAllowed, kBadOrigin, kBadMethod, kBadHeaders };
  struct OriginRule {
    bool subdomains = false;  // host is ".example.com", matched as a suffix
    std::string scheme;
    std::string host;
    uint16_t port = 0;
  };

  // Decides what a request is. The decision is a pure function of the head
  // and the spec, so the response phase decides again instead of keeping
  // per-exchange state (a preflight is rare and cheap to re-check).
  Preflight Classify(const RequestContext& ctx, std::string_view* origin,
                     std::string_view* method) const;
  bool MethodAllowed(std::string_view method) const;
  bool HeaderAllowed(std::string_view header) const;
  void AddPreflightFields(RequestContext& ctx, std::string_view origin,
                          std::string_view method) const;
  void AddActualFields(RequestContext& ctx) const;

  CorsSpec spec_;
  std::vector<OriginRule> rules_;
  bool any_origin_ = false;
  bool any_method_ = false;
  bool any_header_ = false;
  // "*" as Access-Control-Allow-Origin: any origin and no credentials.
  bool answer_star_ = false;
  std::string methods_value_;  // "GET, HEAD, POST"
  std::string headers_value_;
  std::string expose_value_;
  std::string max_age_value_;
};

}  // namespace icaht::filters
