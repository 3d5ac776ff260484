#include "registry/record_tracing.h"

#include <vector>

#include "core/status_macros.h"

namespace icaht::registry {

absl::Status ParseTracing(json::Value& value, const std::string& path,
                          std::optional<tracing::TracingSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  tracing::TracingSpec spec;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key == "sample_ratio") {
          constexpr std::string_view kWhat = "a number 0..1";
          ICAHT_ASSIGN_OR_RETURN(double ratio, json::ReadNumber(field, field_path, kWhat));
          if (!(ratio >= 0 && ratio <= 1)) {
            return json::FieldError(field_path, "must be a number 0..1");
          }
          spec.sample_ratio = ratio;
          return absl::OkStatus();
        }
        if (key == "propagation") {
          std::vector<std::string> names;
          ICAHT_RETURN_IF_ERROR(json::ForEachElement(
              field, field_path, [&](size_t i, json::Value& element) -> absl::Status {
                ICAHT_ASSIGN_OR_RETURN(std::string name,
                                       json::ReadString(element, json::IndexPath(field_path, i)));
                names.push_back(std::move(name));
                return absl::OkStatus();
              }));
          auto propagation = tracing::ParsePropagation(names);
          if (!propagation.ok()) {
            return json::FieldError(field_path, std::string(propagation.status().message()));
          }
          spec.propagation = *propagation;
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  out = spec;
  return absl::OkStatus();
}

void WriteTracing(JsonWriter& writer, const std::optional<tracing::TracingSpec>& spec) {
  if (!spec) {
    writer.Null();
    return;
  }
  writer.StartObject();
  writer.Key("sample_ratio").Double(spec->sample_ratio);
  writer.Key("propagation").StartArray();
  if (spec->propagation.w3c) writer.String("w3c");
  if (spec->propagation.b3) writer.String("b3");
  if (spec->propagation.b3_multi) writer.String("b3multi");
  writer.EndArray();
  writer.EndObject();
}

}  // namespace icaht::registry
