#pragma once
// The messages that keep a service's rate the same whatever the number of
// shards (DESIGN.md: shared-nothing shards; the control thread talks to them
// by messages only).
//
// For each limit and key, every shard holds a bucket of rate R*s and
// capacity B*s, where s is that shard's share of the key (1/N until told
// otherwise). Every kSharePeriodNs each shard sends the control thread a
// DemandReport; a ShareCoordinator there merges the N reports of the period
// and answers each shard with a ShareUpdate. The shares follow demand, and
// the tokens of the capacity that moves go with it (share_coordinator.h), so
// the N buckets together behave like one bucket of rate R and capacity B,
// one period late.
//
// Both messages are plain values, built on one thread and moved to another.

#include <cstdint>
#include <string>
#include <vector>

namespace icaht::filters {

// How often shards report demand and the coordinator answers.
inline constexpr int64_t kSharePeriodNs = 100'000'000;  // 100 ms
// A share not confirmed by an update for this long falls back to 1/N (the
// control thread stalled, or the key went idle everywhere).
inline constexpr int64_t kShareHoldNs = 3 * kSharePeriodNs;
// The least share a shard gets, times 1/N: a shard whose traffic for a key
// just started is slowed, not stopped, until the next update.
inline constexpr double kShareFloorFactor = 0.02;

// One key of one limit as a shard saw it during a period.
struct DemandEntry {
  uint32_t limit = 0;     // index into the filter's limits
  std::string key;        // "" for a `service` limit
  uint32_t attempts = 0;  // requests that reached the limit (allowed + refused)
  double share = 0;       // the shard's share of the key when it reported
  double fill = 1;        // tokens / capacity then (1 = full, < 0 = in debt)

  friend bool operator==(const DemandEntry&, const DemandEntry&) = default;
};

// Every key with attempts during the period, and every key whose bucket is
// not full yet (so the coordinator knows where the tokens are). Keys that are
// absent are idle and full on that shard.
struct DemandReport {
  std::vector<DemandEntry> entries;
};

// A shard's new share of one key, and the fill of the tokens that come with
// a share that grows (the fill of the capacity other shards gave up).
struct ShareEntry {
  uint32_t limit = 0;
  std::string key;
  double share = 0;       // (0, 1]
  double grant_fill = 0;  // [-1, 1]

  friend bool operator==(const ShareEntry&, const ShareEntry&) = default;
};

struct ShareUpdate {
  std::vector<ShareEntry> entries;
};

}  // namespace icaht::filters
