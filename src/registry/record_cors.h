#pragma once
// The record's `cors` field (DESIGN.md "Service record"; semantics in
// filters/cors.h):
//
//   "cors": null                      off, as when absent
//   "cors": {"allow_origins": ["https://app.example", "https://*.example.com"],
//            "allow_methods": ["GET", "PUT"], "allow_headers": ["Authorization"],
//            "expose_headers": ["X-Total"], "allow_credentials": true,
//            "max_age_s": 600}        on; every member optional (defaults in CorsSpec)
//
// Validation (each error names the field, "field 'cors.allow_origins[2]': ..."):
// origins "*", "scheme://host[:port]" or "scheme://*.host[:port]" (no path, no
// trailing slash, not "null"); methods tokens (case kept: methods are
// case-sensitive); header names tokens or "*"; no duplicates (headers and
// origins compared case-insensitively); at most 100 entries per list;
// max_age_s 0..86400; unknown members refused. `allow_credentials: true` with
// a "*" origin is accepted: the filter then answers with the request's own
// origin, never "*" (Fetch forbids "*" with credentials). "*" in
// expose_headers with credentials is refused: browsers would read it as a
// header named "*".

#include <string>

#include "absl/status/status.h"
#include "filters/cors.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

// Parses `value` (the field's JSON value, at field path `path`, e.g. "cors"
// or "services[2].cors") into `out`, which is reset first. Consumes `value`
// completely on success.
absl::Status ParseCors(json::Value& value, const std::string& path, filters::CorsSpec& out);

// Writes the canonical form as the writer's next value: null when off, else an
// object with every member, defaults included, in the order above. For every
// parsed spec, ParseCors(WriteCors(spec)) == spec.
void WriteCors(JsonWriter& writer, const filters::CorsSpec& spec);

}  // namespace icaht::registry
