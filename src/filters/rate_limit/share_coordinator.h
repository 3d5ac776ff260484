#pragma once
// Turns the shards' demand reports of one period into each shard's share of
// every active key (shares.h). Pure; one per service's rate-limit filter set,
// owned by the control thread (a new one when the service's limits change:
// limit indexes and key spaces are those of one configuration).
//
// Per key, with d_i the attempts shard i reported:
//   share_i = max(floor, d_i / sum(d)), renormalised to sum to 1, where
//   floor = kShareFloorFactor / N. With no attempts anywhere (buckets still
//   refilling), the shares stay as they are.
// Attempts include refused ones, so a starved shard's share grows; shares
// follow the attempts as a single bucket would admit them under contention.
//
// The capacity that shrinking shards give up carries their tokens (at their
// reported fill; a shard that did not report the key is idle and full); the
// growing shards receive it at that average fill (ShareEntry::grant_fill). So
// tokens are conserved: bursts that idle shards held are not lost when the
// traffic is elsewhere, and a shard that takes over from another gets what
// the other had saved.
//
// A key that no shard reports is idle and full everywhere: it is no longer
// sent, so the shards fall back to 1/N after kShareHoldNs (which for full
// buckets changes nothing), and it is forgotten after as many periods. Until
// then its shares are remembered, so traffic that comes back meanwhile is
// accounted against the shares the shards still hold.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "filters/rate_limit/shares.h"

namespace icaht::filters {

class ShareCoordinator {
 public:
  explicit ShareCoordinator(size_t shard_count);

  size_t shard_count() const { return shard_count_; }
  // Adds `shard`'s report to the current period. A second report from the
  // same shard in one period adds its attempts (its share and fill replace
  // the first ones). `shard` < shard_count.
  void Submit(size_t shard, DemandReport report);
  // Ends the period: the update for each shard (index = shard), listing
  // every key some shard reported.
  std::vector<ShareUpdate> Compute();

  // Keys being tracked (reported within the last kShareHoldNs).
  size_t tracked_keys() const;

 private:
  struct ShardState {
    double share = 0;  // as last assigned
    // This period:
    double attempts = 0;
    double reported_share = 0;
    double fill = 1;
    bool reported = false;
  };
  struct KeyState {
    // Inline up to 4 shards: no allocation and no pointer to chase per key.
    absl::InlinedVector<ShardState, 4> shards;
    bool reported = false;  // by any shard this period
    int idle_periods = 0;   // since one was
  };

  size_t shard_count_;
  // By limit index, then key.
  std::vector<absl::flat_hash_map<std::string, KeyState>> limits_;
};

}  // namespace icaht::filters
