#include "filters/jwt/verify.h"

#include <limits>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "filters/jwt/base64url.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "vectors.h"

namespace icaht::filters::jwt {
namespace verify_test {

using testing::LoadVectors;
using testing::VectorCase;
using testing::Vectors;
using testing::VectorToken;

JwtPolicy PolicyFor(const VectorCase& c) {
  JwtPolicy policy = LoadVectors().policy;
  if (c.algorithms) {
    policy.algorithms = AlgorithmSet();
    for (const std::string& name : *c.algorithms) policy.algorithms.Add(*AlgorithmFromName(name));
  }
  return policy;
}

VerifyResult VerifyVector(const std::string& name, int64_t now_s, const JwtPolicy& policy) {
  return Verify(VectorToken(name), *testing::MainKeys(), policy, now_s);
}

VerifyResult VerifyVector(const std::string& name) {
  return VerifyVector(name, LoadVectors().now, LoadVectors().policy);
}

class VectorTest : public ::testing::TestWithParam<VectorCase> {};

TEST_P(VectorTest, GetsTheExpectedVerdict) {
  const VectorCase& c = GetParam();
  const JwkSet& keys = c.jwks == "rotated" ? *testing::RotatedKeys() : *testing::MainKeys();
  VerifyResult result = Verify(c.token, keys, PolicyFor(c), LoadVectors().now);
  EXPECT_EQ(RefusalLabel(result.refusal), c.expect) << result.description;
  for (char ch : result.description) EXPECT_TRUE(ch != '"' && ch != '\\' && ch >= 0x20);
  if (!result.ok()) {
    EXPECT_FALSE(result.description.empty());
    EXPECT_TRUE(result.claims.claims.empty());
    return;
  }
  EXPECT_TRUE(result.description.empty());
  if (c.sub) {
    EXPECT_EQ(result.claims.subject, *c.sub);
  }
  if (c.scopes) {
    EXPECT_EQ(result.claims.scopes, *c.scopes);
  }
  for (const auto& [name, text] : c.claims) {
    const std::string* found = result.claims.Find(name);
    ASSERT_NE(found, nullptr) << name;
    EXPECT_EQ(*found, text) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, VectorTest, ::testing::ValuesIn(LoadVectors().cases),
                         [](const ::testing::TestParamInfo<VectorCase>& info) {
                           return info.param.name;
                         });

TEST(VerifyTest, TheVectorsCoverEveryAlgorithmAndRefusal) {
  std::set<std::string> verified, refusals;
  for (const VectorCase& c : LoadVectors().cases) {
    if (c.expect == "ok" && c.name.rfind("ok_", 0) == 0) verified.insert(c.name.substr(3));
    refusals.insert(c.expect);
  }
  for (int i = 0; i < kAlgorithmCount; ++i) {
    EXPECT_EQ(verified.count(std::string(AlgorithmName(static_cast<Algorithm>(i)))), 1u)
        << AlgorithmName(static_cast<Algorithm>(i));
  }
  for (int i = 0; i <= static_cast<int>(Refusal::kBadAudience); ++i) {
    EXPECT_EQ(refusals.count(std::string(RefusalLabel(static_cast<Refusal>(i)))), 1u)
        << RefusalLabel(static_cast<Refusal>(i));
  }
}

TEST(VerifyTest, VerifiedClaims) {
  VerifyResult result = VerifyVector("ok_claims_and_scopes");
  ASSERT_TRUE(result.ok()) << result.description;
  const Vectors& vectors = LoadVectors();
  EXPECT_EQ(result.claims.subject, "user-1");
  EXPECT_EQ(result.claims.expires_at, vectors.now + 3600);
  EXPECT_EQ(result.claims.not_before, vectors.now - 60);
  EXPECT_TRUE(result.claims.HasScope("write"));
  EXPECT_TRUE(result.claims.HasScope("ops"));
  EXPECT_FALSE(result.claims.HasScope("read write"));
  EXPECT_EQ(*result.claims.Find("iat"), absl::StrCat(vectors.now - 60));
  EXPECT_EQ(result.claims.Find("missing"), nullptr);
  // Every top-level claim, in token order.
  std::vector<std::string> names;
  for (const auto& [name, text] : result.claims.claims) names.push_back(name);
  EXPECT_THAT(names, ::testing::ElementsAre("sub", "iss", "aud", "iat", "nbf", "exp", "scope",
                                            "scp", "roles", "n", "big", "flag", "nothing", "ratio",
                                            "obj", "mixed"));
}

TEST(VerifyTest, UsesTheInjectedClock) {
  const Vectors& vectors = LoadVectors();
  const JwtPolicy& policy = vectors.policy;
  int64_t exp = vectors.now + 3600;
  // Valid while now < exp + leeway.
  EXPECT_TRUE(VerifyVector("ok_RS256", exp + policy.leeway_s - 1, policy).ok());
  EXPECT_EQ(VerifyVector("ok_RS256", exp + policy.leeway_s, policy).refusal, Refusal::kExpired);
  // nbf is now - 60: valid from nbf - leeway.
  int64_t nbf = vectors.now - 60;
  EXPECT_TRUE(VerifyVector("ok_ES256", nbf - policy.leeway_s, policy).ok());
  EXPECT_EQ(VerifyVector("ok_ES256", nbf - policy.leeway_s - 1, policy).refusal,
            Refusal::kNotYetValid);
  // A token without exp never expires; a fractional exp counts whole seconds.
  EXPECT_TRUE(VerifyVector("ok_no_exp", int64_t{1} << 40, policy).ok());
  EXPECT_EQ(VerifyVector("ok_fractional_exp").claims.expires_at, vectors.now);
}

TEST(VerifyTest, APolicyWithoutIssuerOrAudienceChecksNeither) {
  JwtPolicy policy;
  EXPECT_TRUE(VerifyVector("bad_iss", LoadVectors().now, policy).ok());
  EXPECT_TRUE(VerifyVector("missing_aud", LoadVectors().now, policy).ok());
  EXPECT_TRUE(VerifyVector("bad_aud_array", LoadVectors().now, policy).ok());
  // A claim of the wrong type is malformed whether or not it is checked.
  EXPECT_EQ(VerifyVector("aud_number", LoadVectors().now, policy).refusal, Refusal::kMalformed);
}

TEST(VerifyTest, TooLargeComesBeforeAnyDecoding) {
  JwtPolicy policy = LoadVectors().policy;
  const std::string& token = VectorToken("ok_HS256");
  policy.max_token_bytes = token.size();
  EXPECT_TRUE(VerifyVector("ok_HS256", LoadVectors().now, policy).ok());
  policy.max_token_bytes = token.size() - 1;
  EXPECT_EQ(VerifyVector("ok_HS256", LoadVectors().now, policy).refusal, Refusal::kTooLarge);
  EXPECT_EQ(Verify(std::string(9000, '!'), *testing::MainKeys(), LoadVectors().policy, 0).refusal,
            Refusal::kTooLarge);
}

TEST(VerifyTest, MalformedTokensSayWhichPart) {
  auto description = [](const std::string& name) {
    return std::string(VerifyVector(name).description);
  };
  EXPECT_EQ(description("two_parts"), "the token is not three dot-separated parts");
  EXPECT_EQ(description("bad_base64_character"), "the payload is not base64url");
  EXPECT_EQ(description("bad_base64_padding"), "the signature is not base64url");
  EXPECT_EQ(description("header_alg_twice_hand_made"), "the header has alg twice");
  EXPECT_EQ(description("header_without_alg_hand_made"), "the header has no alg");
  EXPECT_EQ(description("crit_empty"), "the header crit is not a non-empty array");
  EXPECT_EQ(description("payload_array"), "the payload is not a JSON object");
  EXPECT_EQ(description("string_exp"), "exp, nbf and iat must be numbers");
  EXPECT_EQ(description("expired"), "the token has expired");
}

// Tokens made here, for what PyJWT will not make.
class CraftedTest : public ::testing::Test {
 protected:
  static constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

  void SetUp() override {
    absl::StatusOr<std::shared_ptr<const JwkSet>> keys = JwkSet::Parse(absl::StrFormat(
        R"({"keys":[{"kty":"RSA","kid":"shared","n":"%s","e":"AQAB"},
                    {"kty":"oct","kid":"shared","k":"%s"}]})",
        testing::KeyMember("rsa-1", "n"), Base64UrlEncode(kSecret)));
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *keys;
  }

