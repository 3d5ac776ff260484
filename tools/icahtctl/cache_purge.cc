#include "cache_purge.h"

#include "absl/status/status.h"
#include "admin_client.h"
#include "simdjson.h"
#include "text.h"

namespace icaht::ctl {

const char kCacheUsage[] =
    "usage: icahtctl cache purge NAME [--path URI]\n"
    "\n"
    "Removes the service's cached responses on every shard: all of them, or with --path\n"
    "those of one URI (its path and query as clients send them, e.g. '/items?page=2').\n";

std::optional<std::string> ParseCachePurgeArgs(
    const std::vector<std::string>& positional,
    const std::vector<std::pair<std::string, std::string>>& options, CachePurgeArgs* out) {
  if (positional.empty()) return "missing SUBCOMMAND (purge)";
  if (positional[0] != "purge") return Cat("unknown subcommand '", positional[0], "'");
  if (positional.size() < 2) return "missing service NAME";
  if (positional.size() > 2) return Cat("unexpected argument '", positional[2], "'");
  if (positional[1].empty()) return "empty service NAME";
  out->service = positional[1];
  out->path.reset();
  for (const auto& [name, value] : options) {
    if (name != "--path") continue;
    if (out->path) return "--path given twice (purge one URI at a time)";
    if (!value.starts_with('/')) {
      return Cat("bad --path '", value, "': expected a URI starting with '/'");
    }
    out->path = value;
  }
  return std::nullopt;
}

std::string EncodeQueryValue(std::string_view value) { return PercentEncode(value, "/"); }

std::string CachePurgeTarget(const CachePurgeArgs& args) {
  std::string target = Cat("/v1/services/", EncodePathSegment(args.service), "/cache");
  if (args.path) Append(&target, "?path=", EncodeQueryValue(*args.path));
  return target;
}

absl::StatusOr<uint64_t> ParsePurgedCount(std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  uint64_t purged = 0;
  simdjson::error_code err = parser.iterate(padded).get(doc);
  if (!err) err = doc["purged"].get_uint64().get(purged);
  if (err) {
    return absl::InternalError(
        Cat("malformed response from daemon: purged: ", simdjson::error_message(err)));
  }
  return purged;
}

std::string FormatPurged(const CachePurgeArgs& args, uint64_t purged) {
  std::string line = Cat("purged ", purged, " cached responses of ", args.service);
  if (args.path) Append(&line, " for ", *args.path);
  return line;
}

}  // namespace icaht::ctl
