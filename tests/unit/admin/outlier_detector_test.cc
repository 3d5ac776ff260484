#include "admin/outlier_detector.h"

#include "gtest/gtest.h"

namespace icaht::admin {
namespace outlier_detector_test {

constexpr int64_t kMs = 1'000'000;

net::Address Addr(int port) { return *net::Address::Parse("127.0.0.1:" + std::to_string(port)); }

std::vector<net::Address> Instances(int n) {
  std::vector<net::Address> out;
  for (int i = 0; i < n; ++i) out.push_back(Addr(8000 + i));
  return out;
}

filters::OutlierSpec Spec() {
  filters::OutlierSpec spec;
  spec.interval_ms = 1000;
  spec.base_ejection_ms = 30'000;
  spec.max_ejection_ms = 100'000;
  spec.max_ejection_percent = 50;
  return spec;
}

InstanceReport Trip(int port) { return {.address = Addr(port), .attempts = 5, .trips_5xx = 1}; }

TEST(OutlierDetectorTest, ATripEjectsForTheBaseTimeThenItReturns) {
  OutlierDetector d(Spec(), 0);
  d.Update(Spec(), Instances(4), 0);
  d.Add({.address = Addr(8000), .attempts = 4, .successes = 0}, 0);  // no trip: stays
  EXPECT_FALSE(d.TakeDirty());
  d.Add(Trip(8000), 10 * kMs);
  EXPECT_TRUE(d.IsEjected(Addr(8000)));
  EXPECT_TRUE(d.TakeDirty());
  EXPECT_EQ(d.Ejected(), std::vector<net::Address>{Addr(8000)});
  std::vector<OutlierDetector::Change> changes = d.TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].ejected);
  EXPECT_EQ(changes[0].for_ms, 30'000);
  EXPECT_EQ(changes[0].reason, OutlierDetector::Reason::kConsecutive5xx);
  EXPECT_EQ(d.ejections(OutlierDetector::Reason::kConsecutive5xx), 1u);
  d.Tick(30'009 * kMs);
  EXPECT_TRUE(d.IsEjected(Addr(8000)));
  d.Tick(30'010 * kMs);
  EXPECT_FALSE(d.IsEjected(Addr(8000)));
  EXPECT_TRUE(d.TakeDirty());
}

TEST(OutlierDetectorTest, EjectionTimeGrowsWithRepeatedEjectionsAndDecays) {
  filters::OutlierSpec spec = Spec();
  spec.interval_ms = 3'600'000;  // no interval boundary in the first part
  OutlierDetector d(spec, 0);
  d.Update(spec, Instances(4), 0);
  int64_t now = 0;
  std::vector<int64_t> lengths;
  for (int i = 0; i < 5; ++i) {
    d.Add(Trip(8001), now);
    std::vector<OutlierDetector::Change> changes = d.TakeChanges();
    ASSERT_EQ(changes.size(), 1u);
    lengths.push_back(changes[0].for_ms);
    now += changes[0].for_ms * kMs;
    d.Tick(now);
    ASSERT_FALSE(d.IsEjected(Addr(8001)));
    d.TakeChanges();
  }
  // base * the number of ejections, capped at max.
  EXPECT_EQ(lengths, (std::vector<int64_t>{30'000, 60'000, 90'000, 100'000, 100'000}));
  // Each interval spent in the rotation takes one ejection off the count.
  for (int i = 0; i < 4; ++i) d.Tick(now += int64_t{spec.interval_ms} * kMs);
  d.Add(Trip(8001), now);
  EXPECT_EQ(d.TakeChanges()[0].for_ms, 60'000);  // count 5 - 4 + 1 = 2
}

TEST(OutlierDetectorTest, MaxEjectionPercentButOneMayAlwaysGo) {
  filters::OutlierSpec spec = Spec();
  spec.max_ejection_percent = 10;
  OutlierDetector d(spec, 0);
  d.Update(spec, Instances(4), 0);
  d.Add(Trip(8000), 0);
  d.Add(Trip(8001), 0);  // 2 of 4 = 50 % > 10 %: stays
  EXPECT_EQ(d.Ejected().size(), 1u);
  spec.max_ejection_percent = 50;
  d.Update(spec, Instances(4), 0);
  d.Add(Trip(8001), 0);
  d.Add(Trip(8002), 0);  // 3 of 4 > 50 %
  EXPECT_EQ(d.Ejected().size(), 2u);
  spec.max_ejection_percent = 0;  // never
  OutlierDetector none(spec, 0);
  none.Update(spec, Instances(4), 0);
  none.Add(Trip(8000), 0);
  EXPECT_TRUE(none.Ejected().empty());
}

TEST(OutlierDetectorTest, GatewayTripsOnlyWhenConfigured) {
  filters::OutlierSpec spec = Spec();
  OutlierDetector d(spec, 0);
  d.Update(spec, Instances(3), 0);
  d.Add({.address = Addr(8000), .attempts = 5, .trips_gateway = 1}, 0);
  EXPECT_TRUE(d.Ejected().empty());  // consecutive_gateway_errors 0: off
  spec.consecutive_gateway_errors = 3;
  d.Update(spec, Instances(3), 0);
  d.Add({.address = Addr(8000), .attempts = 3, .trips_gateway = 1}, 0);
  EXPECT_TRUE(d.IsEjected(Addr(8000)));
  EXPECT_EQ(d.ejections(OutlierDetector::Reason::kConsecutiveGatewayErrors), 1u);
}

TEST(OutlierDetectorTest, SuccessRateEjectsTheOutlierAtTheInterval) {
  filters::OutlierSpec spec = Spec();
  spec.success_rate_min_hosts = 5;
  spec.success_rate_request_volume = 100;
  OutlierDetector d(spec, 0);
  d.Update(spec, Instances(6), 0);
  for (int i = 0; i < 5; ++i) {
    d.Add({.address = Addr(8000 + i), .attempts = 200, .successes = 198}, 0);
  }
  d.Add({.address = Addr(8005), .attempts = 200, .successes = 100}, 0);
  d.Tick(999 * kMs);
  EXPECT_TRUE(d.Ejected().empty());  // not at the interval yet
  d.Tick(1000 * kMs);
  EXPECT_EQ(d.Ejected(), std::vector<net::Address>{Addr(8005)});
  EXPECT_EQ(d.ejections(OutlierDetector::Reason::kSuccessRate), 1u);
  // Too few with enough volume: no verdict.
  OutlierDetector few(spec, 0);
  few.Update(spec, Instances(6), 0);
  for (int i = 0; i < 3; ++i) {
    few.Add({.address = Addr(8000 + i), .attempts = 200, .successes = 200}, 0);
  }
  few.Add({.address = Addr(8005), .attempts = 200, .successes = 0}, 0);
  few.Add({.address = Addr(8004), .attempts = 99, .successes = 99}, 0);
  few.Tick(1000 * kMs);
  EXPECT_TRUE(few.Ejected().empty());
}

TEST(OutlierDetectorTest, StateIsKeptByAddressAcrossUpdates) {
  OutlierDetector d(Spec(), 0);
  d.Update(Spec(), Instances(3), 0);
  d.Add(Trip(8002), 0);
  d.TakeDirty();
  d.Update(Spec(), {Addr(8002), Addr(8000)}, 0);  // reordered, one gone
  EXPECT_TRUE(d.IsEjected(Addr(8002)));
  d.Add(Trip(8001), 0);  // no longer an instance: ignored
  EXPECT_EQ(d.Ejected(), std::vector<net::Address>{Addr(8002)});
  EXPECT_EQ(d.EjectedForNs(Addr(8002), 10'000 * kMs), 20'000 * kMs);
}

}  // namespace outlier_detector_test
}  // namespace icaht::admin
