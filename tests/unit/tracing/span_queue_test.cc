#include "tracing/span_queue.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>

namespace icaht::tracing {
namespace span_queue_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

Span Numbered(uint16_t n) {
  Span span;
  span.attempts = n;  // an easy field to tell spans apart by
  return span;
}

// Pushes `n` spans at time 0 and takes the first batch.
void PushAndSend(SpanQueue& q, uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) q.Push(Numbered(i), 0);
  ASSERT_TRUE(q.TakeBatchToSend(0));
}

SpanQueueOptions Small() {
  SpanQueueOptions o;
  o.capacity = 10;
  o.batch_size = 4;
  o.max_retries = 3;
  o.jitter = false;
  return o;
}

TEST(SpanQueueTest, DropsAndCountsWhenFull) {
  SpanQueue q(Small(), core::FastRandom(1));
  for (uint16_t i = 0; i < 15; ++i) q.Push(Numbered(i), 0);
  EXPECT_EQ(q.size(), 10u);
  EXPECT_EQ(q.dropped(), 5u);
  EXPECT_EQ(q.dropped_queue_full(), 5u);
  // The batch in flight counts against the capacity too.
  auto batch = q.TakeBatchToSend(0);
  ASSERT_TRUE(batch);
  q.Push(Numbered(99), 0);
  EXPECT_EQ(q.dropped(), 6u);
  q.OnResult(200, 1);
  q.Push(Numbered(100), 1);
  EXPECT_EQ(q.size(), 7u);
  EXPECT_EQ(q.exported(), 4u);
}

TEST(SpanQueueTest, FullBatchGoesAtOnceInOrder) {
  SpanQueue q(Small(), core::FastRandom(1));
  std::vector<Span> from_shard;
  for (uint16_t i = 0; i < 6; ++i) from_shard.push_back(Numbered(i));
  q.Push(std::move(from_shard), 100);
  EXPECT_EQ(q.NextWakeup(), 100);  // ready now
  auto batch = q.TakeBatchToSend(100);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->spans.size(), 4u);
  EXPECT_EQ(batch->attempt, 0);
  for (uint16_t i = 0; i < 4; ++i) EXPECT_EQ(batch->spans[i].attempts, i);
  // One in flight at a time.
  EXPECT_FALSE(q.TakeBatchToSend(100 + 10 * kSecond));
  EXPECT_EQ(q.NextWakeup(), kNever);
  q.OnResult(204, 200);
  // The remaining two wait for the flush interval (from when they were pushed).
  EXPECT_EQ(q.NextWakeup(), 100 + kSecond);
  EXPECT_FALSE(q.TakeBatchToSend(100 + kSecond - 1));
  batch = q.TakeBatchToSend(100 + kSecond);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->spans.size(), 2u);
  EXPECT_EQ(batch->spans[0].attempts, 4);
  q.OnResult(200, 100 + kSecond);
  EXPECT_EQ(q.exported(), 6u);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.NextWakeup(), kNever);
  EXPECT_FALSE(q.TakeBatchToSend(1000 * kSecond));
}

TEST(SpanQueueTest, FlushSendsWithoutWaiting) {
  SpanQueue q(Small(), core::FastRandom(1));
  q.Push(Numbered(1), 0);
  EXPECT_FALSE(q.TakeBatchToSend(1));
  auto batch = q.TakeBatchToSend(1, /*flush=*/true);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->spans.size(), 1u);
}

