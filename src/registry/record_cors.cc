#include "registry/record_cors.h"

#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "registry/record_fields.h"

namespace icaht::registry {
namespace {

using json::FieldError;
using json::JoinPath;
using json::Value;

constexpr size_t kMaxEntries = 100;
constexpr size_t kMaxOriginLength = 256;
constexpr size_t kMaxMethodLength = 32;
constexpr int64_t kMaxAgeLimit = 86400;

// The problem with one list entry, or "" when it is fine.
using EntryCheck = absl::FunctionRef<std::string_view(std::string_view entry)>;

// A list of strings, each checked, duplicates refused.
absl::Status ParseList(Value& value, const std::string& path, EntryCheck check,
                       bool case_insensitive, std::vector<std::string>& out) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    std::string entry_path = json::IndexPath(path, index);
    if (index >= kMaxEntries) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxEntries));
    }
    ICAHT_ASSIGN_OR_RETURN(std::string entry, json::ReadString(element, entry_path));
    std::string_view problem = check(entry);
    if (!problem.empty()) return FieldError(entry_path, problem);
    for (size_t i = 0; i < out.size(); ++i) {
      bool same = case_insensitive ? http::EqualsIgnoreCase(out[i], entry) : out[i] == entry;
      if (same) return FieldError(entry_path, absl::StrFormat("duplicate of entry %d", i));
    }
    out.push_back(std::move(entry));
    return absl::OkStatus();
  });
}

std::string_view CheckOrigin(std::string_view entry) {
  if (entry.size() > kMaxOriginLength || !filters::IsValidOriginPattern(entry)) {
    return "must be \"*\", an origin \"scheme://host[:port]\" or a subdomain pattern "
           "\"scheme://*.host[:port]\" (no path, no trailing slash)";
  }
  return "";
}

std::string_view CheckMethod(std::string_view entry) {
  if (entry.size() > kMaxMethodLength || !http::IsToken(entry)) {
    return "must be a method name (1..32 token characters) or \"*\"";
  }
  return "";
}

std::string_view CheckHeader(std::string_view entry) {
  if (entry.size() > kMaxHeaderNameLength || !http::IsToken(entry)) {
    return "must be a header name (1..64 token characters) or \"*\"";
  }
  return "";
}

}  // namespace

absl::Status ParseCors(Value& value, const std::string& path, filters::CorsSpec& out) {
  out = filters::CorsSpec{};
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();  // off, as when absent
  out.enabled = true;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string field_path = JoinPath(path, key);
        if (key == "allow_origins") {
          return ParseList(field, field_path, CheckOrigin, true, out.allow_origins);
        }
        if (key == "allow_methods") {
          return ParseList(field, field_path, CheckMethod, false, out.allow_methods);
        }
        if (key == "allow_headers") {
          return ParseList(field, field_path, CheckHeader, true, out.allow_headers);
        }
        if (key == "expose_headers") {
          return ParseList(field, field_path, CheckHeader, true, out.expose_headers);
        }
        if (key == "allow_credentials") {
          ICAHT_ASSIGN_OR_RETURN(out.allow_credentials, json::ReadBool(field, field_path));
          return absl::OkStatus();
        }
        if (key == "max_age_s") {
          ICAHT_ASSIGN_OR_RETURN(int64_t max_age,
                                 json::ReadInt(field, field_path, 0, kMaxAgeLimit));
          out.max_age_s = static_cast<uint32_t>(max_age);
          return absl::OkStatus();
        }
        return json::UnknownFieldError(field_path);
      }));
  // Checked once every member is known (they may come in any order).
  if (out.allow_credentials) {
    for (size_t i = 0; i < out.expose_headers.size(); ++i) {
      if (out.expose_headers[i] == "*") {
        return FieldError(json::IndexPath(JoinPath(path, "expose_headers"), i),
                          "\"*\" names a header called \"*\" when allow_credentials is true "
                          "(Fetch); list the headers to expose");
      }
    }
  }
  return absl::OkStatus();
}

void WriteCors(JsonWriter& w, const filters::CorsSpec& spec) {
  if (!spec.enabled) {
    w.Null();
    return;
  }
  auto list = [&w](std::string_view key, const std::vector<std::string>& items) {
    w.Key(key).StartArray();
    for (const std::string& item : items) w.String(item);
    w.EndArray();
  };
  w.StartObject();
  list("allow_origins", spec.allow_origins);
  list("allow_methods", spec.allow_methods);
  list("allow_headers", spec.allow_headers);
  list("expose_headers", spec.expose_headers);
  w.Key("allow_credentials").Bool(spec.allow_credentials);
  w.Key("max_age_s").Uint(spec.max_age_s);
  w.EndObject();
}

}  // namespace icaht::registry
