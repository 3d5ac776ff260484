#pragma once
// The claims of a verified token (RFC 7519 section 4), and the payload checks
// that produce them.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/jwt/policy.h"
#include "filters/jwt/refusal.h"

namespace simdjson::dom {
class parser;
}  // namespace simdjson::dom

namespace icaht::filters::jwt {

struct VerifiedClaims {
  std::string subject;     // "sub"; "" when absent
  int64_t expires_at = 0;  // "exp" in Unix seconds (fractions dropped); 0 when absent
  int64_t not_before = 0;  // "nbf", likewise
  // From a space-separated "scope" string (RFC 8693 section 4.2) and/or a
  // "scp" claim (an array of strings, or a space-separated string).
  std::vector<std::string> scopes;
  // Every top-level claim as text, in token order: strings as they are,
  // numbers, booleans and null as their JSON text, arrays of strings joined
  // with ' ', other arrays and objects as minified JSON. The shape of
  // RequestContext::claims.
  std::vector<std::pair<std::string, std::string>> claims;

  // The text of claim `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  bool HasScope(std::string_view scope) const;
};

// Reads the payload of a token whose signature has been verified and checks
// it against `policy` at `now_s`. `json` must have simdjson::SIMDJSON_PADDING
// readable bytes after its end; `parser` is any simdjson DOM parser. Fills `*claims` (cleared
// first) and returns kNone, or returns the refusal with a fixed description in `*description`:
//   malformed      not a JSON object; a registered claim twice; exp, nbf or
//                  iat not a number; iss or sub not a string; aud not a
//                  string or an array of strings; scope not a string; scp
//                  not a string or an array of strings
//   expired        exp <= now - leeway
//   not_yet_valid  nbf > now + leeway
//   bad_issuer, bad_audience  per JwtPolicy
Refusal ReadClaims(std::string_view json, const JwtPolicy& policy, int64_t now_s,
                   simdjson::dom::parser& parser, VerifiedClaims* claims,
                   std::string_view* description);

}  // namespace icaht::filters::jwt
