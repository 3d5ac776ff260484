#pragma once
// Readers for fields several parts of the record share: bounded text, header
// names, lists of them. Each names the field in its errors.

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "registry/json_reader.h"

namespace icaht::registry {

inline constexpr size_t kMaxListEntries = 64;
inline constexpr size_t kMaxText = 1024;
// A header name a record may configure (CORS, cache keys, faults, rate limits, ...).
inline constexpr size_t kMaxHeaderNameLength = 64;

// A string of 1..kMaxText characters (0.. with allow_empty).
absl::Status ReadText(json::Value& value, const std::string& path, std::string& out,
                      bool allow_empty = false);
// A header name: 1..64 token characters, as written.
absl::Status ReadHeaderName(json::Value& value, const std::string& path, std::string& out);
// A list of at most `max_entries` strings, each read by `read` (which names the element path).
absl::Status ReadList(
    json::Value& value, const std::string& path, std::vector<std::string>& out,
    absl::FunctionRef<absl::Status(json::Value&, const std::string&, std::string&)> read,
    size_t max_entries = kMaxListEntries);
// A list of texts (ReadText each).
absl::Status ReadTextList(json::Value& value, const std::string& path,
                          std::vector<std::string>& out, size_t max_entries = kMaxListEntries);

}  // namespace icaht::registry
