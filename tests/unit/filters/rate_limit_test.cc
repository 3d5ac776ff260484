// Tests of src/filters/rate_limit/: the token bucket and the keyed buckets.
// Every test runs on an injected clock.

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "filters/rate_limit/keyed_buckets.h"
#include "filters/rate_limit/token_bucket.h"
#include "gtest/gtest.h"

// Counts allocations while g_count_allocations is set (single-threaded tests).
namespace {
bool g_count_allocations = false;
size_t g_allocations = 0;
}  // namespace

// Out of line, so that GCC does not pair an inlined free() with the builtin
// operator new (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(size_t size) {
  if (g_count_allocations) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace icaht::filters {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;

// ---- TokenBucket ------------------------------------------------------------

TEST(TokenBucketTest, StartsFullRefillsAtRateUpToCapacity) {
  TokenBucket bucket(10, 5, 0);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.Take(1, 0)) << i;
  EXPECT_FALSE(bucket.Take(1, 0));
  EXPECT_EQ(bucket.TimeUntil(1, 0), 100 * kMs);
  EXPECT_FALSE(bucket.Take(1, 99 * kMs));
  EXPECT_TRUE(bucket.Take(1, 100 * kMs));
  EXPECT_FALSE(bucket.FullAt(500 * kMs));
  EXPECT_TRUE(bucket.FullAt(600 * kMs));
  bucket.Refill(10 * kSecond);  // never past capacity
  EXPECT_DOUBLE_EQ(bucket.tokens(), 5);
  EXPECT_EQ(bucket.TimeUntil(5, 10 * kSecond), 0);
}

TEST(TokenBucketTest, FractionalRates) {
  TokenBucket bucket(0.5, 1, 0);  // one request per 2 s
  EXPECT_TRUE(bucket.Take(1, 0));
  EXPECT_EQ(bucket.TimeUntil(1, 0), 2 * kSecond);
  EXPECT_FALSE(bucket.Take(1, 2 * kSecond - 1));
  EXPECT_TRUE(bucket.Take(1, 2 * kSecond));
  TokenBucket thirds(3, 1, 0);
  EXPECT_TRUE(thirds.Take(1, 0));
  int64_t wait = thirds.TimeUntil(1, 0);
  EXPECT_EQ(wait, 333'333'334);  // rounded up: taking at `wait` succeeds
  EXPECT_FALSE(thirds.Take(1, wait - 1));
  EXPECT_TRUE(thirds.Take(1, wait));
}

TEST(TokenBucketTest, SmallerThanOneRequestAdmitsWhenFullThenPaysBack) {
  TokenBucket bucket(0.25, 0.25, 0);  // a quarter share of rate 1, burst 1
  EXPECT_TRUE(bucket.Take(1, 0));
  EXPECT_DOUBLE_EQ(bucket.tokens(), -0.75);
  EXPECT_DOUBLE_EQ(bucket.fill(), -3);
  EXPECT_EQ(bucket.TimeUntil(1, 0), 4 * kSecond);  // back to full (0.25)
  EXPECT_FALSE(bucket.Take(1, 4 * kSecond - 1));
  EXPECT_TRUE(bucket.Take(1, 4 * kSecond));
}

TEST(TokenBucketTest, ClockGoingBackAddsNothing) {
  TokenBucket bucket(1, 2, 10 * kSecond);
  EXPECT_TRUE(bucket.Take(2, 10 * kSecond));
  EXPECT_FALSE(bucket.Take(1, 5 * kSecond));
  EXPECT_TRUE(bucket.Take(1, 11 * kSecond));
}

// ---- KeyedBuckets -----------------------------------------------------------

TEST(KeyedBucketsTest, MemoryIsBoundedByMaxKeys) {
  KeyedBuckets buckets(1, 10, 3);
  for (int i = 0; i < 100; ++i) buckets.Attempt("k" + std::to_string(i), i * kMs);
  EXPECT_EQ(buckets.size(), 3u);
  EXPECT_NE(buckets.Find("k99"), nullptr);
}

TEST(KeyedBucketsTest, EvictsAFullBucketBeforeTheLeastRecentlyUsed) {
  KeyedBuckets buckets(1, 10, 3);  // 1/s, burst 10
  buckets.Attempt("a", 0).bucket.Consume(10);
  buckets.Attempt("b", 1).bucket.Consume(1);  // full again 1 s later
  buckets.Attempt("c", 2).bucket.Consume(10);
  buckets.Attempt("d", 2 * kSecond);
  EXPECT_EQ(buckets.Find("b"), nullptr);
  EXPECT_NE(buckets.Find("a"), nullptr);  // least recently used, but it holds a debt of tokens
  EXPECT_NE(buckets.Find("c"), nullptr);
  // None full now (d was just used, a and c hold 2 of 10): the least recently used goes.
  buckets.Attempt("d", 2 * kSecond).bucket.Consume(5);
  buckets.Attempt("e", 2 * kSecond + 1);
  EXPECT_EQ(buckets.Find("a"), nullptr);
  EXPECT_NE(buckets.Find("c"), nullptr);
  EXPECT_NE(buckets.Find("d"), nullptr);
}

