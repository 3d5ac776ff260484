#include "filters/jwt/signature.h"

#include <array>
#include <cstring>
#include <memory>

#include "core/check.h"
#include "filters/jwt/key_import.h"
#include "openssl/core_names.h"
#include "openssl/crypto.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/rsa.h"

namespace icaht::filters::jwt {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

// Writes the DER INTEGER for the unsigned big-endian `value` at `out`.
size_t DerInteger(const uint8_t* value, size_t size, uint8_t* out) {
  while (size > 0 && value[0] == 0) {
    ++value;
    --size;
  }
  // A set top bit would read as negative: prefix a zero byte. Zero itself
  // is the single content byte 0x00.
  bool pad = size == 0 || (value[0] & 0x80) != 0;
  size_t length = size + (pad ? 1 : 0);
  out[0] = 0x02;
  out[1] = static_cast<uint8_t>(length);  // at most 67: short form
  if (pad) out[2] = 0;
  if (size > 0) std::memcpy(out + 2 + (pad ? 1 : 0), value, size);
  return 2 + length;
}

// Verifies with EVP_DigestVerify: `der` is the signature in the form OpenSSL
// takes (PKCS#1 v1.5 / PSS bytes, DER ECDSA-Sig-Value, raw Ed25519).
bool DigestVerify(Algorithm alg, EVP_PKEY* key, std::string_view signing_input,
                  const unsigned char* sig, size_t sig_size) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  std::string_view digest = DigestName(alg);
  EVP_PKEY_CTX* pkey_ctx = nullptr;  // owned by ctx
  // DigestName is a literal, so data() is NUL-terminated; EdDSA takes none.
  bool ok = EVP_DigestVerifyInit_ex(ctx.get(), &pkey_ctx, digest.empty() ? nullptr : digest.data(),
                                    nullptr, nullptr, key, nullptr) == 1;
  if (ok && (alg == Algorithm::kPs256 || alg == Algorithm::kPs384 || alg == Algorithm::kPs512)) {
    // RFC 7518 section 3.5: MGF1 with the same hash (OpenSSL's default),
    // salt as long as the hash.
    ok = EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok &&
       EVP_DigestVerify(ctx.get(), sig, sig_size, Bytes(signing_input), signing_input.size()) == 1;
  // A failed check leaves reasons in the thread's error queue; they are not
  // ours to report and must not pile up.
  if (!ok) ERR_clear_error();
  return ok;
}

// The HMAC implementation, fetched once (fetching per call costs a lookup
// in the provider store).
EVP_MAC* Hmac() {
  static const std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  ICAHT_CHECK(mac != nullptr);
  return mac.get();
}

bool VerifyHmac(Algorithm alg, const std::string& secret, std::string_view signing_input,
                std::string_view signature) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(Hmac()));
  if (ctx == nullptr) return false;
  std::string_view digest = DigestName(alg);
  std::array<OSSL_PARAM, 2> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest.data()), 0),
      OSSL_PARAM_construct_end()};
  std::array<unsigned char, EVP_MAX_MD_SIZE> tag;
  size_t tag_size = 0;
  bool ok = EVP_MAC_init(ctx.get(), Bytes(secret), secret.size(), params.data()) == 1 &&
            EVP_MAC_update(ctx.get(), Bytes(signing_input), signing_input.size()) == 1 &&
            EVP_MAC_final(ctx.get(), tag.data(), &tag_size, tag.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    return false;
  }
  // The length is public (it depends only on alg); the bytes are compared
  // in constant time.
  return signature.size() == tag_size && CRYPTO_memcmp(tag.data(), signature.data(), tag_size) == 0;
}

}  // namespace

size_t EcdsaRawToDer(const uint8_t* raw, size_t half, uint8_t* der) {
  std::array<uint8_t, 2 * (2 + 1 + 66)> body;
  size_t body_size = DerInteger(raw, half, body.data());
  body_size += DerInteger(raw + half, half, body.data() + body_size);
  size_t at = 0;
  der[at++] = 0x30;
  if (body_size >= 0x80) der[at++] = 0x81;  // long form: one length byte follows
  der[at++] = static_cast<uint8_t>(body_size);
  std::memcpy(der + at, body.data(), body_size);
  return at + body_size;
}

bool VerifySignature(Algorithm alg, const Jwk& key, std::string_view signing_input,
                     std::string_view signature) {
  // KeyFits is the caller's check; here it guards the one rule that must hold
  // whatever the caller does: an HMAC algorithm never runs on an asymmetric
  // key (the RS256 -> HS256 confusion), and a public-key one never on a secret.
  ICAHT_CHECK(KeyFits(key, alg));
  switch (RequiredKeyType(alg)) {
    case KeyType::kOct:
      return VerifyHmac(alg, key.secret, signing_input, signature);
    case KeyType::kEc: {
      size_t half = CoordinateSize(key.curve);
      if (signature.size() != 2 * half) return false;
      std::array<uint8_t, kMaxEcdsaDerSize> der;
      size_t der_size = EcdsaRawToDer(Bytes(signature), half, der.data());
      return DigestVerify(alg, key.public_key.get(), signing_input, der.data(), der_size);
    }
    case KeyType::kRsa:
    case KeyType::kOkp:
      return DigestVerify(alg, key.public_key.get(), signing_input, Bytes(signature),
                          signature.size());
  }
  return false;
}

}  // namespace icaht::filters::jwt
