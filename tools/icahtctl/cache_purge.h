#pragma once

// `icahtctl cache purge NAME [--path URI]`: removes a service's cached responses through
// DELETE /v1/services/{name}/cache[?path=URI] (DESIGN.md "Admin API"), which answers
// {"service": NAME, "purged": N} with N counted over every shard.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace icaht::ctl {

extern const char kCacheUsage[];

struct CachePurgeArgs {
  std::string service;
  // One URI's entries (its path and query as clients send them); unset: every entry.
  std::optional<std::string> path;
};

// Reads `cache purge NAME` (the positional arguments after the command) and its --path
// option. Returns a message for the user when they are wrong.
std::optional<std::string> ParseCachePurgeArgs(
    const std::vector<std::string>& positional,
    const std::vector<std::pair<std::string, std::string>>& options, CachePurgeArgs* out);

// Percent-encodes a query value: everything but RFC 3986 unreserved characters and '/'
// (kept for readable logs: a '/' needs no escaping in a query).
std::string EncodeQueryValue(std::string_view value);

// "/v1/services/NAME/cache", with "?path=ENCODED" when args.path is set.
std::string CachePurgeTarget(const CachePurgeArgs& args);

// The N of {"service": ..., "purged": N}.
absl::StatusOr<uint64_t> ParsePurgedCount(std::string_view json);

// "purged N cached responses of NAME", with " for URI" when args.path is set.
std::string FormatPurged(const CachePurgeArgs& args, uint64_t purged);

}  // namespace icaht::ctl
