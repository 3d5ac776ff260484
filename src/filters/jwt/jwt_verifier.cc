#include "filters/jwt/jwt_verifier.h"

#include <utility>

namespace icaht::filters::jwt {

JwtVerifier::JwtVerifier(JwtPolicy policy, std::shared_ptr<const JwkSet> keys,
                         size_t cache_capacity)
    : policy_(std::move(policy)),
      keys_(std::move(keys)),
      cache_(cache_capacity, policy_.leeway_s) {}

JwtVerifier::Result JwtVerifier::Check(std::string_view token, int64_t now_s) {
  Result result;
  // Checked here too so that an oversized token is not even hashed.
  if (token.size() > policy_.max_token_bytes) {
    result.refusal = Refusal::kTooLarge;
    result.description = RefusalDescription(result.refusal);
    return result;
  }
  if (const VerifiedClaims* claims = cache_.Lookup(token, now_s)) {
    result.claims = claims;
    result.cached = true;
    return result;
  }
  if (keys_ == nullptr) {
    result.refusal = Refusal::kNoKey;
    result.description = RefusalDescription(result.refusal);
    return result;
  }
  VerifyResult verified = Verify(token, *keys_, policy_, now_s);
  if (!verified.ok()) {
    result.refusal = verified.refusal;
    result.description = verified.description;
    return result;
  }
  if (cache_.capacity() == 0) {
    uncached_ = std::move(verified.claims);
    result.claims = &uncached_;
  } else {
    result.claims = cache_.Insert(token, std::move(verified.claims));
  }
  return result;
}

void JwtVerifier::SetKeys(std::shared_ptr<const JwkSet> keys) {
  keys_ = std::move(keys);
  cache_.InvalidateAll();
}

}  // namespace icaht::filters::jwt
