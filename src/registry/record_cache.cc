#include "registry/record_cache.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "registry/record_fields.h"

namespace icaht::registry {
namespace {

using json::FieldError;
using json::JoinPath;
using json::Value;
using simdjson::ondemand::json_type;

constexpr int64_t kMinMaxBytes = int64_t{1} << 20;     // 1 MiB
constexpr int64_t kMaxMaxBytes = int64_t{64} << 30;    // 64 GiB
constexpr int64_t kMaxObjectBytes = int64_t{1} << 30;  // 1 GiB
constexpr int64_t kMaxHeuristicS = 31'536'000;         // a year
constexpr int64_t kMaxCollapseTimeoutMs = 60'000;
constexpr size_t kMaxKeyHeaders = 16;

constexpr std::array<std::string_view, 7> kMembers = {
    "max_bytes",        "max_object_bytes", "heuristic",          "key_headers",
    "key_ignore_query", "status_header",    "collapse_timeout_ms"};

// A header name as the cache compares it: a token, lower-cased.
absl::StatusOr<std::string> ReadHeaderName(Value& value, const std::string& path,
                                           std::string_view must_be) {
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type != json_type::string) return FieldError(path, must_be);
  ICAHT_ASSIGN_OR_RETURN(std::string name, json::ReadString(value, path));
  if (name.empty() || name.size() > kMaxHeaderNameLength || !http::IsToken(name)) {
    return FieldError(path, must_be);
  }
  for (char& c : name) c = http::ToLowerAscii(c);
  return name;
}

// false (off), true (the defaults) or {"percent": .., "max_s": ..}.
absl::Status ParseHeuristic(Value& value, const std::string& path, filters::CacheSpec& spec) {
  constexpr std::string_view kMustBe =
      "must be true, false or an object {\"percent\": 0..100, \"max_s\": 1..31536000}";
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type == json_type::boolean) {
    ICAHT_ASSIGN_OR_RETURN(spec.heuristic, json::ReadBool(value, path));
    return absl::OkStatus();
  }
  if (type != json_type::object) return FieldError(path, kMustBe);
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key != "percent" && key != "max_s") return json::UnknownFieldError(field_path);
    ICAHT_ASSIGN_OR_RETURN(bool absent, json::ConsumeNull(field));
    if (absent) return absl::OkStatus();
    if (key == "percent") {
      ICAHT_ASSIGN_OR_RETURN(int64_t percent, json::ReadInt(field, field_path, 0, 100));
      spec.heuristic_percent = static_cast<uint32_t>(percent);
      return absl::OkStatus();
    }
    ICAHT_ASSIGN_OR_RETURN(spec.heuristic_max_s,
                           json::ReadInt(field, field_path, 1, kMaxHeuristicS));
    return absl::OkStatus();
  });
}

absl::Status ParseKeyHeaders(Value& value, const std::string& path, std::vector<std::string>& out) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    if (index >= kMaxKeyHeaders) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxKeyHeaders));
    }
    std::string entry_path = json::IndexPath(path, index);
    ICAHT_ASSIGN_OR_RETURN(
        std::string name,
        ReadHeaderName(element, entry_path, "must be a header name (1..64 token characters)"));
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == name)
        return FieldError(entry_path, absl::StrFormat("duplicate of entry %d", i));
    }
    out.push_back(std::move(name));
    return absl::OkStatus();
  });
}

// A header name, or false for none.
absl::Status ParseStatusHeader(Value& value, const std::string& path, std::string& out) {
  constexpr std::string_view kMustBe = "must be a header name (1..64 token characters) or false";
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type == json_type::boolean) {
    ICAHT_ASSIGN_OR_RETURN(bool on, json::ReadBool(value, path));
    if (on) return FieldError(path, kMustBe);
    out.clear();
    return absl::OkStatus();
  }
  ICAHT_ASSIGN_OR_RETURN(out, ReadHeaderName(value, path, kMustBe));
  return absl::OkStatus();
}

// One member of kMembers, not null.
absl::Status ParseMember(std::string_view key, Value& field, const std::string& field_path,
                         filters::CacheSpec& spec) {
  if (key == "max_bytes") {
    ICAHT_ASSIGN_OR_RETURN(int64_t bytes,
                           json::ReadInt(field, field_path, kMinMaxBytes, kMaxMaxBytes));
    spec.max_bytes = static_cast<uint64_t>(bytes);
  } else if (key == "max_object_bytes") {
    ICAHT_ASSIGN_OR_RETURN(int64_t bytes, json::ReadInt(field, field_path, 1, kMaxObjectBytes));
    spec.max_object_bytes = static_cast<uint64_t>(bytes);
  } else if (key == "heuristic") {
    return ParseHeuristic(field, field_path, spec);
  } else if (key == "key_headers") {
    return ParseKeyHeaders(field, field_path, spec.key_headers);
  } else if (key == "key_ignore_query") {
    ICAHT_ASSIGN_OR_RETURN(spec.key_ignore_query, json::ReadBool(field, field_path));
  } else if (key == "status_header") {
    return ParseStatusHeader(field, field_path, spec.status_header);
  } else {  // collapse_timeout_ms
    ICAHT_ASSIGN_OR_RETURN(int64_t ms, json::ReadInt(field, field_path, 0, kMaxCollapseTimeoutMs));
    spec.collapse_timeout_ms = static_cast<uint32_t>(ms);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseCache(Value& value, const std::string& path,
                        core::Boxed<filters::CacheSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  filters::CacheSpec spec;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        // An unknown name is refused even when its value is null.
        if (std::find(kMembers.begin(), kMembers.end(), key) == kMembers.end()) {
          return json::UnknownFieldError(field_path);
        }
        ICAHT_ASSIGN_OR_RETURN(bool absent, json::ConsumeNull(field));
        if (absent) return absl::OkStatus();
        return ParseMember(key, field, field_path, spec);
      }));
  // Checked after the walk: the members may come in any order.
  if (spec.max_object_bytes > spec.max_bytes) {
    return FieldError(
        JoinPath(path, "max_object_bytes"),
        absl::StrFormat("must not exceed %s (%d)", JoinPath(path, "max_bytes"), spec.max_bytes));
  }
  out = std::move(spec);
  return absl::OkStatus();
}

void WriteCache(JsonWriter& writer, const core::Boxed<filters::CacheSpec>& spec) {
  if (!spec) {
    writer.Null();
    return;
  }
  writer.StartObject();
  writer.Key("max_bytes").Uint(spec->max_bytes);
  writer.Key("max_object_bytes").Uint(spec->max_object_bytes);
  writer.Key("heuristic");
  if (spec->heuristic) {
    writer.StartObject();
    writer.Key("percent").Uint(spec->heuristic_percent);
    writer.Key("max_s").Int(spec->heuristic_max_s);
    writer.EndObject();
  } else {
    writer.Bool(false);
  }
  writer.Key("key_headers").StartArray();
  for (const std::string& name : spec->key_headers) writer.String(name);
  writer.EndArray();
  writer.Key("key_ignore_query").Bool(spec->key_ignore_query);
  writer.Key("status_header");
  if (spec->status_header.empty()) {
    writer.Bool(false);
  } else {
    writer.String(spec->status_header);
  }
  writer.Key("collapse_timeout_ms").Uint(spec->collapse_timeout_ms);
  writer.EndObject();
}

}  // namespace icaht::registry
