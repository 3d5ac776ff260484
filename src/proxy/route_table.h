#pragma once
// A service's traffic-splitting routes (issue 19) compiled for the data path:
// the record's `subsets` resolved to instance indexes, its `routes` to
// matchers (RE2 for regexes: linear time, never backtracking). Pure: no I/O,
// no clock, no randomness of its own.
//
// Ownership: one table per service config per shard. Build it on the shard
// (or build one and move it there); after Build it is immutable, and Match
// and PickSubset are const and allocate nothing, so a shard may call them for
// every request.
//
// Matching, for a request's method, target and headers, tries the routes in
// order and returns the first whose every condition holds (none: nullptr,
// and the request goes to the whole set of instances):
//   path      the target up to its first '?': path_prefix (the path starts
//             with it, byte for byte), path_exact, path_regex (RE2 matching
//             the whole path); no percent-decoding or normalization here
//   methods   one of them, case-sensitive (RFC 9110 9.1)
//   headers   by lower-cased name, through the caller's lookup: exact,
//             prefix, regex (the whole value), present or absent
//   query     the target after its first '?', split on '&' into name=value
//             (no '=': the value is empty); the first parameter of that name,
//             raw (not decoded): exact, regex (the whole value), present or
//             absent

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "filters/route_spec.h"

namespace re2 {
class RE2;
}

namespace icaht::proxy {

class RouteTable {
 public:
  // A header's value by its lower-case name (nullopt: not in the request).
  // With a header sent more than once, whichever value the caller chooses
  // (e.g. the first, or the values joined with ", ") is matched.
  using HeaderLookup =
      absl::FunctionRef<std::optional<std::string_view>(std::string_view lower_name)>;

  struct FieldMatcher {
    std::string name;  // headers: lower-case
    filters::FieldMatchSpec::Kind kind;
    std::string value;
    std::unique_ptr<re2::RE2> regex;  // kRegex
    int slot = -1;                    // headers: the name's index among the table's names
  };

  struct Route {
    size_t index = 0;         // in the record's routes
    std::string name;         // for logs: the route's name, else "routes[<index>]"
    filters::RouteSpec spec;  // as the record has it (to, direct_response, rewrite, ...)
    std::unique_ptr<re2::RE2> path_regex;
    std::vector<FieldMatcher> headers;
    std::vector<FieldMatcher> query;
    // By spec.to entry: the subset's index in the table, and the running sum
    // of the weights up to and including that entry.
    std::vector<int> subsets;
    std::vector<uint64_t> cumulative_weights;
  };

  // An empty table: Match always returns nullptr.
  RouteTable();
  ~RouteTable();
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;

  // `upstream_labels[i]` are instance i's labels. The registry has validated
  // the record (registry/record_routes.h); a record it would refuse (an
  // unknown subset, a bad regex, weights summing to 0) is InvalidArgument.
  // A subset that selects no instance is allowed here (its list is empty).
  static absl::StatusOr<RouteTable> Build(const std::vector<filters::SubsetSpec>& subsets,
                                          const std::vector<filters::RouteSpec>& routes,
                                          std::span<const filters::Labels> upstream_labels);

  // The first route that takes the request, or nullptr. `target` is the
  // request target in origin form ("/path?query"); the returned route lives as
  // long as the table.
  const Route* Match(std::string_view method, std::string_view target, HeaderLookup headers) const;

  // For a route with `to` (not a direct response): the subset index picked
  // by weight for `key`. Pass the request's hash_on hash (proxy/balancer.h
  // StableHash) to keep a client on one side of a split while the weights
  // stay the same, else a random 64-bit number. -1 for a direct response.
  int PickSubset(const Route& route, uint64_t key) const;

  // The instances (indexes into the upstreams) subset `subset` selects, in order.
  const std::vector<int>& SubsetInstances(int subset) const { return subset_instances_[subset]; }
  // ...and as a mask by instance index: true for those it does not select.
  const std::vector<bool>& SubsetExcluded(int subset) const { return subset_excluded_[subset]; }
  const std::string& SubsetName(int subset) const { return subset_names_[subset]; }
  size_t subset_count() const { return subset_names_.size(); }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  // One Match's header values, each name looked up once however many routes
  // test it (the first kCachedHeaders names; the others every time).
  static constexpr int kCachedHeaders = 64;
  struct HeaderCache {
    uint64_t looked_up = 0;
    uint64_t present = 0;
    // Left uninitialized (a bit of looked_up & present says which are set):
    // std::string_view's constructor would zero 1 KiB per Match.
    struct Text {
      const char* data;
      size_t size;
    } values[kCachedHeaders];
  };
  bool Matches(const Route& route, std::string_view method, std::string_view path,
               std::optional<std::string_view> query, HeaderLookup headers,
               HeaderCache& cache) const;

  std::vector<std::string> header_names_;  // distinct, lower-case; a matcher's slot

  std::vector<std::string> subset_names_;
  std::vector<std::vector<int>> subset_instances_;
  std::vector<std::vector<bool>> subset_excluded_;
  std::vector<Route> routes_;
};

}  // namespace icaht::proxy
