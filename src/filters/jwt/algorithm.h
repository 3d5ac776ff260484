#pragma once
// The JWS algorithms we verify (RFC 7518 section 3, RFC 8037 for EdDSA) and
// the key each one needs. "none" is not among them: it is refused before any
// lookup (see verify.h).

#include <cstdint>
#include <optional>
#include <string_view>

namespace icaht::filters::jwt {

enum class Algorithm : uint8_t {
  // RSASSA-PKCS1-v1_5
  kRs256,
  kRs384,
  kRs512,
  // RSASSA-PSS, MGF1 with the same hash, salt as long as the hash
  kPs256,
  kPs384,
  kPs512,
  // ECDSA on P-256 / P-384 / P-521; the JWS signature is r || s
  kEs256,
  kEs384,
  kEs512,
  // Ed25519 (RFC 8037)
  kEdDsa,
  // HMAC
  kHs256,
  kHs384,
  kHs512,
};
inline constexpr int kAlgorithmCount = 13;

// JWK "kty".
enum class KeyType : uint8_t { kRsa, kEc, kOkp, kOct };

// JWK "crv" (kNone for RSA and oct keys).
enum class Curve : uint8_t { kNone, kP256, kP384, kP521, kEd25519 };

// The registered name ("RS256"), exact and case-sensitive both ways.
std::string_view AlgorithmName(Algorithm alg);
std::optional<Algorithm> AlgorithmFromName(std::string_view name);

// The key an algorithm verifies with: its type, and its curve for ES* and
// EdDSA (kNone otherwise).
KeyType RequiredKeyType(Algorithm alg);
Curve RequiredCurve(Algorithm alg);

// "SHA256", "SHA384", "SHA512" (OpenSSL names), or "" for EdDSA, which
// hashes internally.
std::string_view DigestName(Algorithm alg);

// A set of algorithms, as a bit mask.
class AlgorithmSet {
 public:
  constexpr AlgorithmSet() = default;
  static constexpr AlgorithmSet All() {
    AlgorithmSet set;
    set.bits_ = (1u << kAlgorithmCount) - 1;
    return set;
  }
  constexpr AlgorithmSet& Add(Algorithm alg) {
    bits_ |= Bit(alg);
    return *this;
  }
  constexpr AlgorithmSet& Remove(Algorithm alg) {
    bits_ &= ~Bit(alg);
    return *this;
  }
  constexpr bool Contains(Algorithm alg) const { return (bits_ & Bit(alg)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  friend constexpr bool operator==(AlgorithmSet a, AlgorithmSet b) { return a.bits_ == b.bits_; }

 private:
  static constexpr uint16_t Bit(Algorithm alg) {
    return static_cast<uint16_t>(1u << static_cast<int>(alg));
  }
  uint16_t bits_ = 0;
};

}  // namespace icaht::filters::jwt
