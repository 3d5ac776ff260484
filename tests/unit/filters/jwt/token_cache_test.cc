#include "filters/jwt/token_cache.h"

#include <list>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace icaht::filters::jwt {
namespace token_cache_test {

constexpr int64_t kLeeway = 30;

VerifiedClaims Claims(std::string sub, int64_t exp = 0, int64_t nbf = 0) {
  VerifiedClaims claims;
  claims.subject = std::move(sub);
  claims.expires_at = exp;
  claims.not_before = nbf;
  claims.claims.emplace_back("sub", claims.subject);
  return claims;
}

std::string Subject(const VerifiedClaims* claims) { return claims ? claims->subject : "(miss)"; }

TEST(TokenCacheTest, HitsOnlyTheExactToken) {
  TokenCache cache(10, kLeeway);
  EXPECT_EQ(cache.Lookup("token-a", 100), nullptr);
  const VerifiedClaims* inserted = cache.Insert("token-a", Claims("a"));
  ASSERT_NE(inserted, nullptr);
  EXPECT_EQ(inserted->subject, "a");
  EXPECT_EQ(cache.Lookup("token-a", 100), inserted);
  EXPECT_EQ(cache.Lookup("token-", 100), nullptr);
  EXPECT_EQ(cache.Lookup("token-ab", 100), nullptr);
  EXPECT_EQ(cache.Lookup("token-b", 100), nullptr);
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().misses, 4u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCacheTest, ServesUntilExpiryPlusLeewayThenDrops) {
  TokenCache cache(10, kLeeway);
  cache.Insert("t", Claims("a", /*exp=*/1000));
  EXPECT_EQ(Subject(cache.Lookup("t", 500)), "a");
  EXPECT_EQ(Subject(cache.Lookup("t", 1000 + kLeeway - 1)), "a");
  EXPECT_EQ(cache.Lookup("t", 1000 + kLeeway), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.stats().dropped, 1u);
  // Dropped, not merely skipped: an earlier time does not bring it back.
  EXPECT_EQ(cache.Lookup("t", 500), nullptr);
}

TEST(TokenCacheTest, RechecksNotBefore) {
  TokenCache cache(10, kLeeway);
  cache.Insert("t", Claims("a", /*exp=*/5000, /*nbf=*/1000));
  EXPECT_EQ(Subject(cache.Lookup("t", 1000 - kLeeway)), "a");
  // A clock that went back past nbf - leeway: refused and dropped.
  EXPECT_EQ(cache.Lookup("t", 1000 - kLeeway - 1), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCacheTest, TokensWithoutExpiryStay) {
  TokenCache cache(10, kLeeway);
  cache.Insert("t", Claims("a"));
  EXPECT_EQ(Subject(cache.Lookup("t", int64_t{1} << 50)), "a");
}

TEST(TokenCacheTest, EvictsTheLeastRecentlyUsed) {
  TokenCache cache(3, kLeeway);
  cache.Insert("a", Claims("a"));
  cache.Insert("b", Claims("b"));
  cache.Insert("c", Claims("c"));
  EXPECT_EQ(Subject(cache.Lookup("a", 0)), "a");  // b is now the oldest
  cache.Insert("d", Claims("d"));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.Lookup("b", 0), nullptr);
  EXPECT_EQ(Subject(cache.Lookup("a", 0)), "a");
  EXPECT_EQ(Subject(cache.Lookup("c", 0)), "c");
  EXPECT_EQ(Subject(cache.Lookup("d", 0)), "d");
  cache.Insert("e", Claims("e"));  // a is the oldest now
  EXPECT_EQ(cache.Lookup("a", 0), nullptr);
}

TEST(TokenCacheTest, InsertingAgainReplaces) {
  TokenCache cache(2, kLeeway);
  cache.Insert("a", Claims("old"));
  cache.Insert("b", Claims("b"));
  cache.Insert("a", Claims("new"));  // and makes a the newest
  EXPECT_EQ(cache.size(), 2u);
  cache.Insert("c", Claims("c"));
  EXPECT_EQ(cache.Lookup("b", 0), nullptr);
  EXPECT_EQ(Subject(cache.Lookup("a", 0)), "new");
}

TEST(TokenCacheTest, InvalidateAllForgetsEverything) {
  TokenCache cache(3, kLeeway);
  cache.Insert("a", Claims("a"));
  cache.Insert("b", Claims("b"));
  uint64_t generation = cache.generation();
  cache.InvalidateAll();
  EXPECT_EQ(cache.generation(), generation + 1);
  EXPECT_EQ(cache.Lookup("a", 0), nullptr);
  EXPECT_EQ(cache.size(), 1u);  // b not looked up yet
  // New entries of the new generation are served; b's slot is reused.
  cache.Insert("c", Claims("c"));
  cache.Insert("d", Claims("d"));
  cache.Insert("e", Claims("e"));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Lookup("b", 0), nullptr);
  EXPECT_EQ(Subject(cache.Lookup("c", 0)), "c");
  EXPECT_EQ(Subject(cache.Lookup("e", 0)), "e");
  cache.Insert("a", Claims("a2"));
  EXPECT_EQ(Subject(cache.Lookup("a", 0)), "a2");
}

