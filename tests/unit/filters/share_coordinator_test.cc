// Tests of src/filters/rate_limit/share_coordinator.cc: the share arithmetic.

#include "filters/rate_limit/share_coordinator.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace icaht::filters {
namespace {

DemandEntry Demand(std::string key, uint32_t attempts, double share, double fill = 0) {
  return DemandEntry{
      .limit = 0, .key = std::move(key), .attempts = attempts, .share = share, .fill = fill};
}

double ShareOf(const ShareUpdate& update, std::string_view key) {
  for (const ShareEntry& e : update.entries) {
    if (e.key == key) return e.share;
  }
  return -1;
}

TEST(ShareCoordinatorTest, SharesFollowDemandWithAFloor) {
  ShareCoordinator coordinator(4);
  coordinator.Submit(0, {{Demand("k", 300, 0.25, 1)}});
  coordinator.Submit(1, {{Demand("k", 100, 0.25, 1)}});
  // Shards 2 and 3 had no traffic for "k": they report nothing.
  std::vector<ShareUpdate> updates = coordinator.Compute();
  ASSERT_EQ(updates.size(), 4u);
  double floor = 0.02 / 4;
  double sum = 0.75 + 0.25 + 2 * floor;
  EXPECT_DOUBLE_EQ(ShareOf(updates[0], "k"), 0.75 / sum);
  EXPECT_DOUBLE_EQ(ShareOf(updates[1], "k"), 0.25 / sum);
  EXPECT_DOUBLE_EQ(ShareOf(updates[2], "k"), floor / sum);
  EXPECT_DOUBLE_EQ(ShareOf(updates[3], "k"), floor / sum);
  // What shard 0 gains comes from full buckets (1 shrinks a little too).
  EXPECT_DOUBLE_EQ(updates[0].entries[0].grant_fill, 1);
  EXPECT_EQ(coordinator.tracked_keys(), 1u);
}

TEST(ShareCoordinatorTest, GrantedTokensAreThoseTheShrinkingShardsHeld) {
  ShareCoordinator coordinator(2);
  // The traffic moved from shard 0 (half full) to shard 1.
  coordinator.Submit(0, {{Demand("k", 0, 0.9, 0.5)}});
  coordinator.Submit(1, {{Demand("k", 50, 0.1, 0.0)}});
  std::vector<ShareUpdate> updates = coordinator.Compute();
  double floor = 0.01;
  EXPECT_DOUBLE_EQ(ShareOf(updates[0], "k"), floor / (1 + floor));
  EXPECT_DOUBLE_EQ(updates[1].entries[0].grant_fill, 0.5);
}

TEST(ShareCoordinatorTest, NoAttemptsKeepsSharesAndUnreportedKeysAreForgotten) {
  ShareCoordinator coordinator(2);
  coordinator.Submit(0, {{Demand("k", 10, 0.5)}});
  coordinator.Submit(1, {{Demand("k", 30, 0.5)}});
  std::vector<ShareUpdate> first = coordinator.Compute();
  // Buckets still refilling, no attempts: the shares stay.
  coordinator.Submit(0, {{Demand("k", 0, ShareOf(first[0], "k"), 0.5)}});
  std::vector<ShareUpdate> second = coordinator.Compute();
  EXPECT_DOUBLE_EQ(ShareOf(second[0], "k"), ShareOf(first[0], "k"));
  EXPECT_DOUBLE_EQ(ShareOf(second[1], "k"), ShareOf(first[1], "k"));
  // Nobody reports it: idle and full everywhere. No longer sent (the shards
  // fall back to 1/N), remembered while they hold their shares.
  std::vector<ShareUpdate> third = coordinator.Compute();
  EXPECT_TRUE(third[0].entries.empty());
  EXPECT_EQ(coordinator.tracked_keys(), 1u);
  coordinator.Compute();
  coordinator.Compute();
  EXPECT_EQ(coordinator.tracked_keys(), 0u);
}

TEST(ShareCoordinatorTest, TwoReportsInOnePeriodAddUp) {
  ShareCoordinator coordinator(2);
  coordinator.Submit(0, {{Demand("k", 10, 0.5)}});
  coordinator.Submit(0, {{Demand("k", 20, 0.5)}});
  coordinator.Submit(1, {{Demand("k", 30, 0.5)}});
  std::vector<ShareUpdate> updates = coordinator.Compute();
  EXPECT_DOUBLE_EQ(ShareOf(updates[0], "k"), 0.5);
}

}  // namespace
}  // namespace icaht::filters
