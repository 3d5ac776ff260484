// Signature primitives and the small tables around them; whole-token
// signature checks are in verify_test.cc.
#include "filters/jwt/signature.h"

#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "filters/jwt/algorithm.h"
#include "filters/jwt/key_import.h"
#include "filters/jwt/refusal.h"
#include "gtest/gtest.h"
#include "openssl/bn.h"
#include "openssl/ec.h"
#include "vectors.h"

namespace icaht::filters::jwt {
namespace signature_test {

// OpenSSL's own DER encoding of (r, s), for comparison.
std::vector<uint8_t> OpensslDer(const std::vector<uint8_t>& raw, size_t half) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, static_cast<int>(half), nullptr);
  EXPECT_EQ(ECDSA_SIG_set0(sig, r, s), 1);
  unsigned char* der = nullptr;
  int size = i2d_ECDSA_SIG(sig, &der);
  EXPECT_GT(size, 0);
  std::vector<uint8_t> out(der, der + size);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

std::vector<uint8_t> MyDer(const std::vector<uint8_t>& raw, size_t half) {
  std::vector<uint8_t> der(kMaxEcdsaDerSize);
  der.resize(EcdsaRawToDer(raw.data(), half, der.data()));
  return der;
}

TEST(EcdsaRawToDerTest, MatchesOpenssl) {
  std::mt19937 random(11);
  for (size_t half : {32u, 48u, 66u}) {
    // Top bit set (needs a 0x00 prefix), leading zero bytes (stripped),
    // zero, all ones, random.
    std::vector<std::vector<uint8_t>> cases;
    cases.push_back(std::vector<uint8_t>(2 * half, 0xff));
    std::vector<uint8_t> zeros(2 * half, 0);
    zeros[half - 1] = 1;  // r = 1, s = 0
    cases.push_back(zeros);
    std::vector<uint8_t> leading(2 * half, 0x7f);
    leading[0] = leading[1] = leading[half] = 0;
    cases.push_back(leading);
    for (int i = 0; i < 200; ++i) {
      std::vector<uint8_t> raw(2 * half);
      for (uint8_t& b : raw) b = static_cast<uint8_t>(random());
      if (i % 3 == 0) raw[0] = 0;
      cases.push_back(raw);
    }
    for (const std::vector<uint8_t>& raw : cases) {
      EXPECT_EQ(MyDer(raw, half), OpensslDer(raw, half)) << "half " << half;
    }
  }
}

TEST(EcdsaRawToDerTest, UsesTheLongLengthFormForP521) {
  std::vector<uint8_t> raw(132, 0xff);
  std::vector<uint8_t> der = MyDer(raw, 66);
  ASSERT_EQ(der.size(), 3u + 2 * (2 + 67));
  EXPECT_EQ(der[0], 0x30);
  EXPECT_EQ(der[1], 0x81);
  EXPECT_EQ(der[2], 2 * (2 + 67));
}

TEST(VerifySignatureTest, RefusesEcdsaSignaturesOfTheWrongLength) {
  std::shared_ptr<const JwkSet> keys = testing::MainKeys();
  const Jwk* ec256 = keys->Candidates("ec-256", Algorithm::kEs256)[0];
  EXPECT_FALSE(VerifySignature(Algorithm::kEs256, *ec256, "a.b", std::string(63, '\1')));
  EXPECT_FALSE(VerifySignature(Algorithm::kEs256, *ec256, "a.b", std::string(65, '\1')));
  EXPECT_FALSE(VerifySignature(Algorithm::kEs256, *ec256, "a.b", ""));
}

TEST(VerifySignatureTest, RefusesHmacTagsOfTheWrongLength) {
  std::shared_ptr<const JwkSet> keys = testing::MainKeys();
  const Jwk* hs = keys->Candidates("hs-256", Algorithm::kHs256)[0];
  EXPECT_FALSE(VerifySignature(Algorithm::kHs256, *hs, "a.b", ""));
  EXPECT_FALSE(VerifySignature(Algorithm::kHs256, *hs, "a.b", std::string(31, '\0')));
  EXPECT_FALSE(VerifySignature(Algorithm::kHs256, *hs, "a.b", std::string(64, '\0')));
}

TEST(VerifySignatureDeathTest, NeverRunsHmacOnAnAsymmetricKey) {
  std::shared_ptr<const JwkSet> keys = testing::MainKeys();
  const Jwk* rsa = keys->Candidates("rsa-1", Algorithm::kRs256)[0];
  EXPECT_DEATH(VerifySignature(Algorithm::kHs256, *rsa, "a.b", std::string(32, '\0')),
               "CHECK failed");
}

TEST(AlgorithmTest, NamesRoundTripCaseSensitively) {
  std::set<std::string_view> names;
  for (int i = 0; i < kAlgorithmCount; ++i) {
    auto alg = static_cast<Algorithm>(i);
    names.insert(AlgorithmName(alg));
    EXPECT_EQ(AlgorithmFromName(AlgorithmName(alg)), alg);
    EXPECT_TRUE(AlgorithmSet::All().Contains(alg));
  }
  EXPECT_EQ(names.size(), 13u);
  EXPECT_EQ(AlgorithmFromName("rs256"), std::nullopt);
  EXPECT_EQ(AlgorithmFromName("none"), std::nullopt);
  EXPECT_EQ(AlgorithmFromName("ES256K"), std::nullopt);
  EXPECT_EQ(AlgorithmFromName("Ed25519"), std::nullopt);
  EXPECT_EQ(RequiredCurve(Algorithm::kEs512), Curve::kP521);
  EXPECT_EQ(CoordinateSize(Curve::kP521), 66u);
}

TEST(AlgorithmTest, SetsAddAndRemove) {
  AlgorithmSet set;
  EXPECT_TRUE(set.empty());
  set.Add(Algorithm::kRs256).Add(Algorithm::kHs512);
  EXPECT_TRUE(set.Contains(Algorithm::kRs256));
  EXPECT_TRUE(set.Contains(Algorithm::kHs512));
  EXPECT_FALSE(set.Contains(Algorithm::kHs256));
  set.Remove(Algorithm::kRs256);
  EXPECT_FALSE(set.Contains(Algorithm::kRs256));
  EXPECT_FALSE(AlgorithmSet::All() == set);
}

TEST(RefusalTest, LabelsAreDistinctAndDescriptionsSafeForAHeader) {
  std::set<std::string_view> labels;
  for (int i = 0; i <= static_cast<int>(Refusal::kBadAudience); ++i) {
    auto refusal = static_cast<Refusal>(i);
    std::string_view label = RefusalLabel(refusal);
    labels.insert(label);
    for (char c : label) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << label;
    std::string_view description = RefusalDescription(refusal);
    EXPECT_EQ(description.empty(), refusal == Refusal::kNone);
    for (char c : description) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f && c != '"' && c != '\\') << description;
    }
  }
  EXPECT_EQ(labels.size(), 13u);
  EXPECT_EQ(RefusalLabel(Refusal::kKeyAlgMismatch), "key_alg_mismatch");
  EXPECT_EQ(RefusalLabel(Refusal::kNotYetValid), "not_yet_valid");
}

}  // namespace signature_test
}  // namespace icaht::filters::jwt
