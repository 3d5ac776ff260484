#include "registry/record_plugins.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace icaht::registry {
namespace {

constexpr size_t kMaxPathLength = 4096;

absl::Status ParsePlugin(json::Value& value, const std::string& path, filters::PluginSpec& out) {
  bool has_path = false;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "path") {
          ICAHT_ASSIGN_OR_RETURN(out.path, ReadAbsolutePath(field, field_path));
          has_path = true;
          return absl::OkStatus();
        }
        if (key == "config") return ReadConfigObject(field, field_path, out.config_json);
        return json::UnknownFieldError(field_path);
      }));
  if (!has_path) return json::FieldError(json::JoinPath(path, "path"), "required");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadAbsolutePath(json::Value& value, const std::string& path) {
  ICAHT_ASSIGN_OR_RETURN(std::string text, json::ReadString(value, path));
  if (text.empty() || text.front() != '/' || text.size() > kMaxPathLength ||
      text.find('\0') != std::string::npos) {
    return json::FieldError(path, "must be an absolute path");
  }
  return text;
}

absl::Status ReadConfigObject(json::Value& value, const std::string& path, std::string& out) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) {
    out = "{}";
    return absl::OkStatus();
  }
  ICAHT_ASSIGN_OR_RETURN(out, json::ReadRawObject(value, path));
  return absl::OkStatus();
}

absl::Status ParsePlugins(json::Value& value, const std::string& path,
                          std::vector<filters::PluginSpec>& out) {
  out.clear();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  return json::ForEachElement(value, path, [&](size_t index, json::Value& element) {
    if (index >= kMaxPlugins) {
      return json::FieldError(path, absl::StrFormat("must have at most %d entries", kMaxPlugins));
    }
    out.emplace_back();
    return ParsePlugin(element, json::IndexPath(path, index), out.back());
  });
}

void WritePlugins(JsonWriter& writer, const std::vector<filters::PluginSpec>& specs) {
  writer.StartArray();
  for (const filters::PluginSpec& spec : specs) {
    writer.StartObject();
    writer.Key("path").String(spec.path);
    writer.Key("config").RawValue(spec.config_json);
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace icaht::registry
