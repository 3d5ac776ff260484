#include "registry/json_reader.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"

namespace icaht::registry::json {
namespace {

using simdjson::error_code;
using simdjson::ondemand::json_type;

// Status payload that marks a syntax error (see SyntaxError).
constexpr char kSyntaxPayload[] = "icaht.registry/json-syntax-error";

std::string_view Describe(error_code code) {
  switch (code) {
    case simdjson::TAPE_ERROR:
      return "unexpected character, or a missing comma, colon, bracket or brace";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "unclosed array or object";
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::STRING_ERROR:
      return "bad escape sequence in a string";
    case simdjson::UNESCAPED_CHARS:
      return "unescaped control character in a string";
    case simdjson::UTF8_ERROR:
      return "the text is not valid UTF-8";
    case simdjson::NUMBER_ERROR:
      return "malformed number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "malformed literal (expected true, false or null)";
    case simdjson::EMPTY:
      return "the document is empty";
    case simdjson::DEPTH_ERROR:
      return "nested too deeply";
    case simdjson::CAPACITY:
      return "the document is too large";
    default:
      return simdjson::error_message(code);
  }
}

// The line and column (both 1-based) of byte `offset` in `text`.
std::pair<size_t, size_t> LineColumn(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  std::string_view before = text.substr(0, offset);
  size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  size_t last_newline = before.rfind('\n');
  size_t column = last_newline == std::string_view::npos ? offset + 1 : offset - last_newline;
  return {line, column};
}

absl::Status SyntaxErrorAt(std::string_view text, size_t offset, std::string_view what) {
  auto [line, column] = LineColumn(text, offset);
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid JSON at byte %d (line %d, column %d): %s", offset, line, column, what));
}

// Maps a failed typed read: errors that mean "the text is broken" become
// syntax errors, everything else (wrong type, out of range) is the field's.
absl::Status ReadError(error_code code, std::string_view path, std::string_view must_be) {
  switch (code) {
    case simdjson::INCORRECT_TYPE:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return FieldError(path, absl::StrFormat("must be %s", must_be));
    default:
      return SyntaxError(code);
  }
}

}  // namespace

absl::Status FieldError(std::string_view path, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrFormat("field '%s': %s", path, problem));
}

absl::Status UnknownFieldError(std::string_view path) {
  return absl::InvalidArgumentError(absl::StrFormat("unknown field '%s'", path));
}

absl::Status SyntaxError(error_code code) {
  std::string what(Describe(code));
  absl::Status status = absl::InvalidArgumentError(absl::StrFormat("invalid JSON: %s", what));
  status.SetPayload(kSyntaxPayload, absl::Cord(what));
  return status;
}

bool IsSyntaxError(const absl::Status& status) {
  return status.GetPayload(kSyntaxPayload).has_value();
}

absl::StatusOr<json_type> TypeOf(Value& value) {
  json_type type;
  if (error_code err = value.type().get(type)) return SyntaxError(err);
  return type;
}

std::string_view TypeName(json_type type) {
  switch (type) {
    case json_type::array:
      return "an array";
    case json_type::object:
      return "an object";
    case json_type::number:
      return "a number";
    case json_type::string:
      return "a string";
    case json_type::boolean:
      return "a boolean";
    case json_type::null:
      return "null";
  }
  return "a value of unknown type";
}

absl::StatusOr<std::string> ReadString(Value& value, std::string_view path) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::string) return FieldError(path, "must be a string");
  std::string_view text;
  if (error_code err = value.get_string().get(text)) return ReadError(err, path, "a string");
  return std::string(text);
}

absl::StatusOr<std::string> ReadRawObject(Value& value, std::string_view path) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::object) return FieldError(path, "must be an object");
  simdjson::ondemand::object object;
  std::string_view raw;
  if (error_code err = value.get_object().get(object)) return ReadError(err, path, "an object");
  if (error_code err = object.raw_json().get(raw)) return SyntaxError(err);
  return std::string(raw);
}

absl::StatusOr<int64_t> ReadInt(Value& value, std::string_view path, int64_t lo, int64_t hi) {
  std::string must_be = absl::StrFormat("an integer %d..%d", lo, hi);
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::number) return FieldError(path, absl::StrFormat("must be %s", must_be));
  int64_t number = 0;
  if (error_code err = value.get_int64().get(number)) return ReadError(err, path, must_be);
  if (number < lo || number > hi) return FieldError(path, absl::StrFormat("must be %s", must_be));
  return number;
}

