#include "filters/jwt/verify.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "filters/jwt/base64url.h"
#include "filters/jwt/signature.h"
#include "simdjson.h"

namespace icaht::filters::jwt {
namespace {

VerifyResult Refuse(Refusal refusal, std::string_view description = {}) {
  VerifyResult result;
  result.refusal = refusal;
  result.description = description.empty() ? RefusalDescription(refusal) : description;
  return result;
}

// Decodes a base64url JSON part into `*out` with room for simdjson's padding
// after it (ReadClaims and the header parse read it without copying).
bool DecodeJson(std::string_view part, std::string* out) {
  std::optional<size_t> size = Base64UrlDecodedSize(part.size());
  if (!size) return false;
  out->reserve(*size + simdjson::SIMDJSON_PADDING);
  return Base64UrlDecode(part, out);
}

struct Header {
  std::string_view alg;
  std::optional<std::string_view> kid;
  bool has_crit = false;
};

// Reads the header fields we act on. Views point into `parser`'s storage.
// Returns "" or why the header is malformed.
std::string_view ReadHeader(std::string_view json, simdjson::dom::parser& parser, Header* header) {
  simdjson::dom::object object;
  if (parser.parse(json.data(), json.size(), false).get(object) != simdjson::SUCCESS) {
    return "the header is not a JSON object";
  }
  bool has_alg = false;
  for (auto [key, value] : object) {
    if (key == "alg") {
      if (has_alg) return "the header has alg twice";
      has_alg = true;
      if (value.get_string().get(header->alg) != simdjson::SUCCESS) {
        return "the header alg is not a string";
      }
    } else if (key == "kid") {
      if (header->kid) return "the header has kid twice";
      std::string_view kid;
      if (value.get_string().get(kid) != simdjson::SUCCESS) return "the header kid is not a string";
      header->kid = kid;
    } else if (key == "crit") {
      if (header->has_crit) return "the header has crit twice";
      header->has_crit = true;
      simdjson::dom::array entries;
      // RFC 7515 section 4.1.11: a non-empty array of names.
      if (value.get_array().get(entries) != simdjson::SUCCESS || entries.size() == 0) {
        return "the header crit is not a non-empty array";
      }
      for (simdjson::dom::element entry : entries) {
        if (!entry.is_string()) return "the header crit is not an array of strings";
      }
    }
  }
  if (!has_alg) return "the header has no alg";
  return "";
}

// "none" in any case: an unsigned token deserves its own label, whatever
// spelling it tries.
bool IsNone(std::string_view alg) {
  constexpr std::string_view kNone = "none";
  if (alg.size() != kNone.size()) return false;
  for (size_t i = 0; i < alg.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(alg[i])) != kNone[i]) return false;
  }
  return true;
}

}  // namespace

VerifyResult Verify(std::string_view token, const JwkSet& keys, const JwtPolicy& policy,
                    int64_t now_s) {
  if (token.size() > policy.max_token_bytes) return Refuse(Refusal::kTooLarge);

  size_t first_dot = token.find('.');
  size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return Refuse(Refusal::kMalformed, "the token is not three dot-separated parts");
  }
  std::string_view header_part = token.substr(0, first_dot);
  std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  std::string_view signature_part = token.substr(second_dot + 1);
  std::string_view signing_input = token.substr(0, second_dot);

  std::string header_json, payload_json, signature;
  if (!DecodeJson(header_part, &header_json)) {
    return Refuse(Refusal::kMalformed, "the header is not base64url");
  }
  // Decoded up front so that a token with a broken part is malformed whatever
  // its signature; the payload is parsed only once the signature holds.
  if (!DecodeJson(payload_part, &payload_json)) {
    return Refuse(Refusal::kMalformed, "the payload is not base64url");
  }
  if (!Base64UrlDecode(signature_part, &signature)) {
    return Refuse(Refusal::kMalformed, "the signature is not base64url");
  }

  simdjson::dom::parser parser;
  Header header;
  if (std::string_view why = ReadHeader(header_json, parser, &header); !why.empty()) {
    return Refuse(Refusal::kMalformed, why);
  }
  if (IsNone(header.alg)) return Refuse(Refusal::kAlgNone);
  std::optional<Algorithm> alg = AlgorithmFromName(header.alg);
  if (!alg || !policy.algorithms.Contains(*alg)) return Refuse(Refusal::kAlgNotAllowed);
  if (header.has_crit) return Refuse(Refusal::kUnknownCrit);

  absl::InlinedVector<const Jwk*, 2> candidates = keys.Candidates(header.kid, *alg);
  if (candidates.empty()) return Refuse(Refusal::kNoKey);
  bool any_fits = false;
  bool verified = false;
  for (const Jwk* key : candidates) {
    if (!KeyFits(*key, *alg)) continue;
    any_fits = true;
    if (VerifySignature(*alg, *key, signing_input, signature)) {
      verified = true;
      break;
    }
  }
  if (!any_fits) return Refuse(Refusal::kKeyAlgMismatch);
  if (!verified) return Refuse(Refusal::kBadSignature);

  VerifyResult result;
  result.refusal =
      ReadClaims(payload_json, policy, now_s, parser, &result.claims, &result.description);
  if (!result.ok()) result.claims = VerifiedClaims();
  return result;
}

}  // namespace icaht::filters::jwt
