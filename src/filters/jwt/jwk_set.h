#pragma once
// A JSON Web Key Set (RFC 7517 section 5), parsed once into OpenSSL keys for
// verifying JWS signatures: kty RSA (n, e), EC (crv P-256/P-384/P-521, x, y),
// OKP (crv Ed25519, x) and oct (k, an HMAC secret).
//
// Control plane: Parse() runs wherever the set is fetched or read. The result
// is immutable, so one set can be shared as std::shared_ptr<const JwkSet> by
// every verifier that uses it (OpenSSL allows concurrent verifications with
// one EVP_PKEY); replacing a set means parsing a new one.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "filters/jwt/algorithm.h"
#include "openssl/types.h"

namespace icaht::filters::jwt {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// One usable key of a set.
struct Jwk {
  std::optional<std::string> kid;
  KeyType type = KeyType::kRsa;
  Curve curve = Curve::kNone;      // EC and OKP keys
  std::optional<Algorithm> alg;    // the key's "alg", when present
  std::optional<std::string> use;  // the key's "use" ("sig"; others are skipped)
  EvpPkeyPtr public_key;           // RSA, EC and OKP keys
  std::string secret;              // oct keys (wiped when the set is destroyed)
  size_t index = 0;                // position in the document's "keys" array
};

class JwkSet {
 public:
  // Parses a JWK Set document ({"keys": [...]}; other members are ignored).
  // A key of a type, curve, "use" or "alg" we cannot verify with, or an RSA
  // key under 2048 bits (RFC 7518 section 3.3), is skipped and noted in
  // warnings(); a key that is broken fails the whole set, with an error that
  // names it: "field 'keys[1].n': bad base64url". So does a set left with no
  // usable key.
  static absl::StatusOr<std::shared_ptr<const JwkSet>> Parse(std::string_view json);

  JwkSet(const JwkSet&) = delete;
  JwkSet& operator=(const JwkSet&) = delete;
  ~JwkSet();

  const std::vector<Jwk>& keys() const { return keys_; }
  // One line per skipped key: "keys[2]: kty 'foo' is not supported; key skipped".
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The keys to check a token signed with `alg` against; `kid` is the
  // token's "kid" header (nullopt when it has none).
  //   with a kid: the keys with that kid, whatever their type (the caller
  //     refuses those that do not fit `alg`); if there are none, the set's only
  //     key of `alg`'s type and curve, provided that key has no kid either;
  //   without a kid: the kid-less keys of `alg`'s type and curve, or failing
  //     those, the set's only key of that type and curve.
  // Empty when nothing matches.
  absl::InlinedVector<const Jwk*, 2> Candidates(std::optional<std::string_view> kid,
                                                Algorithm alg) const;

 private:
  JwkSet() = default;

  std::vector<Jwk> keys_;
  std::vector<std::string> warnings_;
  // Indexes into keys_, by kid; several keys may share a kid (RFC 7517
  // section 4.5 allows it for keys of different types).
  absl::flat_hash_map<std::string, absl::InlinedVector<uint32_t, 1>> by_kid_;
};

// True when `key` can verify `alg` signatures: its type and curve are the
// ones `alg` needs and its own "alg", if any, is `alg`.
bool KeyFits(const Jwk& key, Algorithm alg);

}  // namespace icaht::filters::jwt
