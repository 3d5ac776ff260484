#pragma once
// The record's `cache` field (semantics in filters/cache_spec.h):
//
//   "cache": null   off, as when absent (the service has no cache)
//   "cache": {}     on, every member at its default
//   "cache": {"max_bytes": 16777216, "max_object_bytes": 1048576,
//             "heuristic": {"percent": 10, "max_s": 86400},
//             "key_headers": ["accept-language"], "key_ignore_query": false,
//             "status_header": "x-cache", "collapse_timeout_ms": 5000}
//
// max_bytes is 1048576 (1 MiB) .. 68719476736 (64 GiB); max_object_bytes is
// 1..1073741824 (1 GiB) and at most max_bytes. `heuristic` is false (off),
// true (the defaults) or an object: percent 0..100 (an integer), max_s
// 1..31536000 (a year). key_headers holds up to 16 distinct header names.
// status_header is a header name, or false for none. Header names are tokens
// of 1..64 characters, lower-cased here. collapse_timeout_ms is 0..60000 (0:
// a miss never waits for another request's fetch). Any member may be null,
// meaning its default.
//
// Errors name the field ("field 'cache.max_bytes': must be an integer
// 1048576..68719476736").

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/boxed.h"
#include "filters/cache_spec.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

absl::Status ParseCache(json::Value& value, const std::string& path,
                        core::Boxed<filters::CacheSpec>& out);
// Null when off, else every member spelled out (heuristic as false or an
// object, status_header as false when there is none).
// ParseCache(WriteCache(s)) == s for every s ParseCache produced (an unused
// heuristic's percent and max_s are written as false, so they are read back
// as the defaults ParseCache leaves there).
void WriteCache(JsonWriter& writer, const core::Boxed<filters::CacheSpec>& spec);

}  // namespace icaht::registry
