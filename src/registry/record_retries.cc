#include "registry/record_retries.h"

#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace icaht::registry {

absl::Status ParseRetries(json::Value& value, const std::string& path,
                          std::optional<filters::RetryPolicy>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  filters::RetryPolicy policy;
  auto read_uint = [](json::Value& field, const std::string& field_path, int64_t lo, int64_t hi,
                      uint32_t& into) -> absl::Status {
    ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, field_path, lo, hi));
    into = static_cast<uint32_t>(n);
    return absl::OkStatus();
  };
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "attempts") return read_uint(field, field_path, 1, 10, policy.attempts);
        if (key == "per_try_timeout_ms") {
          return read_uint(field, field_path, 0, 3'600'000, policy.per_try_timeout_ms);
        }
        if (key == "backoff_base_ms") {
          return read_uint(field, field_path, 1, 60'000, policy.backoff_base_ms);
        }
        if (key == "backoff_max_ms") {
          return read_uint(field, field_path, 1, 60'000, policy.backoff_max_ms);
        }
        if (key == "budget_percent") {
          return read_uint(field, field_path, 0, 100, policy.budget_percent);
        }
        if (key == "min_retry_concurrency") {
          return read_uint(field, field_path, 0, 100'000, policy.min_retry_concurrency);
        }
        if (key == "replay_body_bytes") {
          return read_uint(field, field_path, 0, 16 << 20, policy.replay_body_bytes);
        }
        if (key == "retry_on") {
          policy.retry_on = 0;
          policy.retriable_statuses.clear();
          size_t count = 0;
          ICAHT_RETURN_IF_ERROR(json::ForEachElement(
              field, field_path, [&](size_t i, json::Value& element) -> absl::Status {
                std::string element_path = json::IndexPath(field_path, i);
                ICAHT_ASSIGN_OR_RETURN(std::string entry, json::ReadString(element, element_path));
                ++count;
                if (!filters::AddRetryOn(entry, policy)) {
                  return json::FieldError(
                      element_path,
                      absl::StrFormat("'%s' is none of connect-failure, refused-stream, reset, "
                                      "gateway-error, 5xx, retriable-status:<codes 400-599>",
                                      entry));
                }
                return absl::OkStatus();
              }));
          if (count == 0) return json::FieldError(field_path, "must name at least one condition");
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  if (policy.backoff_max_ms < policy.backoff_base_ms) {
    return json::FieldError(json::JoinPath(path, "backoff_max_ms"),
                            "must be at least backoff_base_ms");
  }
  out = std::move(policy);
  return absl::OkStatus();
}

void WriteRetries(JsonWriter& writer, const std::optional<filters::RetryPolicy>& policy) {
  if (!policy) {
    writer.Null();
    return;
  }
  writer.StartObject();
  writer.Key("attempts").Uint(policy->attempts);
  writer.Key("retry_on").StartArray();
  for (const std::string& name : filters::RetryOnNames(*policy)) writer.String(name);
  writer.EndArray();
  writer.Key("per_try_timeout_ms").Uint(policy->per_try_timeout_ms);
  writer.Key("backoff_base_ms").Uint(policy->backoff_base_ms);
  writer.Key("backoff_max_ms").Uint(policy->backoff_max_ms);
  writer.Key("budget_percent").Uint(policy->budget_percent);
  writer.Key("min_retry_concurrency").Uint(policy->min_retry_concurrency);
  writer.Key("replay_body_bytes").Uint(policy->replay_body_bytes);
  writer.EndObject();
}

}  // namespace icaht::registry