absl::StatusOr<uint64_t> ReadUint64(Value& value, std::string_view path) {
  constexpr std::string_view kMustBe = "a non-negative integer";
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::number) return FieldError(path, absl::StrFormat("must be %s", kMustBe));
  uint64_t number = 0;
  if (error_code err = value.get_uint64().get(number)) return ReadError(err, path, kMustBe);
  return number;
}

absl::StatusOr<double> ReadNumber(Value& value, std::string_view path, std::string_view must_be) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::number) return FieldError(path, absl::StrFormat("must be %s", must_be));
  double number = 0;
  if (error_code err = value.get_double().get(number)) return ReadError(err, path, must_be);
  if (!std::isfinite(number)) return FieldError(path, absl::StrFormat("must be %s", must_be));
  return number;
}

absl::StatusOr<bool> ConsumeNull(Value& value) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::null) return false;
  bool is_null = false;
  if (error_code err = value.is_null().get(is_null); err || !is_null) {
    return SyntaxError(simdjson::N_ATOM_ERROR);
  }
  return true;
}

absl::StatusOr<bool> ReadBool(Value& value, std::string_view path) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::boolean) return FieldError(path, "must be true or false");
  bool flag = false;
  // The type was announced by the first character, so a failure here is a
  // broken literal such as "tru".
  if (error_code err = value.get_bool().get(flag)) {
    return SyntaxError(err == simdjson::INCORRECT_TYPE ? simdjson::T_ATOM_ERROR : err);
  }
  return flag;
}

absl::Status ForEachField(Value& value, std::string_view path, FieldFn fn) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::object) return FieldError(path, "must be an object");
  simdjson::ondemand::object object;
  if (error_code err = value.get_object().get(object)) return SyntaxError(err);
  // Known-key objects are small and an unknown key ends the walk, so a linear
  // scan is enough.
  std::vector<std::string> seen;
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if (error_code err = std::move(field_result).get(field)) return SyntaxError(err);
    std::string_view key_view;
    if (error_code err = field.unescaped_key().get(key_view)) return SyntaxError(err);
    std::string key(key_view);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return FieldError(JoinPath(path, key), "duplicate key");
    }
    seen.push_back(key);
    absl::Status status = fn(key, field.value());
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ForEachElement(Value& value, std::string_view path, ElementFn fn) {
  absl::StatusOr<json_type> type = TypeOf(value);
  if (!type.ok()) return type.status();
  if (*type != json_type::array) return FieldError(path, "must be an array");
  simdjson::ondemand::array array;
  if (error_code err = value.get_array().get(array)) return SyntaxError(err);
  size_t index = 0;
  for (auto element_result : array) {
    Value element;
    if (error_code err = std::move(element_result).get(element)) return SyntaxError(err);
    absl::Status status = fn(index++, element);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

std::string JoinPath(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : absl::StrFormat("%s.%s", path, key);
}

std::string IndexPath(std::string_view path, size_t index) {
  return absl::StrFormat("%s[%d]", path, index);
}

absl::Status ParseObjectDocument(std::string_view text,
                                 absl::FunctionRef<absl::Status(Value&)> fn) {
  simdjson::padded_string padded(text);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  // Errors found while indexing the whole text (unterminated strings, bad
  // UTF-8) carry no position.
  if (error_code err = parser.iterate(padded).get(doc)) return SyntaxError(err);

  // Where the cursor stopped, as a byte offset, if simdjson can tell.
  auto position = [&]() -> std::optional<size_t> {
    const char* location = nullptr;
    if (doc.current_location().get(location) != simdjson::SUCCESS) return std::nullopt;
    return static_cast<size_t>(location - padded.data());
  };

  json_type root_type;
  if (error_code err = doc.type().get(root_type)) {
    std::optional<size_t> at = position();
    return at ? SyntaxErrorAt(text, *at, Describe(err)) : SyntaxError(err);
  }
  if (root_type != json_type::object) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the document must be a JSON object, got %s", TypeName(root_type)));
  }
  Value root;
  if (error_code err = doc.get_value().get(root)) return SyntaxError(err);

  absl::Status status = fn(root);
  if (IsSyntaxError(status)) {
    std::optional<size_t> at = position();
    if (!at) return status;
    absl::optional<absl::Cord> what = status.GetPayload(kSyntaxPayload);
    return SyntaxErrorAt(text, *at, what ? std::string(*what) : std::string(status.message()));
  }
  if (!status.ok()) return status;
  // current_location() fails with OUT_OF_BOUNDS exactly when the whole text
  // was consumed; anything else is content after the object.
  if (std::optional<size_t> at = position()) {
    return SyntaxErrorAt(text, *at, "unexpected content after the object");
  }
  return absl::OkStatus();
}

}  // namespace icaht::registry::json
