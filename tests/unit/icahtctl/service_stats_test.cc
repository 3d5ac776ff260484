#include "service_stats.h"

#include <cmath>

#include "gtest/gtest.h"

namespace icaht::ctl {
namespace service_stats_test {

// Buckets 0.1, 0.2, +Inf holding 10, 10 and 0 observations.
const std::vector<Bucket> kEven = {{0.1, 10}, {0.2, 20}, {INFINITY, 20}};

TEST(HistogramQuantileTest, InterpolatesLinearlyWithinTheBucket) {
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.5, kEven), 0.1);    // rank 10: the end of bucket 1
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.25, kEven), 0.05);  // the first bucket starts at 0
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.75, kEven), 0.15);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.99, kEven), 0.198);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(1, kEven), 0.2);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0, kEven), 0);
}

TEST(HistogramQuantileTest, RankInTheInfBucketGivesTheHighestFiniteBound) {
  std::vector<Bucket> slow = {{0.1, 1}, {0.5, 2}, {INFINITY, 10}};
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.5, slow), 0.5);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.99, slow), 0.5);
}

TEST(HistogramQuantileTest, OrderAndDipsAsPrometheusTakesThem) {
  // Unsorted input is sorted; a count below an earlier bucket's is raised to it.
  std::vector<Bucket> messy = {{INFINITY, 10}, {0.2, 4}, {0.1, 5}};
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.5, messy), 0.1);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.6, messy), 0.2);  // rank 6 is past 0.2: +Inf bucket
  // A first bucket at or below zero is not interpolated from zero.
  std::vector<Bucket> zero = {{0, 5}, {1, 10}, {INFINITY, 10}};
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.2, zero), 0);
  EXPECT_DOUBLE_EQ(*HistogramQuantile(0.7, zero), 0.4);
}

TEST(HistogramQuantileTest, NothingToSay) {
  EXPECT_FALSE(HistogramQuantile(0.5, {}).has_value());
  EXPECT_FALSE(HistogramQuantile(0.5, {{INFINITY, 3}}).has_value());            // one bucket
  EXPECT_FALSE(HistogramQuantile(0.5, {{0.1, 1}, {0.2, 3}}).has_value());       // no +Inf
  EXPECT_FALSE(HistogramQuantile(0.5, {{0.1, 0}, {INFINITY, 0}}).has_value());  // empty
}

// What the daemon's page holds for two services (the names and labels of metrics_page.cc).
std::vector<MetricFamily> Page(double a_ok, double a_502, double a_fast, double a_slow) {
  auto sample = [](std::string name, std::vector<std::pair<std::string, std::string>> labels,
                   double value) {
    return MetricSample{std::move(name), std::move(labels), value};
  };
  std::vector<MetricFamily> page;
  page.push_back({"icaht_requests_total",
                  MetricType::kCounter,
                  "",
                  {sample("icaht_requests_total", {{"service", "a"}, {"code", "200"}}, a_ok),
                   sample("icaht_requests_total", {{"service", "a"}, {"code", "502"}}, a_502),
                   sample("icaht_requests_total", {{"service", "a"}, {"code", "0"}}, 1),
                   sample("icaht_requests_total", {{"service", "a"}, {"code", "other"}}, 1),
                   sample("icaht_requests_total", {{"service", "b"}, {"code", "200"}}, 4)}});
  std::string bucket = "icaht_request_duration_seconds_bucket";
  double a_all = a_fast + a_slow;
  page.push_back({"icaht_request_duration_seconds",
                  MetricType::kHistogram,
                  "",
                  {sample(bucket, {{"service", "a"}, {"le", "0.001"}}, a_fast),
                   sample(bucket, {{"service", "a"}, {"le", "1"}}, a_all),
                   sample(bucket, {{"service", "a"}, {"le", "+Inf"}}, a_all),
                   sample("icaht_request_duration_seconds_sum", {{"service", "a"}}, 1),
                   sample("icaht_request_duration_seconds_count", {{"service", "a"}}, a_all),
                   sample(bucket, {{"service", "b"}, {"le", "0.001"}}, 4),
                   sample(bucket, {{"service", "b"}, {"le", "+Inf"}}, 4)}});
  page.push_back({"icaht_active_connections",
                  MetricType::kGauge,
                  "",
                  {sample("icaht_active_connections", {{"service", "a"}}, 3)}});
  page.push_back({"icaht_upstream_up",
                  MetricType::kGauge,
                  "",
                  {sample("icaht_upstream_up", {{"service", "a"}, {"upstream", "x:1"}}, 1),
                   sample("icaht_upstream_up", {{"service", "a"}, {"upstream", "x:2"}}, 0),
                   sample("icaht_upstream_up", {{"service", "b"}, {"upstream", "x:3"}}, 1)}});
  page.push_back({"icaht_services", MetricType::kGauge, "", {sample("icaht_services", {}, 2)}});
  return page;
}

