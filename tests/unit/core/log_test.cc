#include "core/log.h"

#include "gtest/gtest.h"

namespace icaht::core {
namespace log_test {

constexpr int64_t kSecond = 1'000'000'000;

TEST(LogRateLimiterTest, FirstLinePassesThenOnePerIntervalWithTheHeldBackCount) {
  LogRateLimiter limiter(kSecond);
  uint64_t suppressed = 99;
  ASSERT_TRUE(limiter.Allow(5 * kSecond, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  // A tight loop within the interval: every line held back.
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.Allow(5 * kSecond + i, &suppressed));
  EXPECT_FALSE(limiter.Allow(6 * kSecond - 1, &suppressed));
  // The next interval lets one through and reports what was held back.
  ASSERT_TRUE(limiter.Allow(6 * kSecond, &suppressed));
  EXPECT_EQ(suppressed, 1001u);
  // The count starts again from zero.
  EXPECT_FALSE(limiter.Allow(6 * kSecond + 1, &suppressed));
  ASSERT_TRUE(limiter.Allow(9 * kSecond, &suppressed));
  EXPECT_EQ(suppressed, 1u);
}

TEST(LogRateLimiterTest, RareLinesAllPass) {
  LogRateLimiter limiter(kSecond);
  uint64_t suppressed = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(limiter.Allow(i * 2 * kSecond, &suppressed));
    EXPECT_EQ(suppressed, 0u);
  }
}

TEST(LogRateLimiterTest, WorksAtClockZero) {
  // NowNs() is CLOCK_MONOTONIC: it may be small on a freshly booted machine.
  LogRateLimiter limiter(kSecond);
  uint64_t suppressed = 0;
  EXPECT_TRUE(limiter.Allow(0, &suppressed));
  EXPECT_FALSE(limiter.Allow(1, &suppressed));
}

}  // namespace log_test
}  // namespace icaht::core
