#include "registry/record_rate_limit.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"

namespace icaht::registry {
namespace {

using filters::RateLimitKey;
using filters::RateLimitSpec;
using json::FieldError;
using json::JoinPath;
using json::Value;

constexpr double kMaxRate = 1e7;
constexpr int64_t kMaxBurst = 1'000'000'000;
constexpr int64_t kMaxKeys = 10'000'000;
constexpr size_t kMaxLimitNameLength = 64;
constexpr std::string_view kHeaderPrefix = "header:";
constexpr std::string_view kClaimPrefix = "claim:";

bool IsPolicyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxLimitNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Claim names are JSON member names of a token; any visible ASCII will do.
bool IsClaimName(std::string_view name) {
  if (name.empty() || name.size() > kMaxLimitNameLength) return false;
  for (unsigned char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

absl::Status ParseKey(Value& value, const std::string& path, RateLimitSpec& spec) {
  ICAHT_ASSIGN_OR_RETURN(std::string text, json::ReadString(value, path));
  std::string_view key = text;
  if (key == "service") {
    spec.key = RateLimitKey::kService;
  } else if (key == "client_ip") {
    spec.key = RateLimitKey::kClientIp;
  } else if (key.substr(0, kHeaderPrefix.size()) == kHeaderPrefix) {
    std::string_view name = key.substr(kHeaderPrefix.size());
    if (name.empty() || name.size() > kMaxLimitNameLength || !http::IsToken(name)) {
      return FieldError(path, "must name a header: \"header:<1..64 token characters>\"");
    }
    spec.key = RateLimitKey::kHeader;
    spec.key_name = std::string(name);
  } else if (key.substr(0, kClaimPrefix.size()) == kClaimPrefix) {
    std::string_view name = key.substr(kClaimPrefix.size());
    if (!IsClaimName(name)) {
      return FieldError(path, "must name a claim: \"claim:<1..64 visible ASCII characters>\"");
    }
    spec.key = RateLimitKey::kClaim;
    spec.key_name = std::string(name);
  } else {
    return FieldError(path,
                      "must be \"service\", \"client_ip\", \"header:<name>\" or \"claim:<name>\"");
  }
  return absl::OkStatus();
}

absl::Status ParseLimit(Value& value, const std::string& path, RateLimitSpec& spec) {
  bool has_rate = false;
  bool has_burst = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        if (key == "requests_per_second") {
          static const std::string kMustBe =
              absl::StrFormat("a number > 0 and at most %.0f", kMaxRate);
          ICAHT_ASSIGN_OR_RETURN(spec.requests_per_second,
                                 json::ReadNumber(field, field_path, kMustBe));
          if (!(spec.requests_per_second > 0) || spec.requests_per_second > kMaxRate) {
            return FieldError(field_path, "must be " + kMustBe);
          }
          has_rate = true;
        } else if (key == "burst") {
          ICAHT_ASSIGN_OR_RETURN(int64_t burst, json::ReadInt(field, field_path, 1, kMaxBurst));
          spec.burst = static_cast<uint32_t>(burst);
          has_burst = true;
        } else if (key == "key") {
          ICAHT_RETURN_IF_ERROR(ParseKey(field, field_path, spec));
        } else if (key == "enforce") {
          ICAHT_ASSIGN_OR_RETURN(spec.enforce, json::ReadBool(field, field_path));
        } else if (key == "headers") {
          ICAHT_ASSIGN_OR_RETURN(spec.headers, json::ReadBool(field, field_path));
        } else if (key == "max_keys") {
          ICAHT_ASSIGN_OR_RETURN(int64_t max_keys, json::ReadInt(field, field_path, 1, kMaxKeys));
          spec.max_keys = static_cast<uint32_t>(max_keys);
        } else if (key == "name") {
          ICAHT_ASSIGN_OR_RETURN(spec.name, json::ReadString(field, field_path));
          if (!IsPolicyName(spec.name)) {
            return FieldError(field_path, "must be 1..64 characters of [A-Za-z0-9._-]");
          }
        } else {
          return json::UnknownFieldError(field_path);
        }
        return absl::OkStatus();
      }));
  if (!has_rate) return FieldError(JoinPath(path, "requests_per_second"), "required");
  if (!has_burst) {
    spec.burst = static_cast<uint32_t>(std::max(1.0, std::ceil(spec.requests_per_second)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseRateLimits(Value& value, const std::string& path,
                             std::vector<RateLimitSpec>& out) {
  out.clear();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  // The path of limit i, for errors found after parsing (duplicate names).
  std::vector<std::string> paths;
  if (type == simdjson::ondemand::json_type::object) {
    out.emplace_back();
    paths.push_back(path);
    ICAHT_RETURN_IF_ERROR(ParseLimit(value, path, out.back()));
  } else if (type == simdjson::ondemand::json_type::array) {
    ICAHT_RETURN_IF_ERROR(
        json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
          if (index >= filters::kMaxRateLimits) {
            return FieldError(
                path, absl::StrFormat("must have at most %d entries", filters::kMaxRateLimits));
          }
          out.emplace_back();
          paths.push_back(json::IndexPath(path, index));
          return ParseLimit(element, paths.back(), out.back());
        }));
  } else {
    return FieldError(path, "must be an object or an array of objects");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out[i].name == out[j].name) {
        return FieldError(JoinPath(paths[i], "name"),
                          absl::StrFormat("'%s' is already the name of %s; each limit needs its "
                                          "own name",
                                          out[i].name, paths[j]));
      }
    }
  }
  return absl::OkStatus();
}

std::string RateLimitKeyText(const RateLimitSpec& spec) {
  switch (spec.key) {
    case RateLimitKey::kService:
      return "service";
    case RateLimitKey::kClientIp:
      return "client_ip";
    case RateLimitKey::kHeader:
      return std::string(kHeaderPrefix) + spec.key_name;
    case RateLimitKey::kClaim:
      return std::string(kClaimPrefix) + spec.key_name;
  }
  return "service";
}

void WriteRateLimits(JsonWriter& w, const std::vector<RateLimitSpec>& limits) {
  w.StartArray();
  for (const RateLimitSpec& spec : limits) {
    w.StartObject();
    w.Key("requests_per_second").Double(spec.requests_per_second);
    w.Key("burst").Uint(spec.burst);
    w.Key("key").String(RateLimitKeyText(spec));
    w.Key("enforce").Bool(spec.enforce);
    w.Key("headers").Bool(spec.headers);
    w.Key("max_keys").Uint(spec.max_keys);
    w.Key("name").String(spec.name);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace icaht::registry
