#pragma once
// A shard's token verifier for one policy: the key set (shared, immutable,
// replaced as a whole when it is fetched again) plus that shard's cache.
//
// Shard-owned: build one per shard and call it only on that shard's thread.
// The key set is the one thing shared: SetKeys is how a new set reaches each
// shard (through that shard's message queue), never a write from elsewhere.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "filters/jwt/jwk_set.h"
#include "filters/jwt/policy.h"
#include "filters/jwt/token_cache.h"
#include "filters/jwt/verify.h"

namespace icaht::filters::jwt {

class JwtVerifier {
 public:
  struct Result {
    bool ok() const { return refusal == Refusal::kNone; }

    Refusal refusal = Refusal::kNone;
    std::string_view description;  // as VerifyResult::description
    // The verified claims when ok(), else nullptr. Owned by the verifier:
    // valid until its next Check or SetKeys.
    const VerifiedClaims* claims = nullptr;
    bool cached = false;  // served from the cache
  };

  // `keys` may be null until a set is loaded: every token is then refused
  // (no_key).
  JwtVerifier(JwtPolicy policy, std::shared_ptr<const JwkSet> keys,
              size_t cache_capacity = TokenCache::kDefaultCapacity);

  // Verifies `token` (the bearer credential, without "Bearer ") at
  // `now_s`, Unix seconds from the caller's clock. A cached token costs a
  // lookup and does not allocate; refusals are not cached.
  Result Check(std::string_view token, int64_t now_s);

  // Switches to a new key set and forgets every cached token.
  void SetKeys(std::shared_ptr<const JwkSet> keys);

  const JwtPolicy& policy() const { return policy_; }
  const std::shared_ptr<const JwkSet>& keys() const { return keys_; }
  const TokenCache& cache() const { return cache_; }

 private:
  JwtPolicy policy_;
  std::shared_ptr<const JwkSet> keys_;
  TokenCache cache_;
  // The last verified claims when the cache holds nothing (capacity 0).
  VerifiedClaims uncached_;
};

}  // namespace icaht::filters::jwt
