#include "proxy/circuit_breaker.h"

#include <vector>

#include "gtest/gtest.h"

namespace icaht::proxy {
namespace circuit_breaker_test {

struct Waiting final : CircuitBreaker::Waiter {
  void OnConnectionSlot() override { ++told; }
  int told = 0;
};

filters::CircuitBreakerSpec Limits(uint32_t connections, uint32_t pending, uint32_t requests,
                                   uint32_t retries) {
  return {.max_connections = connections,
          .max_pending = pending,
          .max_requests = requests,
          .max_retries = retries};
}

TEST(CircuitBreakerTest, EachShardEnforcesItsShareRoundedUp) {
  CircuitBreaker b;
  EXPECT_FALSE(b.enabled());
  b.SetLimits(Limits(10, 0, 7, 3), 4);
  EXPECT_TRUE(b.enabled());
  EXPECT_EQ(b.limits(), Limits(3, 0, 2, 1));
  b.SetLimits(Limits(1, 5, 1, 0), 2);
  EXPECT_EQ(b.limits(), Limits(1, 3, 1, 0));  // never below one where one is allowed
}

TEST(CircuitBreakerTest, RequestsOverTheLimitAreRefused) {
  CircuitBreaker b;
  b.SetLimits(Limits(10, 10, 2, 3), 1);
  EXPECT_TRUE(b.AdmitRequest());
  EXPECT_TRUE(b.AdmitRequest());
  EXPECT_FALSE(b.AdmitRequest());
  EXPECT_EQ(b.requests(), 2u);
  b.EndRequest();
  EXPECT_TRUE(b.AdmitRequest());
  b.Disable();  // no limits, counts go on
  EXPECT_TRUE(b.AdmitRequest());
  EXPECT_EQ(b.requests(), 3u);
}

TEST(CircuitBreakerTest, SlotsQueueFirstComeFirstServed) {
  CircuitBreaker b;
  b.SetLimits(Limits(1, 2, 100, 3), 1);
  Waiting a, w1, w2, w3;
  EXPECT_EQ(b.AcquireConnection(&a), CircuitBreaker::Slot::kGranted);
  EXPECT_EQ(b.AcquireConnection(&w1), CircuitBreaker::Slot::kQueued);
  EXPECT_EQ(b.AcquireConnection(&w2), CircuitBreaker::Slot::kQueued);
  EXPECT_EQ(b.AcquireConnection(&w3), CircuitBreaker::Slot::kRefused);  // the queue is full
  EXPECT_EQ(b.pending(), 2u);
  // A released slot passes to the first in line (still counted).
  EXPECT_EQ(b.ReleaseConnection(), &w1);
  EXPECT_EQ(b.connections(), 1u);
  EXPECT_EQ(b.pending(), 1u);
  EXPECT_EQ(b.ReleaseConnection(), &w2);
  EXPECT_EQ(b.ReleaseConnection(), nullptr);
  EXPECT_EQ(b.connections(), 0u);
  // Nobody overtakes a waiter: with one queued, a free slot is not taken.
  EXPECT_EQ(b.AcquireConnection(&a), CircuitBreaker::Slot::kGranted);
  EXPECT_EQ(b.AcquireConnection(&w1), CircuitBreaker::Slot::kQueued);
  b.Disable();
  EXPECT_EQ(b.AcquireConnection(&w2), CircuitBreaker::Slot::kQueued);
  EXPECT_EQ(b.GrantNext(), &w1);  // no limits now: everyone waiting goes
  EXPECT_EQ(b.GrantNext(), &w2);
  EXPECT_EQ(b.GrantNext(), nullptr);
  EXPECT_EQ(b.connections(), 3u);
}

TEST(CircuitBreakerTest, AWaiterThatGivesUpLeavesTheQueue) {
  CircuitBreaker b;
  b.SetLimits(Limits(1, 3, 100, 3), 1);
  Waiting a, w1, w2, w3;
  ASSERT_EQ(b.AcquireConnection(&a), CircuitBreaker::Slot::kGranted);
  ASSERT_EQ(b.AcquireConnection(&w1), CircuitBreaker::Slot::kQueued);
  ASSERT_EQ(b.AcquireConnection(&w2), CircuitBreaker::Slot::kQueued);
  ASSERT_EQ(b.AcquireConnection(&w3), CircuitBreaker::Slot::kQueued);
  b.CancelWait(&w2);  // the middle one
  b.CancelWait(&w2);  // twice is harmless
  EXPECT_EQ(b.pending(), 2u);
  b.CancelWait(&w1);  // the head
  EXPECT_EQ(b.ReleaseConnection(), &w3);
  EXPECT_EQ(b.pending(), 0u);
  // Raised limits let waiters in.
  ASSERT_EQ(b.AcquireConnection(&w1), CircuitBreaker::Slot::kQueued);
  EXPECT_EQ(b.GrantNext(), nullptr);
  b.SetLimits(Limits(2, 3, 100, 3), 1);
  EXPECT_EQ(b.GrantNext(), &w1);
}

TEST(CircuitBreakerTest, NoPendingMeansNoneWait) {
  CircuitBreaker b;
  b.SetLimits(Limits(1, 0, 100, 3), 1);
  Waiting a, w;
  EXPECT_EQ(b.AcquireConnection(&a), CircuitBreaker::Slot::kGranted);
  EXPECT_EQ(b.AcquireConnection(&w), CircuitBreaker::Slot::kRefused);
}

TEST(CircuitBreakerTest, Retries) {
  CircuitBreaker b;
  EXPECT_TRUE(b.AdmitRetry(1000));  // no limits
  b.SetLimits(Limits(10, 10, 10, 2), 1);
  EXPECT_TRUE(b.AdmitRetry(1));
  EXPECT_FALSE(b.AdmitRetry(2));
  b.SetLimits(Limits(10, 10, 10, 0), 1);
  EXPECT_FALSE(b.AdmitRetry(0));
}

}  // namespace circuit_breaker_test
}  // namespace icaht::proxy
