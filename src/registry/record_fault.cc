#include "registry/record_fault.h"

#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "registry/record_fields.h"

namespace icaht::registry {
namespace {

constexpr int64_t kMaxDelayMs = 3'600'000;

// A percentage: any JSON number 0..100.
absl::Status ReadPercent(json::Value& field, const std::string& path, double& into) {
  constexpr std::string_view kWhat = "a number 0..100";
  ICAHT_ASSIGN_OR_RETURN(double percent, json::ReadNumber(field, path, kWhat));
  if (!(percent >= 0 && percent <= 100)) return json::FieldError(path, "must be a number 0..100");
  into = percent;
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseFault(json::Value& value, const std::string& path,
                        core::Boxed<filters::FaultSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  filters::FaultSpec spec;
  bool has_delay_percent = false;
  bool has_abort_percent = false;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, path, [&](std::string_view key, json::Value& field) -> absl::Status {
        std::string field_path = json::JoinPath(path, key);
        if (key != "delay_ms" && key != "delay_percent" && key != "abort_status" &&
            key != "abort_percent" && key != "header") {
          return json::UnknownFieldError(field_path);
        }
        ICAHT_ASSIGN_OR_RETURN(bool absent, json::ConsumeNull(field));
        if (absent) return absl::OkStatus();
        if (key == "delay_ms") {
          ICAHT_ASSIGN_OR_RETURN(int64_t ms, json::ReadInt(field, field_path, 1, kMaxDelayMs));
          spec.delay_ms = static_cast<uint32_t>(ms);
          return absl::OkStatus();
        }
        if (key == "delay_percent") {
          has_delay_percent = true;
          return ReadPercent(field, field_path, spec.delay_percent);
        }
        if (key == "abort_status") {
          ICAHT_ASSIGN_OR_RETURN(int64_t status, json::ReadInt(field, field_path, 200, 599));
          spec.abort_status = static_cast<uint16_t>(status);
          return absl::OkStatus();
        }
        if (key == "abort_percent") {
          has_abort_percent = true;
          return ReadPercent(field, field_path, spec.abort_percent);
        }
        ICAHT_ASSIGN_OR_RETURN(spec.header, json::ReadString(field, field_path));
        if (spec.header.empty() || spec.header.size() > kMaxHeaderNameLength ||
            !http::IsToken(spec.header)) {
          return json::FieldError(field_path, "must be a header name (1..64 token characters)");
        }
        for (char& c : spec.header) c = http::ToLowerAscii(c);
        return absl::OkStatus();
      }));
  // Each part is a pair: a percentage without its fault (or the reverse) is
  // a half-written record, not a default.
  if (spec.has_delay() != has_delay_percent) {
    return spec.has_delay()
               ? json::FieldError(json::JoinPath(path, "delay_percent"), "required with delay_ms")
               : json::FieldError(json::JoinPath(path, "delay_ms"), "required with delay_percent");
  }
  if (spec.has_abort() != has_abort_percent) {
    return spec.has_abort() ? json::FieldError(json::JoinPath(path, "abort_percent"),
                                               "required with abort_status")
                            : json::FieldError(json::JoinPath(path, "abort_status"),
                                               "required with abort_percent");
  }
  if (!spec.has_delay() && !spec.has_abort()) {
    return json::FieldError(path,
                            "must configure a delay (delay_ms, delay_percent) or an abort "
                            "(abort_status, abort_percent); null turns faults off");
  }
  out = std::move(spec);
  return absl::OkStatus();
}

void WriteFault(JsonWriter& writer, const core::Boxed<filters::FaultSpec>& spec) {
  if (!spec) {
    writer.Null();
    return;
  }
  writer.StartObject();
  if (spec->has_delay()) {
    writer.Key("delay_ms").Uint(spec->delay_ms);
    writer.Key("delay_percent").Double(spec->delay_percent);
  } else {
    writer.Key("delay_ms").Null();
    writer.Key("delay_percent").Null();
  }
  if (spec->has_abort()) {
    writer.Key("abort_status").Uint(spec->abort_status);
    writer.Key("abort_percent").Double(spec->abort_percent);
  } else {
    writer.Key("abort_status").Null();
    writer.Key("abort_percent").Null();
  }
  if (spec->header.empty()) {
    writer.Key("header").Null();
  } else {
    writer.Key("header").String(spec->header);
  }
  writer.EndObject();
}

}  // namespace icaht::registry
