#pragma once
// Traffic splitting (issue 19): instance labels, the record's `subsets` and
// `routes` (the data in filters/route_spec.h, the matching in
// proxy/route_table.h).
//
//   "upstreams": [{"address": "10.0.0.1:8080", "weight": 1, "labels": {"version": "v2"}}]
//              labels: at most 16; keys 1..63 of [A-Za-z0-9._/-], values
//              0..63 of [A-Za-z0-9._-]
//   "subsets": [{"name": "v2", "labels": {"version": "v2"}}]
//              at most 32; a name as a service's (1..63 of [a-z0-9._-]),
//              unique; the instances whose labels include all of `labels`
//              (at least one must)
//   "routes": [{"name": "canary",
//               "match": {"path_prefix": "/api" | "path_exact": "/a" | "path_regex": "/u/[0-9]+",
//                         "methods": ["GET", "HEAD"],
//                         "headers": [{"name": "x-canary", "exact": "1" | "prefix": "a" |
//                                      "regex": "b.*" | "present": true|false}],
//                         "query": [{"name": "debug", "exact": "1" | "regex": ".." |
//                                    "present": true|false}]},
//               "to": {"subset": "v2"} | [{"subset": "v1", "weight": 90}, ...],
//               "direct_response": {"status": 503, "body": "..."},   instead of "to"
//               "rewrite": {"path_prefix": "/v2/api"},   with match.path_prefix only
//               "timeouts": {"connect_ms", "request_ms", "total_ms", "trust_header"},
//                                          as the record's; absent members: the record's
//               "retries": {...}}]         as the record's; null or absent: the record's
//              at most 64, in order (the first whose match holds wins); `name`
//              optional (as a service's, for logs); every
//              member of `match` optional (none: every request); regexes are
//              RE2 (linear time), matching the whole path or value; weights
//              0..1000000 (default 1), summing to more than 0.
//
// ToJson writes `labels`, `subsets` and `routes` only when non-empty, `to`
// always as a list, and of a route only the members that are set, so the
// canonical form of a record without them is unchanged.
//
// Errors name the field ("field 'routes[1].to[0].subset': no subset named 'v3'").

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "filters/route_spec.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"
#include "registry/service_record.h"

namespace icaht::registry {

absl::Status ParseLabels(json::Value& value, const std::string& path, filters::Labels& out);
void WriteLabels(JsonWriter& writer, const filters::Labels& labels);

absl::Status ParseSubsets(json::Value& value, const std::string& path,
                          std::vector<filters::SubsetSpec>& out);
void WriteSubsets(JsonWriter& writer, const std::vector<filters::SubsetSpec>& subsets);

// Each route on its own; the names of subsets are checked by CheckRoutes.
absl::Status ParseRoutes(json::Value& value, const std::string& path,
                         std::vector<filters::RouteSpec>& out);
void WriteRoutes(JsonWriter& writer, const std::vector<filters::RouteSpec>& routes);

// What needs the whole record: every subset selects at least one upstream,
// every route's `to` names subsets that exist. `object_path` names the record
// ("" at the document root).
absl::Status CheckRoutes(const ServiceRecord& record, std::string_view object_path);

}  // namespace icaht::registry
