#pragma once

// `icahtctl top`: a live per-service view of the daemon's traffic, refreshed from the /metrics
// page the admin socket serves (the same page as the ops listener's).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service_stats.h"

namespace icaht::ctl {

extern const char kTopUsage[];

enum class SortKey : uint8_t { kName, kRps, kErrors, kP99, kConns };

struct TopOptions {
  double interval_s = 1.0;
  uint64_t count = 0;  // refreshes before exiting; 0: until interrupted
  bool once = false;   // one refresh, never drawn as a screen
  SortKey sort = SortKey::kRps;
  bool json = false;
};

// Reads top's command options: (name, value) pairs of --interval, --count and --sort, and
// --once with an empty value. Returns a message for the user when one is bad.
std::optional<std::string> ParseTopOptions(
    const std::vector<std::pair<std::string, std::string>>& options, TopOptions* out);

// Orders rows by `key`: by name ascending; by a number descending, ties by name, rows
// without the number (no requests in the interval) last.
void SortRates(std::vector<ServiceRates>* rows, SortKey key);

// The rows as an aligned table: SERVICE REQ/S ERR% P50 P99 CONNS UPSTREAMS.
std::string FormatRates(const std::vector<ServiceRates>& rows);
// The rows as one line of JSON: {"time":UNIX_SECONDS,"interval_s":S,"services":[{...}]},
// an unknown value as null.
std::string FormatRatesJson(const std::vector<ServiceRates>& rows, double unix_time,
                            double interval_s);
// "1.5ms", "120.0ms", "2.50s".
std::string FormatSeconds(double seconds);

// Fetches one /metrics page; nullopt once it has reported (on stderr) why it could not.
using FetchPage = std::function<std::optional<std::string>()>;

// Runs the view on standard output: fetches a page, then every interval another one and
// prints the rates between the last two, `options.count` times or until SIGINT or SIGTERM.
// Draws a screen (ANSI clear and home, a header line with totals) when standard output is a
// terminal, unless --once or --json. Returns false when a fetch failed or a page could not be
// read (reported on stderr); an interrupted view returns true.
bool RunTop(const TopOptions& options, const FetchPage& fetch);

}  // namespace icaht::ctl
