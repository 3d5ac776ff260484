#pragma once
// OpenSSL public keys from JWK members, through EVP_PKEY_fromdata (no
// deprecated RSA_* / EC_KEY_* calls). Inputs are the decoded base64url
// members: big-endian unsigned integers and raw coordinates.
//
// Errors are InvalidArgument with a message for the key's field, e.g. "not a
// point on P-256". Any thread.

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "filters/jwt/algorithm.h"
#include "filters/jwt/jwk_set.h"

namespace icaht::filters::jwt {

// RSA public key (n, e). e must be odd and greater than 1.
absl::StatusOr<EvpPkeyPtr> ImportRsaPublicKey(std::string_view n, std::string_view e);

// The byte size of a coordinate (and of r and s in a JWS signature) on
// `curve`: 32, 48 or 66; 32 for Ed25519.
size_t CoordinateSize(Curve curve);

// EC public key on P-256/P-384/P-521. x and y may be shorter than
// CoordinateSize (some producers drop leading zero bytes, e.g. PyJWT before
// 2.8) but not longer. The point is checked to be on the curve.
absl::StatusOr<EvpPkeyPtr> ImportEcPublicKey(Curve curve, std::string_view x, std::string_view y);

// Ed25519 public key (32 bytes).
absl::StatusOr<EvpPkeyPtr> ImportEd25519PublicKey(std::string_view x);

// A string's bytes as OpenSSL takes them.
inline const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace icaht::filters::jwt
