#include "proxy/service_config.h"

#include <map>

#include "gtest/gtest.h"

namespace icaht::proxy {
namespace service_config_test {

std::vector<UpstreamConfig> Upstreams(std::initializer_list<uint32_t> weights) {
  std::vector<UpstreamConfig> out;
  uint16_t port = 8000;
  for (uint32_t w : weights) {
    UpstreamConfig u;
    u.address = *net::Address::Parse("127.0.0.1:" + std::to_string(port++));
    u.weight = w;
    out.push_back(u);
  }
  return out;
}

TEST(WeightedRoundRobinTest, EqualWeightsAlternate) {
  auto ups = Upstreams({1, 1, 1});
  WeightedRoundRobin rr;
  rr.Reset(ups);
  std::vector<int> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(rr.Next(ups));
  EXPECT_EQ(picks, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(WeightedRoundRobinTest, WeightsAreHonouredAndSpread) {
  auto ups = Upstreams({5, 1, 1});
  WeightedRoundRobin rr;
  rr.Reset(ups);
  std::vector<int> picks;
  for (int i = 0; i < 7; ++i) picks.push_back(rr.Next(ups));
  // nginx's smooth weighted round-robin sequence for 5:1:1.
  EXPECT_EQ(picks, (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(WeightedRoundRobinTest, SkipAvoidsTheFailedUpstream) {
  auto ups = Upstreams({1, 1});
  WeightedRoundRobin rr;
  rr.Reset(ups);
  for (int i = 0; i < 10; ++i) EXPECT_NE(rr.Next(ups, 0), 0u);
  auto one = Upstreams({1});
  rr.Reset(one);
  EXPECT_EQ(rr.Next(one, 0), 0u);  // nothing else to pick
}

// A retry after each first attempt does not move the rotation: first attempts still
// alternate (a failing instance does not take every one of them).
TEST(WeightedRoundRobinTest, RetriesDoNotMoveTheRotation) {
  auto ups = Upstreams({1, 1, 1});
  WeightedRoundRobin rr;
  rr.Reset(ups);
  std::vector<int> first, retry;
  for (int i = 0; i < 6; ++i) {
    first.push_back(rr.Next(ups));
    retry.push_back(rr.Next(ups, first.back()));
  }
  EXPECT_EQ(first, (std::vector<int>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(retry, (std::vector<int>{1, 2, 0, 1, 2, 0}));  // the next in turn
}

TEST(WeightedRoundRobinTest, InstancesOutOfRotationAreLeftOut) {
  auto ups = Upstreams({1, 2, 1});
  WeightedRoundRobin rr;
  rr.Reset(ups);
  std::vector<bool> out = {false, true, false};
  std::map<int, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[rr.Next(ups, -1, &out)];
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[0], 50);
  EXPECT_EQ(counts[2], 50);
  // The one left in rotation is chosen even when it is the one to skip.
  out = {true, true, false};
  EXPECT_EQ(rr.Next(ups, 2, &out), 2);
  out = {true, true, true};
  EXPECT_EQ(rr.Next(ups, -1, &out), -1);
  out = {false, false, false};
  for (int i = 0; i < 8; ++i) ++counts[rr.Next(ups, -1, &out)];
  EXPECT_GT(counts[1], 0);  // back in rotation
}

}  // namespace service_config_test
}  // namespace icaht::proxy
