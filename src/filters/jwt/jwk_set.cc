#include "filters/jwt/jwk_set.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "filters/jwt/base64url.h"
#include "filters/jwt/key_import.h"
#include "openssl/crypto.h"
#include "simdjson.h"

namespace icaht::filters::jwt {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// RFC 7518 section 3.3 requires at least 2048 bits; OpenSSL verifies up to
// 16384 (OPENSSL_RSA_MAX_MODULUS_BITS).
constexpr size_t kMinRsaBits = 2048;
constexpr size_t kMaxRsaBits = 16384;

// The same wording as the daemon's config errors (registry/json_reader.h).
absl::Status FieldError(std::string_view path, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrFormat("field '%s': %s", path, problem));
}

// Wipes a decoded secret before its storage goes back to the allocator.
struct SecretString {
  std::string bytes;
  ~SecretString() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// Reads one JWK, the object at keys[index].
class KeyReader {
 public:
  KeyReader(object key, size_t index) : key_(key), path_(absl::StrFormat("keys[%d]", index)) {}

  std::string Path(std::string_view member) const {
    return absl::StrFormat("%s.%s", path_, member);
  }
  const std::string& path() const { return path_; }

  // The string member `name`: nullopt when absent, an error when not a string.
  absl::StatusOr<std::optional<std::string_view>> OptionalString(std::string_view name) const {
    element value;
    if (key_[name].get(value) != simdjson::SUCCESS) return std::nullopt;
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      return FieldError(Path(name), "must be a string");
    }
    return text;
  }

  absl::StatusOr<std::string_view> RequiredString(std::string_view name) const {
    ICAHT_ASSIGN_OR_RETURN(std::optional<std::string_view> text, OptionalString(name));
    if (!text) return FieldError(Path(name), "missing");
    return *text;
  }

  // The base64url member `name`, decoded; it must be present and non-empty.
  absl::Status Bytes(std::string_view name, std::string* out) const {
    ICAHT_ASSIGN_OR_RETURN(std::string_view text, RequiredString(name));
    if (!Base64UrlDecode(text, out)) return FieldError(Path(name), "bad base64url");
    if (out->empty()) return FieldError(Path(name), "empty");
    return absl::OkStatus();
  }

 private:
  object key_;
  std::string path_;
};

// The number of significant bits of a big-endian unsigned integer.
size_t BitLength(std::string_view big_endian) {
  size_t i = 0;
  while (i < big_endian.size() && big_endian[i] == '\0') ++i;
  if (i == big_endian.size()) return 0;
  auto top = static_cast<unsigned char>(big_endian[i]);
  size_t bits = (big_endian.size() - i - 1) * 8;
  while (top != 0) {
    ++bits;
    top >>= 1;
  }
  return bits;
}

std::optional<Curve> CurveFromName(std::string_view name) {
  if (name == "P-256") return Curve::kP256;
  if (name == "P-384") return Curve::kP384;
  if (name == "P-521") return Curve::kP521;
  if (name == "Ed25519") return Curve::kEd25519;
  return std::nullopt;
}

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEc:
      return "EC";
    case KeyType::kOkp:
      return "OKP";
    case KeyType::kOct:
      return "oct";
  }
  return "?";
}

