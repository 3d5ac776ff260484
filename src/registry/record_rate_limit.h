#pragma once
// `rate_limit` of the service record: one limit object, or an array of up to
// filters::kMaxRateLimits of them (a request must pass them all):
//   {"requests_per_second": 100, "burst": 200, "key": "client_ip",
//    "enforce": true, "headers": true, "max_keys": 100000, "name": "default"}
//   requests_per_second  required; a number > 0 and at most 1e7 (0.5: one request per 2 s)
//   burst                an integer 1..1e9; default max(1, ceil(requests_per_second))
//   key                  "service" (default), "client_ip", "header:<name>", "claim:<name>"
//   enforce              default true; false = shadow mode (count, do not refuse)
//   headers              default true; RateLimit-Policy / RateLimit on responses
//   max_keys             an integer 1..1e7 (keys held per shard); default 100000
//   name                 1..64 of [A-Za-z0-9._-], unique in the record; default "default"
// null or [] means no limit. Control-plane code (see json_reader.h).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "filters/rate_limit/rate_limit_spec.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

// Parses the value of the field at `path` ("rate_limit") into `out`
// (replacing its contents). Errors name the field:
//   "field 'rate_limit[1].requests_per_second': must be a number > 0 and at most 10000000"
absl::Status ParseRateLimits(json::Value& value, const std::string& path,
                             std::vector<filters::RateLimitSpec>& out);

// Writes the canonical form as the next value of `writer`: always an array,
// every field spelled out, so that parsing it gives `limits` back.
void WriteRateLimits(JsonWriter& writer, const std::vector<filters::RateLimitSpec>& limits);

// The `key` text of a limit ("service", "client_ip", "header:X-Api-Key", ...).
std::string RateLimitKeyText(const filters::RateLimitSpec& spec);

}  // namespace icaht::registry
