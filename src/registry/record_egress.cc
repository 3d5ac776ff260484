#include "registry/record_egress.h"

#include "core/status_macros.h"
#include "registry/record_retries.h"

namespace icaht::registry {
namespace {

absl::Status ParseEgressTimeouts(json::Value& value, const std::string& path, EgressSpec& out) {
  return json::ForEachField(value, path, [&](std::string_view key, json::Value& field) {
    std::string field_path = json::JoinPath(path, key);
    uint32_t* target = nullptr;
    int64_t max = 3'600'000;  // as the record's timeouts
    if (key == "connect_ms") {
      target = &out.connect_ms;
      max = 600'000;
    } else if (key == "request_ms") {
      target = &out.request_ms;
    } else if (key == "total_ms") {
      target = &out.total_ms;
    } else {
      return json::UnknownFieldError(field_path);
    }
    ICAHT_ASSIGN_OR_RETURN(int64_t ms, json::ReadInt(field, field_path, 0, max));
    *target = static_cast<uint32_t>(ms);
    return absl::OkStatus();
  });
}

}  // namespace

absl::Status ParseEgress(json::Value& value, const std::string& path, EgressSpec& out) {
  out = EgressSpec{};
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  return json::ForEachField(value, path, [&](std::string_view key, json::Value& field) {
    std::string field_path = json::JoinPath(path, key);
    if (key == "via_ingress") {
      ICAHT_ASSIGN_OR_RETURN(out.via_ingress, json::ReadBool(field, field_path));
      return absl::OkStatus();
    }
    if (key == "retries") return ParseRetries(field, field_path, out.retries);
    if (key == "timeouts") return ParseEgressTimeouts(field, field_path, out);
    return json::UnknownFieldError(field_path);
  });
}

void WriteEgress(JsonWriter& writer, const EgressSpec& egress) {
  writer.StartObject();
  writer.Key("via_ingress").Bool(egress.via_ingress);
  writer.Key("retries");
  WriteRetries(writer, egress.retries);
  writer.Key("timeouts").StartObject();
  writer.Key("connect_ms").Uint(egress.connect_ms);
  writer.Key("request_ms").Uint(egress.request_ms);
  writer.Key("total_ms").Uint(egress.total_ms);
  writer.EndObject();
  writer.EndObject();
}

absl::StatusOr<EgressSpec> ParseEgressText(std::string_view json, const std::string& path) {
  EgressSpec spec;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(
      json, [&](json::Value& value) { return ParseEgress(value, path, spec); }));
  return spec;
}

}  // namespace icaht::registry
