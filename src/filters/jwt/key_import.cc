#include "filters/jwt/key_import.h"

#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/param_build.h"

namespace icaht::filters::jwt {
namespace {

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

BnPtr ToBignum(std::string_view big_endian) {
  return BnPtr(BN_bin2bn(Bytes(big_endian), static_cast<int>(big_endian.size()), nullptr));
}

// Builds a public key of OpenSSL key type `type_name` from `params`. Errors
// from OpenSSL are dropped from its error queue: the caller reports `what`.
absl::StatusOr<EvpPkeyPtr> FromData(const char* type_name, OSSL_PARAM_BLD* bld,
                                    std::string_view what) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    ERR_clear_error();
    return absl::InvalidArgumentError(std::string(what));
  }
  return EvpPkeyPtr(raw);
}

const char* GroupName(Curve curve) {
  switch (curve) {
    case Curve::kP256:
      return "P-256";
    case Curve::kP384:
      return "P-384";
    case Curve::kP521:
      return "P-521";
    default:
      return nullptr;
  }
}

}  // namespace

void EvpPkeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

absl::StatusOr<EvpPkeyPtr> ImportRsaPublicKey(std::string_view n, std::string_view e) {
  BnPtr bn_n = ToBignum(n);
  BnPtr bn_e = ToBignum(e);
  if (bn_n == nullptr || bn_e == nullptr) return absl::ResourceExhaustedError("out of memory");
  if (!BN_is_odd(bn_n.get())) return absl::InvalidArgumentError("the modulus n must be odd");
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()) || BN_cmp(bn_e.get(), bn_n.get()) >= 0) {
    return absl::InvalidArgumentError("the exponent e must be odd, greater than 1 and below n");
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return absl::ResourceExhaustedError("out of memory");
  }
  return FromData("RSA", bld.get(), "not a valid RSA public key");
}

size_t CoordinateSize(Curve curve) {
  switch (curve) {
    case Curve::kP256:
    case Curve::kEd25519:
      return 32;
    case Curve::kP384:
      return 48;
    case Curve::kP521:
      return 66;
    case Curve::kNone:
      break;
  }
  return 0;
}

absl::StatusOr<EvpPkeyPtr> ImportEcPublicKey(Curve curve, std::string_view x, std::string_view y) {
  const char* group = GroupName(curve);
  size_t size = CoordinateSize(curve);
  if (group == nullptr) return absl::InvalidArgumentError("not an EC curve");
  if (x.size() > size || y.size() > size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a %s coordinate has at most %d bytes", group, size));
  }
  // SEC 1 uncompressed point: 0x04 || X || Y, each left-padded to full size.
  std::string point(1 + 2 * size, '\0');
  point[0] = 0x04;
  point.replace(1 + size - x.size(), x.size(), x);
  point.replace(1 + 2 * size - y.size(), y.size(), y);

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return absl::ResourceExhaustedError("out of memory");
  }
  std::string what = absl::StrFormat("not a point on %s", group);
  absl::StatusOr<EvpPkeyPtr> key = FromData("EC", bld.get(), what);
  if (!key.ok()) return key;
  // fromdata decodes the point; the explicit check also refuses the point at
  // infinity and points outside the prime-order subgroup.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(what);
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> ImportEd25519PublicKey(std::string_view x) {
  if (x.size() != 32) return absl::InvalidArgumentError("an Ed25519 public key has 32 bytes");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x.data(), x.size())) {
    return absl::ResourceExhaustedError("out of memory");
  }
  return FromData("ED25519", bld.get(), "not a valid Ed25519 public key");
}

}  // namespace icaht::filters::jwt
