#include "filters/jwt/algorithm.h"

#include <array>

namespace icaht::filters::jwt {
namespace {

struct AlgorithmInfo {
  std::string_view name;
  KeyType key_type;
  Curve curve;
  std::string_view digest;
};

// Indexed by Algorithm.
constexpr std::array<AlgorithmInfo, kAlgorithmCount> kInfo = {{
    {"RS256", KeyType::kRsa, Curve::kNone, "SHA256"},
    {"RS384", KeyType::kRsa, Curve::kNone, "SHA384"},
    {"RS512", KeyType::kRsa, Curve::kNone, "SHA512"},
    {"PS256", KeyType::kRsa, Curve::kNone, "SHA256"},
    {"PS384", KeyType::kRsa, Curve::kNone, "SHA384"},
    {"PS512", KeyType::kRsa, Curve::kNone, "SHA512"},
    {"ES256", KeyType::kEc, Curve::kP256, "SHA256"},
    {"ES384", KeyType::kEc, Curve::kP384, "SHA384"},
    {"ES512", KeyType::kEc, Curve::kP521, "SHA512"},
    {"EdDSA", KeyType::kOkp, Curve::kEd25519, ""},
    {"HS256", KeyType::kOct, Curve::kNone, "SHA256"},
    {"HS384", KeyType::kOct, Curve::kNone, "SHA384"},
    {"HS512", KeyType::kOct, Curve::kNone, "SHA512"},
}};

const AlgorithmInfo& Info(Algorithm alg) { return kInfo[static_cast<size_t>(alg)]; }

}  // namespace

std::string_view AlgorithmName(Algorithm alg) { return Info(alg).name; }

std::optional<Algorithm> AlgorithmFromName(std::string_view name) {
  for (size_t i = 0; i < kInfo.size(); ++i) {
    if (kInfo[i].name == name) return static_cast<Algorithm>(i);
  }
  return std::nullopt;
}

KeyType RequiredKeyType(Algorithm alg) { return Info(alg).key_type; }
Curve RequiredCurve(Algorithm alg) { return Info(alg).curve; }
std::string_view DigestName(Algorithm alg) { return Info(alg).digest; }

}  // namespace icaht::filters::jwt
