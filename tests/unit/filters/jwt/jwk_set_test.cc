#include "filters/jwt/jwk_set.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "filters/jwt/base64url.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "vectors.h"

namespace icaht::filters::jwt {
namespace jwk_set_test {

using ::testing::HasSubstr;
using testing::KeyMember;

std::string Set(const std::string& keys) { return absl::StrCat(R"({"keys":[)", keys, "]}"); }

// Members of real keys from the committed set.
std::string Rsa(std::string_view extra = "") {
  return absl::StrFormat(R"({"kty":"RSA","n":"%s","e":"AQAB"%s})", KeyMember("rsa-1", "n"), extra);
}
std::string Ec256(std::string_view extra = "") {
  return absl::StrFormat(R"({"kty":"EC","crv":"P-256","x":"%s","y":"%s"%s})",
                         KeyMember("ec-256", "x"), KeyMember("ec-256", "y"), extra);
}
std::string Ed(std::string_view extra = "") {
  return absl::StrFormat(R"({"kty":"OKP","crv":"Ed25519","x":"%s"%s})", KeyMember("ed-1", "x"),
                         extra);
}
std::string Oct(std::string_view extra = "") {
  return absl::StrFormat(R"({"kty":"oct","k":"c2VjcmV0LXNlY3JldA"%s})", extra);
}

std::string ParseError(const std::string& json) {
  absl::StatusOr<std::shared_ptr<const JwkSet>> set = JwkSet::Parse(json);
  EXPECT_FALSE(set.ok()) << json;
  return set.ok() ? "" : std::string(set.status().message());
}

std::shared_ptr<const JwkSet> ParseOk(const std::string& json) {
  absl::StatusOr<std::shared_ptr<const JwkSet>> set = JwkSet::Parse(json);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

TEST(JwkSetTest, ParsesTheGeneratedSet) {
  std::shared_ptr<const JwkSet> set = testing::MainKeys();
  ASSERT_EQ(set->keys().size(), 10u);
  const Jwk& rsa = set->keys()[0];
  EXPECT_EQ(rsa.kid, "rsa-1");
  EXPECT_EQ(rsa.type, KeyType::kRsa);
  EXPECT_EQ(rsa.alg, std::nullopt);
  EXPECT_EQ(rsa.use, "sig");
  EXPECT_NE(rsa.public_key, nullptr);
  EXPECT_EQ(rsa.index, 0u);
  const Jwk& ec = set->keys()[4];
  EXPECT_EQ(ec.kid, "ec-521");
  EXPECT_EQ(ec.type, KeyType::kEc);
  EXPECT_EQ(ec.curve, Curve::kP521);
  const Jwk& ed = set->keys()[6];
  EXPECT_EQ(ed.type, KeyType::kOkp);
  EXPECT_EQ(ed.curve, Curve::kEd25519);
  EXPECT_EQ(ed.alg, Algorithm::kEdDsa);
  const Jwk& oct = set->keys()[7];
  EXPECT_EQ(oct.type, KeyType::kOct);
  EXPECT_EQ(oct.alg, Algorithm::kHs256);
  EXPECT_EQ(oct.secret.size(), 32u);
  EXPECT_EQ(oct.public_key, nullptr);
}

TEST(JwkSetTest, SkipsUnsupportedKeysWithAWarning) {
  // The generated set ends with an encryption key, a secp256k1 key and an
  // Ed448 key.
  std::shared_ptr<const JwkSet> set = testing::MainKeys();
  ASSERT_EQ(set->warnings().size(), 3u);
  EXPECT_EQ(set->warnings()[0], "keys[10]: use 'enc' is not 'sig'; key skipped");
  EXPECT_EQ(set->warnings()[1],
            "keys[11]: crv 'secp256k1' is not supported for kty EC; key skipped");
  EXPECT_EQ(set->warnings()[2], "keys[12]: crv 'Ed448' is not supported for kty OKP; key skipped");

  set = ParseOk(Set(absl::StrCat(R"({"kty":"foo"},)", Rsa(R"(,"alg":"RSA-OAEP")"), ",", Ed(),
                                 R"(,{"kty":"RSA","n":"AQAB","e":"AQAB"})")));
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->keys()[0].index, 2u);
  EXPECT_THAT(set->warnings(),
              ::testing::ElementsAre(
                  "keys[0]: kty 'foo' is not supported; key skipped",
                  "keys[1]: alg 'RSA-OAEP' is not a supported signature algorithm; key skipped",
                  "keys[3]: an RSA key of 17 bits is outside 2048..16384; key skipped"));
}

TEST(JwkSetTest, RefusesASetWithNoUsableKey) {
  EXPECT_EQ(ParseError(Set("")), "the JWK Set has no usable key");
  EXPECT_EQ(ParseError(Set(R"({"kty":"foo"},{"kty":"EC","crv":"P-192","x":"AA","y":"AA"})")),
            "the JWK Set has no usable key (keys[0]: kty 'foo' is not supported; key skipped; "
            "keys[1]: crv 'P-192' is not supported for kty EC; key skipped)");
}

TEST(JwkSetTest, RefusesBadDocuments) {
  EXPECT_THAT(ParseError("{"), HasSubstr("invalid JSON"));
  EXPECT_EQ(ParseError("[]"), "a JWK Set must be a JSON object");
  EXPECT_EQ(ParseError("{}"), "field 'keys': missing");
  EXPECT_EQ(ParseError(R"({"keys":{}})"), "field 'keys': must be an array");
  EXPECT_EQ(ParseError(Set(absl::StrCat(Rsa(), ",7"))), "field 'keys[1]': must be an object");
}

TEST(JwkSetTest, ErrorsNameTheKeyAndField) {
  EXPECT_EQ(ParseError(Set(absl::StrCat(Ec256(), R"(,{"n":"AQAB","e":"AQAB"})"))),
            "field 'keys[1].kty': missing");
  EXPECT_EQ(ParseError(Set(R"({"kty":1})")), "field 'keys[0].kty': must be a string");
  EXPECT_EQ(ParseError(Set(Rsa(R"(,"kid":7)"))), "field 'keys[0].kid': must be a string");
  EXPECT_EQ(ParseError(Set(Rsa(R"(,"use":null)"))), "field 'keys[0].use': must be a string");
  EXPECT_EQ(ParseError(Set(absl::StrCat(Oct(), R"(,{"kty":"RSA","n":"AQ=B","e":"AQAB"})"))),
            "field 'keys[1].n': bad base64url");
  EXPECT_EQ(ParseError(Set(R"({"kty":"RSA","e":"AQAB"})")), "field 'keys[0].n': missing");
  EXPECT_EQ(
      ParseError(Set(absl::StrFormat(R"({"kty":"RSA","n":"%s","e":""})", KeyMember("rsa-1", "n")))),
      "field 'keys[0].e': empty");
  EXPECT_EQ(ParseError(Set(
                absl::StrFormat(R"({"kty":"RSA","n":"%s","e":"Ag"})", KeyMember("rsa-1", "n")))),
            "field 'keys[0].n': the exponent e must be odd, greater than 1 and below n");
  EXPECT_EQ(ParseError(Set(R"({"kty":"EC","x":"AA","y":"AA"})")), "field 'keys[0].crv': missing");
  EXPECT_EQ(ParseError(Set(R"({"kty":"oct","k":""})")), "field 'keys[0].k': empty");
  EXPECT_EQ(ParseError(Set(R"({"kty":"oct","k":"AA","alg":"RS256"})")),
            "field 'keys[0].alg': RS256 does not fit this oct key");
  EXPECT_EQ(ParseError(Set(Ec256(R"(,"alg":"ES384")"))),
            "field 'keys[0].alg': ES384 does not fit this EC key");
}

TEST(JwkSetTest, ChecksEcPointsAndSizes) {
  // y of another key: not on the curve.
  EXPECT_EQ(
      ParseError(Set(absl::StrFormat(R"({"kty":"EC","crv":"P-256","x":"%s","y":"%s"})",
                                     KeyMember("ec-256", "x"), KeyMember("ec-short-x", "y")))),
      "field 'keys[0].x': not a point on P-256");
  // A P-384 coordinate is too long for P-256.
  EXPECT_EQ(ParseError(Set(absl::StrFormat(R"({"kty":"EC","crv":"P-256","x":"%s","y":"%s"})",
                                           KeyMember("ec-384", "x"), KeyMember("ec-384", "y")))),
            "field 'keys[0].x': a P-256 coordinate has at most 32 bytes");
  // The point at infinity has no affine encoding: zeros are not on the curve.
  std::string zero = Base64UrlEncode(std::string(32, '\0'));
  EXPECT_EQ(ParseError(Set(
                absl::StrFormat(R"({"kty":"EC","crv":"P-256","x":"%s","y":"%s"})", zero, zero))),
            "field 'keys[0].x': not a point on P-256");
  EXPECT_EQ(ParseError(Set(R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"})")),
            "field 'keys[0].x': an Ed25519 public key has 32 bytes");
  // Ed25519 is not an EC curve, and P-256 not an OKP one.
  EXPECT_EQ(ParseOk(Set(absl::StrCat(Oct(), R"(,{"kty":"EC","crv":"Ed25519","x":"AA","y":"AA"})")))
                ->warnings()
                .size(),
            1u);
}

TEST(JwkSetTest, AcceptsShortEcCoordinates) {
  // PyJWT 2.6 writes coordinates without their leading zero bytes.
  std::shared_ptr<const JwkSet> set = testing::MainKeys();
  EXPECT_EQ(KeyMember("ec-short-x", "x").size(), 42u);  // 31 bytes, not 32
  bool found = false;
  for (const Jwk& key : set->keys()) found = found || key.kid == "ec-short-x";
  EXPECT_TRUE(found);
}

TEST(JwkSetTest, KidlessKeysAndKeyFits) {
  std::shared_ptr<const JwkSet> set = ParseOk(Set(absl::StrCat(Rsa(), ",", Ec256(), ",", Ed())));
  ASSERT_NE(set, nullptr);
  EXPECT_FALSE(set->keys()[0].kid.has_value());
  EXPECT_TRUE(KeyFits(set->keys()[0], Algorithm::kRs256));
  EXPECT_TRUE(KeyFits(set->keys()[0], Algorithm::kPs512));
  EXPECT_FALSE(KeyFits(set->keys()[0], Algorithm::kHs256));
  EXPECT_TRUE(KeyFits(set->keys()[1], Algorithm::kEs256));
  EXPECT_FALSE(KeyFits(set->keys()[1], Algorithm::kEs384));
  EXPECT_TRUE(KeyFits(set->keys()[2], Algorithm::kEdDsa));
}

TEST(JwkSetTest, CandidatesByKid) {
  std::shared_ptr<const JwkSet> set = ParseOk(Set(absl::StrCat(
      Rsa(R"(,"kid":"a")"), ",", Oct(R"(,"kid":"a")"), ",", Ec256(R"(,"kid":"b")"), ",", Oct())));
  ASSERT_NE(set, nullptr);
  auto kids = [](absl::InlinedVector<const Jwk*, 2> keys) {
    std::vector<size_t> indexes;
    for (const Jwk* key : keys) indexes.push_back(key->index);
    return indexes;
  };
  using ::testing::ElementsAre;
  // A kid finds its keys whatever the algorithm (the verifier then refuses
  // the ones that do not fit).
  EXPECT_THAT(kids(set->Candidates("a", Algorithm::kHs256)), ElementsAre(0, 1));
  EXPECT_THAT(kids(set->Candidates("b", Algorithm::kHs256)), ElementsAre(2));
  // An unknown kid: the only key of the type, if it has no kid.
  EXPECT_THAT(kids(set->Candidates("zz", Algorithm::kRs256)), ElementsAre());
  EXPECT_THAT(kids(set->Candidates("zz", Algorithm::kEs256)), ElementsAre());
  EXPECT_THAT(kids(set->Candidates("zz", Algorithm::kHs256)), ElementsAre());
  // No kid: the kid-less keys of the type, else the only key of the type.
  EXPECT_THAT(kids(set->Candidates(std::nullopt, Algorithm::kHs256)), ElementsAre(3));
  EXPECT_THAT(kids(set->Candidates(std::nullopt, Algorithm::kRs256)), ElementsAre(0));
  EXPECT_THAT(kids(set->Candidates(std::nullopt, Algorithm::kEs256)), ElementsAre(2));
  EXPECT_THAT(kids(set->Candidates(std::nullopt, Algorithm::kEs384)), ElementsAre());
  EXPECT_THAT(kids(set->Candidates(std::nullopt, Algorithm::kEdDsa)), ElementsAre());

  std::shared_ptr<const JwkSet> kidless =
      ParseOk(Set(absl::StrCat(Ed(), ",", Rsa(R"(,"kid":"r")"))));
  ASSERT_NE(kidless, nullptr);
  EXPECT_THAT(kids(kidless->Candidates("zz", Algorithm::kEdDsa)), ElementsAre(0));
  EXPECT_THAT(kids(kidless->Candidates("zz", Algorithm::kRs256)), ElementsAre());
}

}  // namespace jwk_set_test
}  // namespace icaht::filters::jwt
