#include "registry/record_upstream_policy.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace icaht::registry {
namespace {

constexpr int64_t kMaxLimit = 1'000'000;

absl::Status ReadLimit(json::Value& field, const std::string& path, int64_t lo, uint32_t& into) {
  ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, path, lo, kMaxLimit));
  into = static_cast<uint32_t>(n);
  return absl::OkStatus();
}

absl::Status ReadSeconds(json::Value& field, const std::string& path, uint32_t& ms) {
  constexpr std::string_view kWhat = "a number of seconds 0.001..86400";
  ICAHT_ASSIGN_OR_RETURN(double s, json::ReadNumber(field, path, kWhat));
  if (!(s >= 0.001 && s <= 86400))
    return json::FieldError(path, "must be a number of seconds 0.001..86400");
  ms = static_cast<uint32_t>(std::llround(s * 1000));
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseCircuitBreaker(json::Value& value, const std::string& path,
                                 std::optional<filters::CircuitBreakerSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  filters::CircuitBreakerSpec spec;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "max_connections") return ReadLimit(field, field_path, 1, spec.max_connections);
        if (key == "max_pending") return ReadLimit(field, field_path, 0, spec.max_pending);
        if (key == "max_requests") return ReadLimit(field, field_path, 1, spec.max_requests);
        if (key == "max_retries") return ReadLimit(field, field_path, 0, spec.max_retries);
        return json::UnknownFieldError(field_path);
      }));
  out = spec;
  return absl::OkStatus();
}

void WriteCircuitBreaker(JsonWriter& writer,
                         const std::optional<filters::CircuitBreakerSpec>& spec) {
  if (!spec) {
    writer.Null();
    return;
  }
  writer.StartObject();
  writer.Key("max_connections").Uint(spec->max_connections);
  writer.Key("max_pending").Uint(spec->max_pending);
  writer.Key("max_requests").Uint(spec->max_requests);
  writer.Key("max_retries").Uint(spec->max_retries);
  writer.EndObject();
}

absl::Status ParseOutlierDetection(json::Value& value, const std::string& path,
                                   std::optional<filters::OutlierSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  filters::OutlierSpec spec;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "consecutive_5xx") return ReadLimit(field, field_path, 0, spec.consecutive_5xx);
        if (key == "consecutive_gateway_errors") {
          return ReadLimit(field, field_path, 0, spec.consecutive_gateway_errors);
        }
        if (key == "success_rate_min_hosts") {
          return ReadLimit(field, field_path, 0, spec.success_rate_min_hosts);
        }
        if (key == "success_rate_request_volume") {
          return ReadLimit(field, field_path, 1, spec.success_rate_request_volume);
        }
        if (key == "success_rate_stdev_factor") {
          constexpr std::string_view kWhat = "a number 0..100";
          ICAHT_ASSIGN_OR_RETURN(double f, json::ReadNumber(field, field_path, kWhat));
          if (!(f >= 0 && f <= 100)) return json::FieldError(field_path, "must be a number 0..100");
          spec.success_rate_stdev_factor = f;
          return absl::OkStatus();
        }
        if (key == "interval_s") return ReadSeconds(field, field_path, spec.interval_ms);
        if (key == "base_ejection_s") return ReadSeconds(field, field_path, spec.base_ejection_ms);
        if (key == "max_ejection_s") return ReadSeconds(field, field_path, spec.max_ejection_ms);
        if (key == "max_ejection_percent") {
          ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, field_path, 0, 100));
          spec.max_ejection_percent = static_cast<uint32_t>(n);
          return absl::OkStatus();
        }
        if (key == "panic_threshold_percent") {
          ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, field_path, 0, 100));
          spec.panic_threshold_percent = static_cast<uint32_t>(n);
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  if (spec.max_ejection_ms < spec.base_ejection_ms) {
    return json::FieldError(json::JoinPath(path, "max_ejection_s"),
                            "must be at least base_ejection_s");
  }
  out = spec;
  return absl::OkStatus();
}

void WriteOutlierDetection(JsonWriter& writer, const std::optional<filters::OutlierSpec>& spec) {
  if (!spec) {
    writer.Null();
    return;
  }
  auto seconds = [](uint32_t ms) { return static_cast<double>(ms) / 1000; };
  writer.StartObject();
  writer.Key("consecutive_5xx").Uint(spec->consecutive_5xx);
  writer.Key("consecutive_gateway_errors").Uint(spec->consecutive_gateway_errors);
  writer.Key("success_rate_min_hosts").Uint(spec->success_rate_min_hosts);
  writer.Key("success_rate_request_volume").Uint(spec->success_rate_request_volume);
  writer.Key("success_rate_stdev_factor").Double(spec->success_rate_stdev_factor);
  writer.Key("interval_s").Double(seconds(spec->interval_ms));
  writer.Key("base_ejection_s").Double(seconds(spec->base_ejection_ms));
  writer.Key("max_ejection_s").Double(seconds(spec->max_ejection_ms));
  writer.Key("max_ejection_percent").Uint(spec->max_ejection_percent);
  writer.Key("panic_threshold_percent").Uint(spec->panic_threshold_percent);
  writer.EndObject();
}

}  // namespace icaht::registry
