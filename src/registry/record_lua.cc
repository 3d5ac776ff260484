#include "registry/record_lua.h"

#include "core/status_macros.h"
#include "registry/record_plugins.h"

namespace icaht::registry {

absl::Status ParseLua(json::Value& value, const std::string& path,
                      core::Boxed<filters::LuaSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  filters::LuaSpec spec;
  bool has_file = false;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "file") {
          ICAHT_ASSIGN_OR_RETURN(spec.file, ReadAbsolutePath(field, field_path));
          has_file = true;
          return absl::OkStatus();
        }
        if (key == "config") return ReadConfigObject(field, field_path, spec.config_json);
        return json::UnknownFieldError(field_path);
      }));
  if (!has_file) return json::FieldError(json::JoinPath(path, "file"), "required");
  out = std::move(spec);
  return absl::OkStatus();
}

void WriteLua(JsonWriter& writer, const core::Boxed<filters::LuaSpec>& spec) {
  if (!spec) {
    writer.Null();
    return;
  }
  writer.StartObject();
  writer.Key("file").String(spec->file);
  writer.Key("config").RawValue(spec->config_json);
  writer.EndObject();
}

}  // namespace icaht::registry
