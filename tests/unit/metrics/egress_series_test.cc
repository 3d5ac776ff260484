#include "metrics/egress_series.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace icaht::metrics {
namespace egress_series_test {

TEST(EgressSeriesTest, OnePairPerCallerAndDestination) {
  EgressSeries series;
  series.Find("orders", "billing").requests.Add(200);
  series.Find("orders", "billing").requests.Add(200);
  series.Find("unknown", "billing").requests.Add(502);
  std::vector<std::string> seen;
  series.ForEach([&](const EgressPair& p) { seen.push_back(p.caller + ">" + p.destination); });
  EXPECT_EQ(seen, (std::vector<std::string>{"orders>billing", "unknown>billing"}));
  std::vector<std::pair<int, uint64_t>> codes;
  series.Find("orders", "billing").requests.ReadInto(&codes);
  EXPECT_EQ(codes, (std::vector<std::pair<int, uint64_t>>{{200, 2}}));
}

TEST(EgressSeriesTest, PairsPastTheTableCountAsOther) {
  EgressSeries series;
  for (size_t i = 0; i < EgressSeries::kSlots + 3; ++i) {
    series.Find("c", "d" + std::to_string(i)).requests.Add(200);
  }
  size_t pairs = 0;
  uint64_t other = 0;
  series.ForEach([&](const EgressPair& p) {
    ++pairs;
    if (p.caller == "other" && p.destination == "other") {
      std::vector<std::pair<int, uint64_t>> codes;
      p.requests.ReadInto(&codes);
      other = codes.empty() ? 0 : codes[0].second;
    }
  });
  EXPECT_EQ(pairs, EgressSeries::kSlots + 1);
  EXPECT_EQ(other, 3u);
}

}  // namespace egress_series_test
}  // namespace icaht::metrics
