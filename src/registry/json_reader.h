#pragma once
// Strict JSON reading on top of simdjson On Demand, in its error-code style
// (no exceptions). Shared by the service record and the daemon config file so
// that both answer bad input the same way: every error names the field path
// ("field 'upstreams[1].weight': must be an integer 1..1000") or, for broken
// JSON, the byte where it broke.
//
// Control-plane only. Values are consumed once, in document order (On Demand
// is a forward-only cursor), so callers must read every value they are handed.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "simdjson.h"

namespace icaht::registry::json {

using Value = simdjson::ondemand::value;

// InvalidArgument("field '<path>': <problem>").
absl::Status FieldError(std::string_view path, std::string_view problem);
// InvalidArgument("unknown field '<path>'").
absl::Status UnknownFieldError(std::string_view path);

// InvalidArgument("invalid JSON: <description of code>"), marked so that
// ParseObjectDocument can add the byte offset where parsing stopped.
absl::Status SyntaxError(simdjson::error_code code);
bool IsSyntaxError(const absl::Status& status);

// The JSON type of `value` ("invalid JSON" if it cannot even be told).
absl::StatusOr<simdjson::ondemand::json_type> TypeOf(Value& value);
// "an object", "a string", ... for messages.
std::string_view TypeName(simdjson::ondemand::json_type type);

// Each reader checks the JSON type and the range; on mismatch it returns
// FieldError(path, "must be <what>").
absl::StatusOr<std::string> ReadString(Value& value, std::string_view path);
// An object's JSON text as written (whitespace inside it included), checked
// as JSON: what a plugin or a script gets as its config.
absl::StatusOr<std::string> ReadRawObject(Value& value, std::string_view path);
absl::StatusOr<int64_t> ReadInt(Value& value, std::string_view path, int64_t lo, int64_t hi);
absl::StatusOr<uint64_t> ReadUint64(Value& value, std::string_view path);
// Any finite JSON number (with or without a fraction). The caller checks the
// range; `must_be` ("a number > 0") words the type error the same way.
absl::StatusOr<double> ReadNumber(Value& value, std::string_view path, std::string_view must_be);
absl::StatusOr<bool> ReadBool(Value& value, std::string_view path);
// True (and the value consumed) when `value` is null.
absl::StatusOr<bool> ConsumeNull(Value& value);

// Calls `fn` for each field of the object `value` in order and stops at the
// first error. A key that appears twice is refused
// (FieldError(<object path>.<key>, "duplicate key")) before `fn` sees it.
// `path` names the object itself ("" for the document root, "services[2]").
using FieldFn = absl::FunctionRef<absl::Status(std::string_view key, Value& value)>;
absl::Status ForEachField(Value& value, std::string_view path, FieldFn fn);

// Calls `fn(index, element)` for each element of the array `value`.
using ElementFn = absl::FunctionRef<absl::Status(size_t index, Value& element)>;
absl::Status ForEachElement(Value& value, std::string_view path, ElementFn fn);

// "<path>.<key>", or "<key>" at the root.
std::string JoinPath(std::string_view path, std::string_view key);
// "<path>[<index>]".
std::string IndexPath(std::string_view path, size_t index);

// Parses `text` as exactly one JSON object and hands its root to `fn`, which
// must consume it completely. Refuses anything else at the top level and any
// content after the object. Syntax errors (whether simdjson reports them here
// or inside `fn`) come back as "invalid JSON at byte N (line L, column C):
// <what>" when the position is known, else "invalid JSON: <what>"; byte N is
// a 0-based offset into `text`.
absl::Status ParseObjectDocument(std::string_view text, absl::FunctionRef<absl::Status(Value&)> fn);

}  // namespace icaht::registry::json
