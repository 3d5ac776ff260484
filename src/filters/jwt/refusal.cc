#include "filters/jwt/refusal.h"

namespace icaht::filters::jwt {

std::string_view RefusalLabel(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "ok";
    case Refusal::kMalformed:
      return "malformed";
    case Refusal::kTooLarge:
      return "too_large";
    case Refusal::kAlgNone:
      return "alg_none";
    case Refusal::kAlgNotAllowed:
      return "alg_not_allowed";
    case Refusal::kUnknownCrit:
      return "unknown_crit";
    case Refusal::kNoKey:
      return "no_key";
    case Refusal::kKeyAlgMismatch:
      return "key_alg_mismatch";
    case Refusal::kBadSignature:
      return "bad_signature";
    case Refusal::kExpired:
      return "expired";
    case Refusal::kNotYetValid:
      return "not_yet_valid";
    case Refusal::kBadIssuer:
      return "bad_issuer";
    case Refusal::kBadAudience:
      return "bad_audience";
  }
  return "unknown";
}

std::string_view RefusalDescription(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "";
    case Refusal::kMalformed:
      return "the token is malformed";
    case Refusal::kTooLarge:
      return "the token is too large";
    case Refusal::kAlgNone:
      return "unsigned tokens are not accepted";
    case Refusal::kAlgNotAllowed:
      return "the signing algorithm is not allowed";
    case Refusal::kUnknownCrit:
      return "the token requires an unsupported extension";
    case Refusal::kNoKey:
      return "no key is known for the token";
    case Refusal::kKeyAlgMismatch:
      return "the signing algorithm does not match the key";
    case Refusal::kBadSignature:
      return "the signature is invalid";
    case Refusal::kExpired:
      return "the token has expired";
    case Refusal::kNotYetValid:
      return "the token is not valid yet";
    case Refusal::kBadIssuer:
      return "the token issuer is not accepted";
    case Refusal::kBadAudience:
      return "the token audience is not accepted";
  }
  return "the token is invalid";
}

}  // namespace icaht::filters::jwt