TEST(KeyedBucketsTest, ExistingKeysDoNotAllocate) {
  KeyedBuckets buckets(100, 100, 1000);
  std::string long_key(100, 'x');
  buckets.Attempt(long_key, 0);
  buckets.Attempt("203.0.113.7", 0);
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 1; i < 1000; ++i) {
    buckets.Attempt(long_key, i * kMs).bucket.Take(1, i * kMs);
    buckets.Attempt("203.0.113.7", i * kMs).bucket.Take(1, i * kMs);
  }
  g_count_allocations = false;
  EXPECT_EQ(g_allocations, 0u);
}

TEST(KeyedBucketsTest, ReportsActiveAndRefillingKeysOnly) {
  KeyedBuckets buckets(10, 10, 100);
  buckets.SetShardCount(2, 0);  // rate 5, capacity 5 each
  buckets.Attempt("busy", 0).bucket.Consume(5);
  buckets.Attempt("light", 0);  // attempted, not consumed: full
  std::vector<DemandEntry> report;
  buckets.TakeDemand(3, 0, &report);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0],
            (DemandEntry{.limit = 3, .key = "busy", .attempts = 1, .share = 0.5, .fill = 0}));
  EXPECT_EQ(report[1].key, "light");
  EXPECT_DOUBLE_EQ(report[1].fill, 1);
  // Next period: no attempts; "busy" still refilling (reported), "light" idle and full (not).
  report.clear();
  buckets.TakeDemand(3, 500 * kMs, &report);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0].key, "busy");
  EXPECT_EQ(report[0].attempts, 0u);
  EXPECT_DOUBLE_EQ(report[0].fill, 0.5);
  report.clear();
  buckets.TakeDemand(3, 2 * kSecond, &report);  // full again: done
  EXPECT_TRUE(report.empty());
}

TEST(KeyedBucketsTest, SharesRescaleTheBucket) {
  KeyedBuckets buckets(100, 100, 100);
  buckets.SetShardCount(4, 0);
  KeyedBuckets::Entry& entry = buckets.Attempt("k", 0);  // share 0.25: 25 tokens
  entry.bucket.Consume(15);                              // fill 0.4
  // Shrinking keeps the fill.
  buckets.ApplyShare("k", 0.125, 1, 0);
  EXPECT_DOUBLE_EQ(entry.bucket.capacity(), 12.5);
  EXPECT_DOUBLE_EQ(entry.bucket.rate(), 12.5);
  EXPECT_DOUBLE_EQ(entry.bucket.tokens(), 5);
  // Growing adds the new capacity at the granted fill.
  buckets.ApplyShare("k", 0.625, 0.5, 0);
  EXPECT_DOUBLE_EQ(entry.bucket.capacity(), 62.5);
  EXPECT_DOUBLE_EQ(entry.bucket.tokens(), 5 + 50 * 0.5);
  // Unconfirmed for kShareHoldNs: back to 1/N, keeping the fill.
  buckets.Attempt("k", kShareHoldNs);
  EXPECT_DOUBLE_EQ(entry.share, 0.625);
  buckets.Attempt("k", kShareHoldNs + 1);
  EXPECT_DOUBLE_EQ(entry.share, 0.25);
  EXPECT_DOUBLE_EQ(entry.bucket.capacity(), 25);
}

TEST(KeyedBucketsTest, AnUpdateCreatesOnlyRestrictingShares) {
  KeyedBuckets buckets(100, 100, 100);
  buckets.SetShardCount(4, 0);
  buckets.ApplyShare("elsewhere", 0.005, 1, 0);
  ASSERT_NE(buckets.Find("elsewhere"), nullptr);
  EXPECT_DOUBLE_EQ(buckets.Find("elsewhere")->bucket.capacity(), 0.5);
  EXPECT_DOUBLE_EQ(buckets.Find("elsewhere")->bucket.tokens(), 0.5);
  buckets.ApplyShare("generous", 0.9, 1, 0);  // absent = full at 0.25: already less
  EXPECT_EQ(buckets.Find("generous"), nullptr);
}

}  // namespace
}  // namespace icaht::filters
