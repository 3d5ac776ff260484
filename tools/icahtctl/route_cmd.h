#pragma once

// `icahtctl route NAME [--split SUBSET=WEIGHT,...]` (issue 19): shows a service's subsets and
// routes, or sets a weighted split, as a convenience over the record (GET, change, PUT): the
// split becomes the `to` of the record's catch-all route (the first route without a match),
// appended when there is none, so routes that match first (canaries by header, paths) keep
// taking their requests; a catch-all direct_response is refused (a split after it would never
// be reached). The daemon validates the result (an unknown subset is its error).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace icaht::ctl {

extern const char kRouteUsage[];

struct RouteArgs {
  std::string service;
  // --split: (subset, weight) in order; unset: show.
  std::optional<std::vector<std::pair<std::string, uint32_t>>> split;
};

// Reads `route NAME` and --split; an error message for the usage line, or nullopt.
std::optional<std::string> ParseRouteArgs(
    const std::vector<std::string>& positional,
    const std::vector<std::pair<std::string, std::string>>& options, RouteArgs* out);

// The record `json` with the split set on its catch-all route (or a new one at the end);
// every other field is kept.
absl::StatusOr<std::string> ApplySplit(std::string_view json,
                                       const std::vector<std::pair<std::string, uint32_t>>& split);

// The record's subsets and routes as text: one line per subset (its labels, the instances it
// selects), then a table of routes: # NAME MATCH TO ("v1=90,v2=10", or "503 direct").
absl::StatusOr<std::string> FormatRoutes(std::string_view json);

}  // namespace icaht::ctl
