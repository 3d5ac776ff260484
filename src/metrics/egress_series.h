#pragma once
// The egress listener's series on one shard: requests and their durations by
// calling service and destination (icaht_egress_requests_total{service,
// destination,code}, icaht_egress_request_duration_seconds). Pairs appear as
// traffic brings them, so the table is fixed-size and append-only: the shard
// fills a free slot (its names first, then a release store that publishes
// it), the scrape reads published slots with acquire loads, and nobody ever
// frees one. Past kSlots pairs, requests count under the overflow pair
// ("other", "other"), so that callers cannot make the scrape grow without
// bound.

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "metrics/metric.h"
#include "metrics/service_series.h"

namespace icaht::metrics {

struct EgressPair {
  std::string caller;       // a local service's name, or "unknown"
  std::string destination;  // a service's name, or an external host
  CodeCounters requests;
  Histogram duration;
};

class EgressSeries {
 public:
  static constexpr size_t kSlots = 256;
  static constexpr std::string_view kOther = "other";

  // Shard thread only: the pair's block (created on first use).
  EgressPair& Find(std::string_view caller, std::string_view destination);

  // Any thread: every published pair, the overflow pair last (if used).
  void ForEach(const std::function<void(const EgressPair&)>& fn) const;

 private:
  // Slots in the order they were taken; the shard scans them (after a
  // one-entry cache), the scrape walks the published ones.
  std::array<std::unique_ptr<EgressPair>, kSlots> slots_;
  std::array<std::atomic<bool>, kSlots> published_{};
  size_t used_ = 0;
  EgressPair overflow_{std::string(kOther), std::string(kOther), {}, {}};
  std::atomic<bool> overflow_used_{false};
  // Shard side: the last pair found (most calls repeat it).
  EgressPair* last_ = nullptr;
};

}  // namespace icaht::metrics