// Parses keys[index] into `*key`. Returns OK with `*skip` set to the reason
// for a key we cannot use, or an error for a broken one.
absl::Status ReadKey(const KeyReader& in, size_t index, Jwk* key, std::string* skip) {
  key->index = index;
  ICAHT_ASSIGN_OR_RETURN(std::string_view kty, in.RequiredString("kty"));
  ICAHT_ASSIGN_OR_RETURN(std::optional<std::string_view> kid, in.OptionalString("kid"));
  ICAHT_ASSIGN_OR_RETURN(std::optional<std::string_view> use, in.OptionalString("use"));
  ICAHT_ASSIGN_OR_RETURN(std::optional<std::string_view> alg, in.OptionalString("alg"));
  if (kid) key->kid = std::string(*kid);
  if (use) key->use = std::string(*use);

  if (kty == "RSA") {
    key->type = KeyType::kRsa;
  } else if (kty == "EC") {
    key->type = KeyType::kEc;
  } else if (kty == "OKP") {
    key->type = KeyType::kOkp;
  } else if (kty == "oct") {
    key->type = KeyType::kOct;
  } else {
    *skip = absl::StrFormat("kty '%s' is not supported", kty);
    return absl::OkStatus();
  }
  if (key->type == KeyType::kEc || key->type == KeyType::kOkp) {
    ICAHT_ASSIGN_OR_RETURN(std::string_view crv, in.RequiredString("crv"));
    std::optional<Curve> curve = CurveFromName(crv);
    bool fits = curve && (*curve == Curve::kEd25519) == (key->type == KeyType::kOkp);
    if (!fits) {
      *skip = absl::StrFormat("crv '%s' is not supported for kty %s", crv, kty);
      return absl::OkStatus();
    }
    key->curve = *curve;
  }
  // An encryption key ("enc") must never verify a signature.
  if (use && *use != "sig") {
    *skip = absl::StrFormat("use '%s' is not 'sig'", *use);
    return absl::OkStatus();
  }
  if (alg) {
    key->alg = AlgorithmFromName(*alg);
    if (!key->alg) {
      *skip = absl::StrFormat("alg '%s' is not a supported signature algorithm", *alg);
      return absl::OkStatus();
    }
    if (RequiredKeyType(*key->alg) != key->type || RequiredCurve(*key->alg) != key->curve) {
      return FieldError(in.Path("alg"), absl::StrFormat("%s does not fit this %s key", *alg,
                                                        KeyTypeName(key->type)));
    }
  }

  absl::StatusOr<EvpPkeyPtr> imported;
  std::string_view field;
  switch (key->type) {
    case KeyType::kRsa: {
      std::string n, e;
      ICAHT_RETURN_IF_ERROR(in.Bytes("n", &n));
      ICAHT_RETURN_IF_ERROR(in.Bytes("e", &e));
      size_t bits = BitLength(n);
      if (bits < kMinRsaBits || bits > kMaxRsaBits) {
        *skip = absl::StrFormat("an RSA key of %d bits is outside %d..%d", bits, kMinRsaBits,
                                kMaxRsaBits);
        return absl::OkStatus();
      }
      field = "n";
      imported = ImportRsaPublicKey(n, e);
      break;
    }
    case KeyType::kEc: {
      std::string x, y;
      ICAHT_RETURN_IF_ERROR(in.Bytes("x", &x));
      ICAHT_RETURN_IF_ERROR(in.Bytes("y", &y));
      field = "x";
      imported = ImportEcPublicKey(key->curve, x, y);
      break;
    }
    case KeyType::kOkp: {
      std::string x;
      ICAHT_RETURN_IF_ERROR(in.Bytes("x", &x));
      field = "x";
      imported = ImportEd25519PublicKey(x);
      break;
    }
    case KeyType::kOct: {
      SecretString k;
      ICAHT_RETURN_IF_ERROR(in.Bytes("k", &k.bytes));
      key->secret = k.bytes;
      return absl::OkStatus();
    }
  }
  if (!imported.ok()) return FieldError(in.Path(field), std::string(imported.status().message()));
  key->public_key = *std::move(imported);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const JwkSet>> JwkSet::Parse(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (simdjson::error_code err = parser.parse(json.data(), json.size()).get(root)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid JSON: %s", simdjson::error_message(err)));
  }
  object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("a JWK Set must be a JSON object");
  }
  simdjson::dom::array keys;
  element keys_value;
  if (top["keys"].get(keys_value) != simdjson::SUCCESS) return FieldError("keys", "missing");
  if (keys_value.get_array().get(keys) != simdjson::SUCCESS) {
    return FieldError("keys", "must be an array");
  }

  std::shared_ptr<JwkSet> set(new JwkSet());
  size_t index = 0;
  for (element value : keys) {
    object key_object;
    std::string path = absl::StrFormat("keys[%d]", index);
    if (value.get_object().get(key_object) != simdjson::SUCCESS) {
      return FieldError(path, "must be an object");
    }
    Jwk key;
    std::string skip;
    ICAHT_RETURN_IF_ERROR(ReadKey(KeyReader(key_object, index), index, &key, &skip));
    if (!skip.empty()) {
      set->warnings_.push_back(absl::StrFormat("%s: %s; key skipped", path, skip));
    } else {
      if (key.kid) set->by_kid_[*key.kid].push_back(static_cast<uint32_t>(set->keys_.size()));
      set->keys_.push_back(std::move(key));
    }
    ++index;
  }
  if (set->keys_.empty()) {
    std::string message = "the JWK Set has no usable key";
    if (!set->warnings_.empty()) {
      absl::StrAppend(&message, " (", absl::StrJoin(set->warnings_, "; "), ")");
    }
    return absl::InvalidArgumentError(message);
  }
  return std::shared_ptr<const JwkSet>(std::move(set));
}

JwkSet::~JwkSet() {
  for (Jwk& key : keys_) OPENSSL_cleanse(key.secret.data(), key.secret.size());
}

bool KeyFits(const Jwk& key, Algorithm alg) {
  return key.type == RequiredKeyType(alg) && key.curve == RequiredCurve(alg) &&
         (!key.alg || *key.alg == alg);
}

absl::InlinedVector<const Jwk*, 2> JwkSet::Candidates(std::optional<std::string_view> kid,
                                                      Algorithm alg) const {
  absl::InlinedVector<const Jwk*, 2> found;
  if (kid) {
    // Debian's abseil has its own string_view type, which the map hashes.
    if (auto it = by_kid_.find(absl::string_view(kid->data(), kid->size())); it != by_kid_.end()) {
      for (uint32_t i : it->second) found.push_back(&keys_[i]);
      return found;
    }
  }
  KeyType type = RequiredKeyType(alg);
  Curve curve = RequiredCurve(alg);
  const Jwk* only = nullptr;
  size_t of_type = 0;
  for (const Jwk& key : keys_) {
    if (key.type != type || key.curve != curve) continue;
    ++of_type;
    only = &key;
    if (!kid && !key.kid) found.push_back(&key);
  }
  if (found.empty() && of_type == 1 && (!kid || !only->kid)) found.push_back(only);
  return found;
}

}  // namespace icaht::filters::jwt