TEST(SpanQueueTest, RetriesWithExponentialBackoff) {
  SpanQueueOptions o = Small();
  o.max_retries = 10;
  SpanQueue q(o, core::FastRandom(1));
  PushAndSend(q, 4);
  int64_t now = 0;
  // 1, 2, 4, 8, 16, then capped at 30 s.
  const int64_t want[] = {1, 2, 4, 8, 16, 30, 30};
  const int statuses[] = {503, 429, SpanQueue::kConnectionFailed, 500, 502, 504, 503};
  for (int i = 0; i < 7; ++i) {
    q.OnResult(statuses[i], now);
    EXPECT_EQ(q.NextWakeup(), now + want[i] * kSecond) << i;
    EXPECT_FALSE(q.TakeBatchToSend(now + want[i] * kSecond - 1));
    now += want[i] * kSecond;
    auto batch = q.TakeBatchToSend(now);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->attempt, i + 1);
    EXPECT_EQ(batch->spans.size(), 4u);  // the same spans again
    EXPECT_EQ(batch->spans[3].attempts, 3);
  }
  EXPECT_EQ(q.retries(), 7u);
  q.OnResult(200, now);
  EXPECT_EQ(q.exported(), 4u);
  EXPECT_EQ(q.dropped(), 0u);
}

TEST(SpanQueueTest, RetryAfterFromTheCollectorIsHonoured) {
  SpanQueue q(Small(), core::FastRandom(1));
  PushAndSend(q, 4);
  q.OnResult(429, 0, 7 * kSecond);
  EXPECT_EQ(q.NextWakeup(), 7 * kSecond);
}

TEST(SpanQueueTest, GivesUpAfterMaxRetries) {
  SpanQueue q(Small(), core::FastRandom(1));  // max_retries 3
  PushAndSend(q, 5);
  int64_t now = 0;
  std::optional<SpanQueue::Batch> batch;
  for (int attempt = 0; attempt < 3; ++attempt) {
    q.OnResult(503, now);
    now = q.NextWakeup();
    batch = q.TakeBatchToSend(now);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->attempt, attempt + 1);
  }
  q.OnResult(503, now);  // the fourth failure: dropped
  EXPECT_EQ(q.dropped(), 4u);
  EXPECT_EQ(q.dropped_export_failed(), 4u);
  EXPECT_EQ(q.size(), 1u);
  // The queue goes on with the next span.
  batch = q.TakeBatchToSend(now);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->attempt, 0);
  EXPECT_EQ(batch->spans.size(), 1u);
}

TEST(SpanQueueTest, GivesUpWhenTheBatchWouldBeTooOld) {
  SpanQueueOptions o = Small();
  o.max_retries = 100;
  o.max_age_ns = 10 * kSecond;
  SpanQueue q(o, core::FastRandom(1));
  PushAndSend(q, 4);
  q.OnResult(503, 0);  // retry at 1 s
  ASSERT_TRUE(q.TakeBatchToSend(kSecond));
  q.OnResult(503, 5 * kSecond);  // retry at 7 s: still within 10 s
  ASSERT_TRUE(q.TakeBatchToSend(7 * kSecond));
  q.OnResult(503, 7 * kSecond);  // a retry at 11 s would pass the age
  EXPECT_EQ(q.dropped_export_failed(), 4u);
  EXPECT_EQ(q.retries(), 2u);
}

TEST(SpanQueueTest, RefusalIsFinal) {
  SpanQueue q(Small(), core::FastRandom(1));
  PushAndSend(q, 4);
  q.OnResult(400, 0);
  EXPECT_EQ(q.dropped_export_failed(), 4u);
  EXPECT_EQ(q.retries(), 0u);
  EXPECT_EQ(q.NextWakeup(), kNever);
}

TEST(SpanQueueTest, JitterStaysWithinHalfToFullBackoff) {
  SpanQueueOptions o = Small();
  o.jitter = true;
  o.max_retries = 1;
  std::set<int64_t> waits;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SpanQueue q(o, core::FastRandom(seed));
    PushAndSend(q, 4);
    q.OnResult(503, 0);
    const int64_t wait = q.NextWakeup();
    EXPECT_GE(wait, kSecond / 2);
    EXPECT_LE(wait, kSecond);
    waits.insert(wait);
  }
  EXPECT_GT(waits.size(), 150u);
}

TEST(SpanQueueDeathTest, ResultWithoutBatchIsAProgrammingError) {
  SpanQueue q(Small(), core::FastRandom(1));
  EXPECT_DEATH(q.OnResult(200, 0), "CHECK failed");
}

}  // namespace span_queue_test
}  // namespace icaht::tracing