TEST(TokenCacheTest, ZeroCapacityCachesNothing) {
  TokenCache cache(0, kLeeway);
  EXPECT_EQ(cache.Insert("a", Claims("a")), nullptr);
  EXPECT_EQ(cache.Lookup("a", 0), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCacheTest, AHitDoesNotAllocate) {
  TokenCache cache(100, kLeeway);
  std::string token(900, 'x');  // a typical token's size, beyond any inline buffer
  for (int i = 0; i < 50; ++i) cache.Insert(token + std::to_string(i), Claims("s", 5000));
  std::string wanted = token + "7";
  ASSERT_NE(cache.Lookup(wanted, 100), nullptr);
  uint64_t before = testing::AllocationCount();
  for (int i = 0; i < 100; ++i) {
    const VerifiedClaims* claims = cache.Lookup(wanted, 100 + i);
    ASSERT_NE(claims, nullptr);
  }
  EXPECT_EQ(testing::AllocationCount() - before, 0u);
  // Nor does a miss.
  before = testing::AllocationCount();
  EXPECT_EQ(cache.Lookup("unknown", 100), nullptr);
  EXPECT_EQ(testing::AllocationCount() - before, 0u);
}

TEST(TokenCacheTest, BehavesAsAnLruModel) {
  // Random operations against a plain list model (newest first).
  constexpr size_t kCapacity = 8;
  TokenCache cache(kCapacity, kLeeway);
  std::list<std::pair<std::string, std::string>> model;
  std::mt19937 random(3);
  for (int step = 0; step < 20000; ++step) {
    std::string token = "t" + std::to_string(random() % 20);
    auto it = model.begin();
    while (it != model.end() && it->first != token) ++it;
    if (random() % 2 == 0) {
      const VerifiedClaims* got = cache.Lookup(token, 0);
      if (it == model.end()) {
        ASSERT_EQ(got, nullptr) << step;
      } else {
        ASSERT_NE(got, nullptr) << step;
        ASSERT_EQ(got->subject, it->second);
        model.splice(model.begin(), model, it);
      }
    } else {
      std::string sub = "s" + std::to_string(step);
      cache.Insert(token, Claims(sub));
      if (it != model.end()) model.erase(it);
      model.emplace_front(token, sub);
      if (model.size() > kCapacity) model.pop_back();
    }
    // Entries of older generations count until dropped or reused.
    if (cache.generation() == 0) {
      ASSERT_EQ(cache.size(), model.size());
    }
    ASSERT_LE(cache.size(), kCapacity);
    if (step % 5000 == 4999) {
      cache.InvalidateAll();
      model.clear();
    }
  }
}

}  // namespace token_cache_test
}  // namespace icaht::filters::jwt
