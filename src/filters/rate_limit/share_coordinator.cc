#include "filters/rate_limit/share_coordinator.h"

#include <algorithm>

#include "core/check.h"
#include "filters/rate_limit/rate_limit_spec.h"

namespace icaht::filters {

ShareCoordinator::ShareCoordinator(size_t shard_count) : shard_count_(shard_count) {
  ICAHT_CHECK(shard_count >= 1);
}

void ShareCoordinator::Submit(size_t shard, DemandReport report) {
  ICAHT_CHECK(shard < shard_count_);
  const double default_share = 1.0 / static_cast<double>(shard_count_);
  for (DemandEntry& entry : report.entries) {
    // Our own shards build the reports; an index past any filter's limits is
    // a broken invariant.
    ICAHT_CHECK(entry.limit < kMaxRateLimits);
    if (entry.limit >= limits_.size()) limits_.resize(entry.limit + 1);
    auto [it, inserted] = limits_[entry.limit].try_emplace(std::move(entry.key));
    KeyState& key = it->second;
    if (inserted) key.shards.assign(shard_count_, ShardState{.share = default_share});
    ShardState& state = key.shards[shard];
    state.attempts += entry.attempts;
    state.reported_share = entry.share;
    state.fill = entry.fill;
    state.reported = true;
    key.reported = true;
  }
}

std::vector<ShareUpdate> ShareCoordinator::Compute() {
  std::vector<ShareUpdate> updates(shard_count_);
  for (ShareUpdate& update : updates) update.entries.reserve(tracked_keys());
  const double floor = kShareFloorFactor / static_cast<double>(shard_count_);
  std::vector<double> old_shares(shard_count_);
  std::vector<double> new_shares(shard_count_);
  for (uint32_t limit = 0; limit < limits_.size(); ++limit) {
    auto& keys = limits_[limit];
    for (auto it = keys.begin(); it != keys.end();) {
      KeyState& key = it->second;
      if (!key.reported) {
        if (++key.idle_periods >= kShareHoldNs / kSharePeriodNs) {
          keys.erase(it++);
        } else {
          ++it;
        }
        continue;
      }
      double demand = 0;
      double old_sum = 0;
      for (size_t i = 0; i < shard_count_; ++i) {
        const ShardState& s = key.shards[i];
        old_shares[i] = s.reported ? s.reported_share : s.share;
        old_sum += old_shares[i];
        demand += s.attempts;
      }
      double new_sum = 0;
      for (size_t i = 0; i < shard_count_; ++i) {
        new_shares[i] =
            demand > 0 ? std::max(floor, key.shards[i].attempts / demand) : old_shares[i] / old_sum;
        new_sum += new_shares[i];
      }
      // Tokens released by the shards whose share shrinks, and the capacity
      // the others gain.
      double released = 0;
      double gained = 0;
      for (size_t i = 0; i < shard_count_; ++i) {
        new_shares[i] /= new_sum;
        double delta = new_shares[i] - old_shares[i];
        if (delta < 0) {
          released -= delta * (key.shards[i].reported ? key.shards[i].fill : 1.0);
        } else {
          gained += delta;
        }
      }
      double grant_fill = gained > 0 ? std::clamp(released / gained, -1.0, 1.0) : 1.0;
      for (size_t i = 0; i < shard_count_; ++i) {
        updates[i].entries.push_back(ShareEntry{
            .limit = limit, .key = it->first, .share = new_shares[i], .grant_fill = grant_fill});
        key.shards[i] = ShardState{.share = new_shares[i]};
      }
      key.reported = false;
      key.idle_periods = 0;
      ++it;
    }
  }
  return updates;
}

size_t ShareCoordinator::tracked_keys() const {
  size_t n = 0;
  for (const auto& keys : limits_) n += keys.size();
  return n;
}

}  // namespace icaht::filters
