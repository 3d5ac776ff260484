#include "registry/record_health.h"

#include <charconv>

#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace icaht::registry {
namespace {

using json::FieldError;
using json::JoinPath;
using json::Value;

constexpr size_t kMaxLocalPathLength = 256;
constexpr size_t kMaxStatusRanges = 16;

// "" (the path goes to the upstream) or an absolute path without query.
absl::Status ParseLocalPath(Value& value, const std::string& path, std::string& out,
                            bool allow_empty = true) {
  ICAHT_ASSIGN_OR_RETURN(out, json::ReadString(value, path));
  if (out.empty() && allow_empty) return absl::OkStatus();
  // A check may ask with a query; a local endpoint matches the path alone.
  bool ok = !out.empty() && out.front() == '/' && out.size() <= kMaxLocalPathLength;
  for (char c : out) ok &= c > 0x20 && c < 0x7f && c != '#' && (!allow_empty || c != '?');
  if (!ok) {
    return FieldError(path, allow_empty
                                ? "must be \"\" or a path starting with '/' (no query, no spaces)"
                                : "must be a path starting with '/' (no spaces)");
  }
  return absl::OkStatus();
}

bool ParseStatus(std::string_view text, uint16_t* out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 100 || value > 599) {
    return false;
  }
  *out = static_cast<uint16_t>(value);
  return true;
}

// 200 or "200-299".
absl::Status ParseStatusRange(Value& value, const std::string& path,
                              std::pair<uint16_t, uint16_t>& out) {
  constexpr std::string_view kWhat = "must be a status code 100..599 or a range \"200-299\"";
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type == simdjson::ondemand::json_type::number) {
    auto code = json::ReadInt(value, path, 100, 599);
    if (!code.ok()) return FieldError(path, kWhat);
    out = {static_cast<uint16_t>(*code), static_cast<uint16_t>(*code)};
    return absl::OkStatus();
  }
  if (type != simdjson::ondemand::json_type::string) return FieldError(path, kWhat);
  ICAHT_ASSIGN_OR_RETURN(std::string text, json::ReadString(value, path));
  size_t dash = text.find('-');
  std::string_view view = text;
  bool ok = dash == std::string::npos
                ? ParseStatus(view, &out.first) && ParseStatus(view, &out.second)
                : ParseStatus(view.substr(0, dash), &out.first) &&
                      ParseStatus(view.substr(dash + 1), &out.second);
  if (!ok || out.first > out.second) return FieldError(path, kWhat);
  return absl::OkStatus();
}

absl::Status ParseCheck(Value& value, const std::string& path, filters::HealthCheckSpec& check) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  check = filters::HealthCheckSpec{};
  if (is_null) return absl::OkStatus();
  check.enabled = true;
  bool timeout_given = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        auto read_u32 = [&](uint32_t* out, int64_t lo, int64_t hi) -> absl::Status {
          ICAHT_ASSIGN_OR_RETURN(int64_t v, json::ReadInt(field, field_path, lo, hi));
          *out = static_cast<uint32_t>(v);
          return absl::OkStatus();
        };
        if (key == "path") return ParseLocalPath(field, field_path, check.path, false);
        if (key == "interval_ms") return read_u32(&check.interval_ms, 100, 3'600'000);
        if (key == "timeout_ms") {
          timeout_given = true;
          return read_u32(&check.timeout_ms, 1, 3'600'000);
        }
        if (key == "healthy_threshold") return read_u32(&check.healthy_threshold, 1, 100);
        if (key == "unhealthy_threshold") return read_u32(&check.unhealthy_threshold, 1, 100);
        if (key == "expected_statuses") {
          check.expected_statuses.clear();
          ICAHT_RETURN_IF_ERROR(json::ForEachElement(
              field, field_path, [&](size_t index, Value& element) -> absl::Status {
                if (index >= kMaxStatusRanges) {
                  return FieldError(field_path, absl::StrFormat("must have at most %d entries",
                                                                kMaxStatusRanges));
                }
                std::pair<uint16_t, uint16_t> range;
                ICAHT_RETURN_IF_ERROR(
                    ParseStatusRange(element, json::IndexPath(field_path, index), range));
                check.expected_statuses.push_back(range);
                return absl::OkStatus();
              }));
          if (check.expected_statuses.empty()) {
            return FieldError(field_path, "must have at least one entry");
          }
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  if (!timeout_given) check.timeout_ms = std::min(check.timeout_ms, check.interval_ms);
  if (check.timeout_ms > check.interval_ms) {
    return FieldError(JoinPath(path, "timeout_ms"), "must be at most interval_ms");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseHealth(Value& value, const std::string& path, filters::HealthSpec& spec) {
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        if (key == "path") return ParseLocalPath(field, field_path, spec.path);
        if (key == "ready_path") return ParseLocalPath(field, field_path, spec.ready_path);
        if (key == "check") return ParseCheck(field, field_path, spec.check);
        if (key == "deregister_after_s") {
          ICAHT_ASSIGN_OR_RETURN(int64_t s, json::ReadInt(field, field_path, 0, 86400 * 7));
          spec.deregister_after_s = static_cast<uint32_t>(s);
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  if (spec.deregister_after_s > 0 && !spec.check.enabled) {
    return FieldError(JoinPath(path, "deregister_after_s"),
                      "needs health.check (instances' health comes from active checks)");
  }
  return absl::OkStatus();
}

void WriteHealth(JsonWriter& w, const filters::HealthSpec& spec) {
  w.StartObject();
  w.Key("path").String(spec.path);
  w.Key("ready_path").String(spec.ready_path);
  w.Key("check");
  if (spec.check.enabled) {
    const filters::HealthCheckSpec& c = spec.check;
    w.StartObject();
    w.Key("path").String(c.path);
    w.Key("interval_ms").Uint(c.interval_ms);
    w.Key("timeout_ms").Uint(c.timeout_ms);
    w.Key("healthy_threshold").Uint(c.healthy_threshold);
    w.Key("unhealthy_threshold").Uint(c.unhealthy_threshold);
    w.Key("expected_statuses").StartArray();
    for (const auto& [low, high] : c.expected_statuses) {
      if (low == high) {
        w.Uint(low);
      } else {
        w.String(absl::StrFormat("%d-%d", low, high));
      }
    }
    w.EndArray();
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("deregister_after_s").Uint(spec.deregister_after_s);
  w.EndObject();
}

}  // namespace icaht::registry
