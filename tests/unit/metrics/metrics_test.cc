#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"
#include "metrics/metric.h"
#include "metrics/process.h"
#include "metrics/service_series.h"

namespace icaht::metrics {
namespace metrics_test {

TEST(CounterTest, AddsAndReads) {
  Counter c;
  c.Add();
  c.Add(41);
  EXPECT_EQ(c.Read(), 42u);
  Gauge g;
  g.Add(3);
  g.Add(-5);
  EXPECT_EQ(g.Read(), -2);
}

// One writer, one reader on another thread (as a shard and a scrape): the
// reader sees a value that only grows, and the final count is exact.
TEST(CounterTest, ReaderOnAnotherThreadSeesExactFinalCount) {
  Counter c;
  constexpr uint64_t kN = 200000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kN; ++i) c.Add();
    done.store(true, std::memory_order_release);
  });
  uint64_t last = 0;
  while (!done.load(std::memory_order_acquire)) {
    uint64_t now = c.Read();
    ASSERT_GE(now, last);
    last = now;
  }
  writer.join();
  EXPECT_EQ(c.Read(), kN);
}

TEST(CodeCountersTest, CountsByCodeMergedAcrossBlocks) {
  CodeCounters a, b;
  a.Add(200);
  a.Add(200);
  a.Add(404);
  b.Add(404);
  b.Add(0);  // no answer
  std::vector<std::pair<int, uint64_t>> out;
  a.ReadInto(&out);
  b.ReadInto(&out);
  std::sort(out.begin(), out.end());
  std::vector<std::pair<int, uint64_t>> want = {{0, 1}, {200, 2}, {404, 2}};
  EXPECT_EQ(out, want);
}

TEST(CodeCountersTest, CodesPastTheSlotsCountAsOther) {
  CodeCounters c;
  for (int code = 200; code < 200 + static_cast<int>(CodeCounters::kSlots) + 3; ++code) c.Add(code);
  c.Add(1000);  // out of range
  std::vector<std::pair<int, uint64_t>> out;
  c.ReadInto(&out);
  ASSERT_EQ(out.size(), CodeCounters::kSlots + 1);
  EXPECT_EQ(out.back(), (std::pair<int, uint64_t>{-1, 4}));
}

TEST(HistogramTest, BucketsSumAndCount) {
  Histogram h;
  h.Observe(100'000);         // 0.1 ms -> first bucket (<= 0.5 ms)
  h.Observe(1'000'000);       // 1 ms -> le 0.001 (bounds are inclusive)
  h.Observe(30'000'000'000);  // 30 s -> only +Inf
  Histogram::Snapshot s;
  h.ReadInto(&s);
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[1], 1u);
  uint64_t in_buckets = 0;
  for (uint64_t b : s.buckets) in_buckets += b;
  EXPECT_EQ(in_buckets, 2u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.sum_ns, 30'001'100'000u);
}

TEST(HistogramTest, ExemplarKeepsTheLatestTracedObservation) {
  Histogram h;
  uint8_t trace[16];
  for (int i = 0; i < 16; ++i) trace[i] = static_cast<uint8_t>(i + 1);
  h.Observe(2'000'000, trace, 1'700'000'000'123);
  h.Observe(2'100'000);  // untraced: the exemplar stays
  Histogram::Snapshot s;
  h.ReadInto(&s);
  const ExemplarValue& e = s.exemplars[2];  // le 0.0025
  ASSERT_TRUE(e.present());
  EXPECT_EQ(e.value_ns, 2'000'000);
  EXPECT_EQ(e.unix_ms, 1'700'000'000'123);
  EXPECT_FALSE(s.exemplars[0].present());
  Histogram::Snapshot merged;
  merged.Merge(s);
  EXPECT_EQ(merged.count, 2u);
  EXPECT_TRUE(merged.exemplars[2].present());
}

TEST(ServiceSeriesTest, OneBlockPerShardOnItsOwnCacheLines) {
  ServiceSeries series("svc", 2);
  EXPECT_EQ(series.shard_count(), 2u);
  // A shard's block is made at its first write; readers see none before.
  EXPECT_EQ(series.shard_if_made(0), nullptr);
  EXPECT_EQ(series.shard_if_made(1), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&series.shard(0)) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&series.shard(1)) % 64, 0u);
  series.shard(1).bytes_sent.Add(5);
  EXPECT_EQ(series.shard(0).bytes_sent.Read(), 0u);
  EXPECT_EQ(series.shard(1).bytes_sent.Read(), 5u);
  ASSERT_NE(series.shard_if_made(1), nullptr);
  EXPECT_EQ(series.shard_if_made(1)->bytes_sent.Read(), 5u);
  EXPECT_EQ(series.shard_if_made(1), &series.shard(1));
}

TEST(ProcessStatsTest, ReadsThisProcess) {
  ProcessStats p = ReadProcessStats();
  EXPECT_GT(p.resident_bytes, 0u);
  EXPECT_GT(p.virtual_bytes, p.resident_bytes);
  EXPECT_GE(p.open_fds, 3u);
  EXPECT_GT(p.max_fds, 0u);
  EXPECT_GT(p.start_time_seconds, 1.6e9);
  EXPECT_GE(p.threads, 1u);
}

TEST(ProcessStatsTest, CountsOpenDescriptorsExactly) {
  uint64_t before = ReadProcessStats().open_fds;
  int fds[10];
  for (int& fd : fds) fd = dup(0);
  EXPECT_EQ(ReadProcessStats().open_fds, before + 10);
  for (int fd : fds) close(fd);
  EXPECT_EQ(ReadProcessStats().open_fds, before);
}

}  // namespace metrics_test
}  // namespace icaht::metrics
