#include "registry/record_mirror.h"

#include "core/status_macros.h"

namespace icaht::registry {

absl::Status ParseMirror(json::Value& value, const std::string& path,
                         core::Boxed<MirrorSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  MirrorSpec spec;
  bool has_upstream = false;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "upstream") {
          ICAHT_ASSIGN_OR_RETURN(spec.upstream, json::ReadString(field, field_path));
          // The same rules as an upstreams[] address.
          absl::StatusOr<net::Address> resolved = net::Address::Parse(spec.upstream);
          if (!resolved.ok()) {
            return json::FieldError(field_path, std::string(resolved.status().message()));
          }
          spec.resolved = *resolved;
          has_upstream = true;
          return absl::OkStatus();
        }
        if (key == "percent") {
          constexpr std::string_view kWhat = "a number 0..100";
          ICAHT_ASSIGN_OR_RETURN(double percent, json::ReadNumber(field, field_path, kWhat));
          if (!(percent >= 0 && percent <= 100)) {
            return json::FieldError(field_path, "must be a number 0..100");
          }
          spec.percent = percent + 0.0;  // -0 reads as 0
          return absl::OkStatus();
        }
        if (key == "max_body_bytes") {
          ICAHT_ASSIGN_OR_RETURN(int64_t n,
                                 json::ReadInt(field, field_path, 0, kMaxMirrorBodyBytes));
          spec.max_body_bytes = static_cast<uint32_t>(n);
          return absl::OkStatus();
        }
        if (key == "timeout_ms") {
          ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, field_path, 1, 60'000));
          spec.timeout_ms = static_cast<uint32_t>(n);
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  if (!has_upstream) return json::FieldError(json::JoinPath(path, "upstream"), "required");
  out = std::move(spec);
  return absl::OkStatus();
}

void WriteMirror(JsonWriter& writer, const core::Boxed<MirrorSpec>& mirror) {
  if (!mirror) {
    writer.Null();
    return;
  }
  writer.StartObject();
  writer.Key("upstream").String(mirror->upstream);
  writer.Key("percent").Double(mirror->percent);
  writer.Key("max_body_bytes").Uint(mirror->max_body_bytes);
  writer.Key("timeout_ms").Uint(mirror->timeout_ms);
  writer.EndObject();
}

}  // namespace icaht::registry
