#pragma once
// Why a token was refused. Each reason has a stable short label (a metric
// label value, e.g. icaht_jwt_refused_total{reason="expired"}) and a default
// human description. Descriptions are fixed text, never token content, so
// they can go into `WWW-Authenticate: Bearer error="invalid_token",
// error_description="..."` as they are: none contains a quote, a backslash
// or a control character (a test checks).

#include <cstdint>
#include <string_view>

namespace icaht::filters::jwt {

enum class Refusal : uint8_t {
  kNone,            // not refused: verified
  kMalformed,       // not a compact JWS with JSON object header and payload, or a bad claim type
  kTooLarge,        // longer than JwtPolicy::max_token_bytes
  kAlgNone,         // "alg": "none" (unsecured JWS)
  kAlgNotAllowed,   // an algorithm we do not support or the policy does not allow
  kUnknownCrit,     // a "crit" header: we understand no extension
  kNoKey,           // no key in the set for the token's kid (or, without kid, for its algorithm)
  kKeyAlgMismatch,  // the key found has another type, curve or "alg" than the token's algorithm
  kBadSignature,
  kExpired,      // exp <= now - leeway
  kNotYetValid,  // nbf > now + leeway
  kBadIssuer,    // iss missing or not the policy's issuer
  kBadAudience,  // aud missing or none of the policy's audiences
};

// "ok" for kNone, else "malformed", "too_large", "alg_none", ...
std::string_view RefusalLabel(Refusal refusal);
// A sentence fragment such as "the token has expired".
std::string_view RefusalDescription(Refusal refusal);

}  // namespace icaht::filters::jwt
