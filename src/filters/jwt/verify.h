#pragma once
// Verifies a compact JWS / JWT (RFC 7515, RFC 7519) against a key set and a
// policy. Stateless and uncached (JwtVerifier adds the cache); any thread.
//
// Checks, in order (the first failure is the refusal):
//   too_large        the token is longer than policy.max_token_bytes (before
//                    anything else is looked at)
//   malformed        not three unpadded base64url parts; the header is not a
//                    JSON object with an "alg" string; "kid" not a string;
//                    "crit" not a non-empty array of strings; "alg", "kid"
//                    or "crit" twice
//   alg_none         "alg": "none", in any case
//   alg_not_allowed  an algorithm we do not support or policy.algorithms
//                    does not hold
//   unknown_crit     any "crit": we implement no JWS extension
//   no_key           no key for the kid (JwkSet::Candidates)
//   key_alg_mismatch the key(s) for the kid have another type, curve or "alg"
//                    (an HS* token is only ever checked against oct keys)
//   bad_signature    no candidate key verifies the signature
//   malformed, expired, not_yet_valid, bad_issuer, bad_audience: the payload,
//                    read only once the signature holds (see ReadClaims)
// Header parameters that name keys (jku, jwk, x5u, x5c) are ignored: keys
// come only from the configured set.

#include <cstdint>
#include <string_view>

#include "filters/jwt/claims.h"
#include "filters/jwt/jwk_set.h"
#include "filters/jwt/policy.h"
#include "filters/jwt/refusal.h"

namespace icaht::filters::jwt {

struct VerifyResult {
  bool ok() const { return refusal == Refusal::kNone; }

  Refusal refusal = Refusal::kNone;
  // Why, as fixed text safe for a WWW-Authenticate error_description (see
  // refusal.h); more specific than RefusalDescription for malformed tokens.
  // Empty when verified.
  std::string_view description;
  VerifiedClaims claims;  // when ok()
};

VerifyResult Verify(std::string_view token, const JwkSet& keys, const JwtPolicy& policy,
                    int64_t now_s);

}  // namespace icaht::filters::jwt
