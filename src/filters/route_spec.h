#pragma once
// Traffic splitting (issue 19): the record's `subsets` and `routes`, and the
// labels an instance carries. Plain data, validated by the registry
// (registry/record_routes.h), compiled for the data path by the proxy
// (proxy/route_table.h). Kept here, below both, so that the proxy core does
// not depend on the registry.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "filters/retry_policy.h"

namespace icaht::filters {

// An instance's labels ({"version": "v2"}). Sorted, so that the canonical JSON
// form is deterministic.
using Labels = std::map<std::string, std::string>;

// A named label selector: the instances whose labels include every one of
// `labels` (an empty selector selects every instance).
struct SubsetSpec {
  std::string name;
  Labels labels;
  friend bool operator==(const SubsetSpec&, const SubsetSpec&) = default;
};

// Whether an instance with `labels` belongs to a subset with `selector`.
inline bool SelectorMatches(const Labels& selector, const Labels& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

// One condition on a header or a query parameter.
struct FieldMatchSpec {
  enum class Kind : uint8_t {
    kExact,    // the value equals `value`
    kPrefix,   // the value starts with `value` (headers only)
    kRegex,    // RE2 `value` matches the whole value
    kPresent,  // the field is there, any value
    kAbsent,   // the field is not there ("present": false)
  };
  // Headers: lower-cased (names are case-insensitive). Query parameters: as
  // written (they are case-sensitive), matched against the raw, undecoded
  // parameter name and value.
  std::string name;
  Kind kind = Kind::kPresent;
  std::string value;  // kExact, kPrefix, kRegex
  friend bool operator==(const FieldMatchSpec&, const FieldMatchSpec&) = default;
};

struct RouteMatchSpec {
  enum class PathKind : uint8_t { kAny, kPrefix, kExact, kRegex };
  PathKind path_kind = PathKind::kAny;
  std::string path;                     // kPrefix, kExact: the text; kRegex: an RE2 pattern
  std::vector<std::string> methods;     // empty: any method; else one of these (case-sensitive)
  std::vector<FieldMatchSpec> headers;  // all must hold
  std::vector<FieldMatchSpec> query;    // all must hold
  friend bool operator==(const RouteMatchSpec&, const RouteMatchSpec&) = default;
};

struct WeightedSubset {
  std::string subset;   // a SubsetSpec's name
  uint32_t weight = 1;  // 0..1000000; a route's weights sum to more than 0
  friend bool operator==(const WeightedSubset&, const WeightedSubset&) = default;
};

struct DirectResponseSpec {
  uint16_t status = 200;  // 200..599
  std::string body;       // 0..64 KiB
  friend bool operator==(const DirectResponseSpec&, const DirectResponseSpec&) = default;
};

// A route's own timeouts: each member unset takes the record's value.
// (`idle_ms`, a connection's keep-alive, is not per route.)
struct RouteTimeouts {
  std::optional<uint32_t> connect_ms;
  std::optional<uint32_t> request_ms;
  std::optional<uint32_t> total_ms;
  std::optional<bool> trust_header;
  bool empty() const { return !connect_ms && !request_ms && !total_ms && !trust_header; }
  friend bool operator==(const RouteTimeouts&, const RouteTimeouts&) = default;
};

// One entry of `routes`; the first whose match holds takes the request.
// Exactly one of `to` (non-empty) and `direct_response` is set.
struct RouteSpec {
  // For logs (the access log's route_name): as a service's name, or "" (the
  // log then says "routes[i]").
  std::string name;
  RouteMatchSpec match;
  std::vector<WeightedSubset> to;
  std::optional<DirectResponseSpec> direct_response;
  // With match.path_prefix only: replaces that prefix of the path.
  std::optional<std::string> rewrite_path_prefix;
  RouteTimeouts timeouts;
  std::optional<RetryPolicy> retries;  // null: the record's
  friend bool operator==(const RouteSpec&, const RouteSpec&) = default;
};

}  // namespace icaht::filters
