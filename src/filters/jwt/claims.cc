#include "filters/jwt/claims.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace icaht::filters::jwt {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;

// The registered claims we read, as bits for duplicate detection.
enum ClaimBit : uint32_t {
  kIss = 1 << 0,
  kSub = 1 << 1,
  kAud = 1 << 2,
  kExp = 1 << 3,
  kNbf = 1 << 4,
  kIat = 1 << 5,
  kScope = 1 << 6,
  kScp = 1 << 7,
};

uint32_t ClaimBitOf(std::string_view name) {
  if (name == "iss") return kIss;
  if (name == "sub") return kSub;
  if (name == "aud") return kAud;
  if (name == "exp") return kExp;
  if (name == "nbf") return kNbf;
  if (name == "iat") return kIat;
  if (name == "scope") return kScope;
  if (name == "scp") return kScp;
  return 0;
}

// A NumericDate (RFC 7519 section 2): any JSON number, floored to whole
// seconds and clamped to int64.
std::optional<int64_t> NumericDate(element value) {
  switch (value.type()) {
    case element_type::INT64:
      return value.get_int64().value_unsafe();
    case element_type::UINT64:
      return std::numeric_limits<int64_t>::max();  // a UINT64 is above INT64_MAX
    case element_type::DOUBLE: {
      double seconds = std::floor(value.get_double().value_unsafe());
      if (seconds >= 9.2e18) return std::numeric_limits<int64_t>::max();
      if (seconds <= -9.2e18) return std::numeric_limits<int64_t>::min();
      return static_cast<int64_t>(seconds);
    }
    default:
      return std::nullopt;
  }
}

void AddScopes(std::string_view text, std::vector<std::string>* scopes) {
  while (!text.empty()) {
    size_t end = text.find(' ');
    if (end != 0) scopes->emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Typed reads of a value whose type the caller has checked.
std::string_view StringOf(element value) {
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) return {};
  return text;
}

array ArrayOf(element value) {
  array values;
  if (value.get(values) != simdjson::SUCCESS) return {};
  return values;
}

bool IsStringArray(array values) {
  for (element value : values) {
    if (!value.is_string()) return false;
  }
  return true;
}

std::string ClaimText(element value) {
  switch (value.type()) {
    case element_type::STRING:
      return std::string(StringOf(value));
    case element_type::INT64:
      return absl::StrCat(value.get_int64().value_unsafe());
    case element_type::UINT64:
      return absl::StrCat(value.get_uint64().value_unsafe());
    case element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE:
      return "null";
    case element_type::ARRAY: {
      array values = ArrayOf(value);
      if (!IsStringArray(values)) break;
      std::string joined;
      for (element item : values) {
        if (!joined.empty()) joined += ' ';
        joined += StringOf(item);
      }
      return joined;
    }
    case element_type::DOUBLE:
    case element_type::OBJECT:
      break;
  }
  return simdjson::minify(value);
}

}  // namespace

const std::string* VerifiedClaims::Find(std::string_view name) const {
  for (const auto& [key, value] : claims) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool VerifiedClaims::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

Refusal ReadClaims(std::string_view json, const JwtPolicy& policy, int64_t now_s,
                   simdjson::dom::parser& parser, VerifiedClaims* claims,
                   std::string_view* description) {
  auto malformed = [description](std::string_view why) {
    *description = why;
    return Refusal::kMalformed;
  };
  *claims = VerifiedClaims();
  simdjson::dom::object payload;
  if (parser.parse(json.data(), json.size(), false).get(payload) != simdjson::SUCCESS) {
    return malformed("the payload is not a JSON object");
  }
  uint32_t seen = 0;
  std::optional<std::string_view> issuer;
  std::optional<element> audience;
  std::optional<int64_t> expires_at, not_before;
  for (auto [key, value] : payload) {
    uint32_t bit = ClaimBitOf(key);
    if ((seen & bit) != 0) return malformed("a registered claim appears twice");
    seen |= bit;
    switch (bit) {
      case kIss:
      case kSub: {
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
          return malformed("iss and sub must be strings");
        }
        if (bit == kIss) issuer = text;
        if (bit == kSub) claims->subject = std::string(text);
        break;
      }
      case kAud:
        if (!value.is_string() && !(value.is_array() && IsStringArray(ArrayOf(value)))) {
          return malformed("aud must be a string or an array of strings");
        }
        audience = value;
        break;
      case kExp:
      case kNbf:
      case kIat: {
        std::optional<int64_t> date = NumericDate(value);
        if (!date) return malformed("exp, nbf and iat must be numbers");
        if (bit == kExp) expires_at = date;
        if (bit == kNbf) not_before = date;
        break;
      }
      case kScope:
        if (!value.is_string()) return malformed("scope must be a string");
        AddScopes(StringOf(value), &claims->scopes);
        break;
      case kScp:
        if (value.is_string()) {
          AddScopes(StringOf(value), &claims->scopes);
        } else if (value.is_array() && IsStringArray(ArrayOf(value))) {
          for (element item : ArrayOf(value)) {
            claims->scopes.emplace_back(StringOf(item));
          }
        } else {
          return malformed("scp must be a string or an array of strings");
        }
        break;
    }
    claims->claims.emplace_back(std::string(key), ClaimText(value));
  }

  // now - leeway and now + leeway rather than exp + leeway: exp may be as
  // large as INT64_MAX.
  if (expires_at) {
    claims->expires_at = *expires_at;
    if (*expires_at <= now_s - policy.leeway_s) {
      *description = RefusalDescription(Refusal::kExpired);
      return Refusal::kExpired;
    }
  }
  if (not_before) {
    claims->not_before = *not_before;
    if (*not_before > now_s + policy.leeway_s) {
      *description = RefusalDescription(Refusal::kNotYetValid);
      return Refusal::kNotYetValid;
    }
  }
  if (policy.issuer && issuer != *policy.issuer) {
    *description = RefusalDescription(Refusal::kBadIssuer);
    return Refusal::kBadIssuer;
  }
  if (!policy.audiences.empty()) {
    auto accepted = [&policy](std::string_view aud) {
      return std::find(policy.audiences.begin(), policy.audiences.end(), aud) !=
             policy.audiences.end();
    };
    bool ok = false;
    if (audience && audience->is_string()) {
      ok = accepted(StringOf(*audience));
    } else if (audience) {
      for (element item : ArrayOf(*audience)) {
        ok = ok || accepted(StringOf(item));
      }
    }
    if (!ok) {
      *description = RefusalDescription(Refusal::kBadAudience);
      return Refusal::kBadAudience;
    }
  }
  *description = "";
  return Refusal::kNone;
}

}  // namespace icaht::filters::jwt
