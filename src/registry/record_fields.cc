#include "registry/record_fields.h"

#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"

namespace icaht::registry {

using json::FieldError;
using json::Value;

absl::Status ReadText(Value& value, const std::string& path, std::string& out, bool allow_empty) {
  ICAHT_ASSIGN_OR_RETURN(out, json::ReadString(value, path));
  if ((!allow_empty && out.empty()) || out.size() > kMaxText) {
    return FieldError(path, absl::StrFormat("must be a string of %d..%d characters",
                                            allow_empty ? 0 : 1, kMaxText));
  }
  return absl::OkStatus();
}

absl::Status ReadHeaderName(Value& value, const std::string& path, std::string& out) {
  ICAHT_ASSIGN_OR_RETURN(out, json::ReadString(value, path));
  if (out.empty() || out.size() > 64 || !http::IsToken(out)) {
    return FieldError(path, "must be a header name (1..64 token characters)");
  }
  return absl::OkStatus();
}

absl::Status ReadList(
    Value& value, const std::string& path, std::vector<std::string>& out,
    absl::FunctionRef<absl::Status(Value&, const std::string&, std::string&)> read,
    size_t max_entries) {
  out.clear();
  return json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
    if (index >= max_entries) {
      return FieldError(path, absl::StrFormat("must have at most %d entries", max_entries));
    }
    std::string item;
    ICAHT_RETURN_IF_ERROR(read(element, json::IndexPath(path, index), item));
    out.push_back(std::move(item));
    return absl::OkStatus();
  });
}

absl::Status ReadTextList(Value& value, const std::string& path, std::vector<std::string>& out,
                          size_t max_entries) {
  return ReadList(
      value, path, out,
      [](Value& v, const std::string& p, std::string& s) { return ReadText(v, p, s); },
      max_entries);
}

}  // namespace icaht::registry
