#include "filters/jwt/jwt_verifier.h"

#include <string>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vectors.h"

namespace icaht::filters::jwt {
namespace jwt_verifier_test {

using testing::LoadVectors;
using testing::VectorToken;

class JwtVerifierTest : public ::testing::Test {
 protected:
  int64_t now() const { return LoadVectors().now; }
  JwtVerifier verifier_{LoadVectors().policy, testing::MainKeys(), 100};
};

TEST_F(JwtVerifierTest, VerifiesThenServesFromTheCache) {
  JwtVerifier::Result first = verifier_.Check(VectorToken("ok_RS256"), now());
  ASSERT_TRUE(first.ok()) << first.description;
  EXPECT_FALSE(first.cached);
  ASSERT_NE(first.claims, nullptr);
  EXPECT_EQ(first.claims->subject, "user-1");
  JwtVerifier::Result second = verifier_.Check(VectorToken("ok_RS256"), now() + 10);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.cached);
  EXPECT_EQ(second.claims, first.claims);
  EXPECT_EQ(verifier_.cache().stats().hits, 1u);
}

TEST_F(JwtVerifierTest, ACachedCheckDoesNotAllocate) {
  const std::string& token = VectorToken("ok_ES256");
  ASSERT_TRUE(verifier_.Check(token, now()).ok());
  uint64_t before = testing::AllocationCount();
  JwtVerifier::Result result = verifier_.Check(token, now() + 1);
  EXPECT_EQ(testing::AllocationCount() - before, 0u);
  EXPECT_TRUE(result.cached);
}

TEST_F(JwtVerifierTest, RefusalsAreNotCached) {
  for (int i = 0; i < 2; ++i) {
    JwtVerifier::Result result = verifier_.Check(VectorToken("bad_signature_HS256"), now());
    EXPECT_EQ(result.refusal, Refusal::kBadSignature);
    EXPECT_EQ(result.description, "the signature is invalid");
    EXPECT_EQ(result.claims, nullptr);
    EXPECT_FALSE(result.cached);
  }
  EXPECT_EQ(verifier_.cache().size(), 0u);
}

TEST_F(JwtVerifierTest, ACachedTokenStillExpires) {
  const std::string& token = VectorToken("ok_HS256");
  ASSERT_TRUE(verifier_.Check(token, now()).ok());
  int64_t expiry = now() + 3600 + LoadVectors().policy.leeway_s;
  EXPECT_TRUE(verifier_.Check(token, expiry - 1).cached);
  JwtVerifier::Result late = verifier_.Check(token, expiry);
  EXPECT_EQ(late.refusal, Refusal::kExpired);
  EXPECT_FALSE(late.cached);
}

TEST_F(JwtVerifierTest, KeyRotationInvalidatesTheCache) {
  const std::string& old_token = VectorToken("ok_RS256");
  const std::string& new_token = VectorToken("rotation_new_token_old_set");
  ASSERT_TRUE(verifier_.Check(old_token, now()).ok());
  EXPECT_EQ(verifier_.Check(new_token, now()).refusal, Refusal::kBadSignature);

  verifier_.SetKeys(testing::RotatedKeys());
  EXPECT_EQ(verifier_.Check(old_token, now()).refusal, Refusal::kBadSignature);
  JwtVerifier::Result rotated = verifier_.Check(new_token, now());
  ASSERT_TRUE(rotated.ok()) << rotated.description;
  EXPECT_EQ(rotated.claims->subject, "after-rotation");
  // Other tokens cached under the old set are verified again too.
  JwtVerifier::Result hs = verifier_.Check(VectorToken("ok_HS256"), now());
  EXPECT_TRUE(hs.ok());
  EXPECT_FALSE(hs.cached);
}

TEST_F(JwtVerifierTest, OversizeTokensAreRefusedFirst) {
  JwtVerifier::Result result = verifier_.Check(VectorToken("oversize"), now());
  EXPECT_EQ(result.refusal, Refusal::kTooLarge);
  EXPECT_EQ(verifier_.cache().stats().misses, 0u);  // not even looked up
}

TEST(JwtVerifierNoKeysTest, RefusesEverythingUntilKeysArrive) {
  JwtVerifier verifier(LoadVectors().policy, nullptr);
  const std::string& token = VectorToken("ok_EdDSA");
  EXPECT_EQ(verifier.Check(token, LoadVectors().now).refusal, Refusal::kNoKey);
  verifier.SetKeys(testing::MainKeys());
  EXPECT_TRUE(verifier.Check(token, LoadVectors().now).ok());
}

TEST(JwtVerifierNoCacheTest, WorksWithoutACache) {
  JwtVerifier verifier(LoadVectors().policy, testing::MainKeys(), 0);
  for (int i = 0; i < 2; ++i) {
    JwtVerifier::Result result = verifier.Check(VectorToken("ok_PS384"), LoadVectors().now);
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result.cached);
    EXPECT_EQ(result.claims->subject, "user-1");
  }
}

}  // namespace jwt_verifier_test
}  // namespace icaht::filters::jwt