  VerifyResult Check(std::string_view header, std::string_view payload) {
    return Verify(testing::SignHs256(header, payload, kSecret), *keys_, JwtPolicy(), 1000);
  }

  std::shared_ptr<const JwkSet> keys_;
};

TEST_F(CraftedTest, AKidSharedByKeysOfTwoTypesFindsTheOneThatFits) {
  EXPECT_TRUE(Check(R"({"alg":"HS256","kid":"shared"})", R"({"sub":"s"})").ok());
}

TEST_F(CraftedTest, HeaderRules) {
  EXPECT_EQ(Check(R"({"alg":"HS256","kid":7})", "{}").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(R"({"alg":"HS256","kid":"shared","kid":"shared"})", "{}").refusal,
            Refusal::kMalformed);
  EXPECT_EQ(Check(R"({"alg":["HS256"]})", "{}").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(R"({"alg":"HS256","crit":[1]})", "{}").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(R"({"alg":"HS256","crit":["b64"],"b64":false})", "{}").refusal,
            Refusal::kUnknownCrit);
  EXPECT_EQ(Check(R"({"alg":"nOnE"})", "{}").refusal, Refusal::kAlgNone);
  EXPECT_EQ(Check(R"({"alg":"hs256"})", "{}").refusal, Refusal::kAlgNotAllowed);
  // Key-bearing header parameters are ignored, not trusted.
  EXPECT_TRUE(
      Check(R"({"alg":"HS256","kid":"shared","jku":"https://evil.example/jwks"})", "{}").ok());
  // No kid: the set's only oct key, though it has a kid.
  EXPECT_TRUE(Check(R"({"alg":"HS256"})", "{}").ok());
}

TEST_F(CraftedTest, ClaimRules) {
  const char* kHeader = R"({"alg":"HS256","kid":"shared"})";
  EXPECT_EQ(Check(kHeader, R"({"exp":2000,"exp":2000})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"nbf":true})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"iat":"0"})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"sub":1})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"iss":null})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"aud":["a",1]})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"scp":{"a":1}})").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, R"({"sub":"s"} x)").refusal, Refusal::kMalformed);
  EXPECT_EQ(Check(kHeader, "").refusal, Refusal::kMalformed);
  // Huge dates saturate instead of overflowing.
  VerifyResult far = Check(kHeader, R"({"exp":1e300,"nbf":-1e300})");
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(far.claims.expires_at, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(Check(kHeader, R"({"exp":18446744073709551615})").ok());
  EXPECT_EQ(Check(kHeader, R"({"exp":-1e19})").refusal, Refusal::kExpired);
  // scp as a space-separated string, extra spaces ignored.
  VerifyResult scopes = Check(kHeader, R"({"scp":" a  b ","scope":"c"})");
  ASSERT_TRUE(scopes.ok());
  EXPECT_THAT(scopes.claims.scopes, ::testing::ElementsAre("a", "b", "c"));
  // Strings are unescaped; objects are minified.
  VerifyResult text = Check(kHeader, R"({"name":"a\"b\u00e9","o":{ "k" : [ 1 , 2 ] },"e":[]})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text.claims.Find("name"), "a\"b\xc3\xa9");
  EXPECT_EQ(*text.claims.Find("o"), R"({"k":[1,2]})");
  EXPECT_EQ(*text.claims.Find("e"), "");
}

}  // namespace verify_test
}  // namespace icaht::filters::jwt
