#include "registry/record_upstream_policy.h"

#include "core/status_macros.h"

namespace icaht::registry {
namespace {

constexpr int64_t kMaxLimit = 1'000'000;

absl::Status ReadLimit(json::Value& field, const std::string& path, int64_t lo, uint32_t& into) {
  ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, path, lo, kMaxLimit));
  into = static_cast<uint32_t>(n);
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

}  // namespace icaht::registry