TEST(ServiceStatsTest, CountersByService) {
  ServiceCountersMap m = CountersByService(Page(90, 8, 50, 48));
  ASSERT_EQ(m.size(), 2u);
  const ServiceCounters& a = m.at("a");
  EXPECT_EQ(a.requests, 100);  // 90 + 8 + the code 0 and "other" ones
  EXPECT_EQ(a.server_errors, 8);
  ASSERT_EQ(a.duration.size(), 3u);
  EXPECT_EQ(a.duration[0].le, 0.001);
  EXPECT_EQ(a.duration[0].count, 50);
  EXPECT_TRUE(std::isinf(a.duration[2].le));
  EXPECT_EQ(a.duration[2].count, 98);
  EXPECT_EQ(a.active_connections, 3);
  EXPECT_EQ(a.upstreams, 2);
  EXPECT_EQ(a.upstreams_up, 1);
  EXPECT_EQ(m.at("b").requests, 4);
  EXPECT_EQ(m.at("b").upstreams_up, 1);
  EXPECT_EQ(m.at("b").active_connections, 0);
}

TEST(ServiceStatsTest, RatesOverTheInterval) {
  // a: 90 -> 130 good and 8 -> 28 bad answers in 2 s; all 60 of them fast, though the
  // service's whole history is half slow.
  ServiceCountersMap before = CountersByService(Page(90, 8, 50, 48));
  ServiceCountersMap after = CountersByService(Page(130, 28, 110, 48));
  std::vector<ServiceRates> rows = RatesBetween(before, after, 2.0);
  ASSERT_EQ(rows.size(), 2u);
  const ServiceRates& a = rows[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.requests, 60);
  EXPECT_DOUBLE_EQ(a.requests_per_second, 30);
  EXPECT_DOUBLE_EQ(*a.error_ratio, 20.0 / 60);
  EXPECT_DOUBLE_EQ(*a.p50_seconds, 0.0005);   // interval: 60 under 1 ms
  EXPECT_DOUBLE_EQ(*a.p99_seconds, 0.00099);  // not the 1 s of the slow half of the history
  EXPECT_EQ(a.active_connections, 3);
  EXPECT_EQ(a.upstreams_up, 1);
  EXPECT_EQ(a.upstreams, 2);
  // b did nothing: no rate, no error share, no quantiles.
  const ServiceRates& b = rows[1];
  EXPECT_EQ(b.requests_per_second, 0);
  EXPECT_FALSE(b.error_ratio.has_value());
  EXPECT_FALSE(b.p50_seconds.has_value());
  EXPECT_FALSE(b.p99_seconds.has_value());
}

TEST(ServiceStatsTest, NewServicesAndResetsCountFromZero) {
  ServiceCountersMap before = CountersByService(Page(90, 8, 50, 48));
  before.erase("b");  // b registered after the first scrape
  // a's counters went down: the daemon restarted and a counts its 12 requests anew.
  ServiceCountersMap after = CountersByService(Page(6, 4, 2, 10));
  std::vector<ServiceRates> rows = RatesBetween(before, after, 1.0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].requests, 12);
  EXPECT_DOUBLE_EQ(*rows[0].error_ratio, 4.0 / 12);
  // 2 of 12 under 1 ms, 10 under 1 s: the median is in the 1 s bucket.
  EXPECT_DOUBLE_EQ(*rows[0].p50_seconds, 0.001 + (1 - 0.001) * (4.0 / 10));
  EXPECT_EQ(rows[1].name, "b");
  EXPECT_EQ(rows[1].requests, 4);
  EXPECT_DOUBLE_EQ(*rows[1].p99_seconds, 0.001 * 0.99);
  // A service gone from the second page is not shown.
  EXPECT_TRUE(RatesBetween(after, {}, 1.0).empty());
}

}  // namespace service_stats_test
}  // namespace icaht::ctl
