#pragma once
// JWS signature checks (RFC 7518 section 3) with OpenSSL 3's EVP interfaces.
// Any thread; a key may be used by several threads at once.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filters/jwt/algorithm.h"
#include "filters/jwt/jwk_set.h"

namespace icaht::filters::jwt {

// True when `signature` (decoded) is a valid `alg` signature of
// `signing_input` (the token's "<header>.<payload>" text) under `key`. The
// caller has checked KeyFits(key, alg); an HMAC algorithm only ever uses the
// key's oct secret, never an asymmetric key's bytes. HMAC tags are compared
// in constant time. ES* signatures must be exactly 2 * CoordinateSize bytes.
bool VerifySignature(Algorithm alg, const Jwk& key, std::string_view signing_input,
                     std::string_view signature);

// Converts a JWS ECDSA signature, r || s with each `half` bytes (big-endian),
// to the DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) OpenSSL verifies.
// Writes at most kMaxEcdsaDerSize bytes to `der` and returns how many.
inline constexpr size_t kMaxEcdsaDerSize = 3 + 2 * (2 + 1 + 66);
size_t EcdsaRawToDer(const uint8_t* raw, size_t half, uint8_t* der);

}  // namespace icaht::filters::jwt
