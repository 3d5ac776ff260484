#include "filters/retry_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace icaht::filters {
namespace retry_policy_test {

using http::Method;
using ::testing::ElementsAre;

TEST(RetryPolicyTest, RetryOnNamesRoundTrip) {
  RetryPolicy p;
  p.retry_on = 0;
  for (auto name : {"connect-failure", "refused-stream", "reset", "gateway-error", "5xx",
                    "retriable-status:409,429"}) {
    EXPECT_TRUE(AddRetryOn(name, p)) << name;
  }
  EXPECT_THAT(RetryOnNames(p), ElementsAre("connect-failure", "refused-stream", "reset",
                                           "gateway-error", "5xx", "retriable-status:409,429"));
  for (auto bad : {"connect_failure", "retriable-status:", "retriable-status:99",
                   "retriable-status:600", "retriable-status:5x", "retriable-status:302"}) {
    EXPECT_FALSE(AddRetryOn(bad, p)) << bad;
  }
}

struct Case {
  const char* name;
  AttemptEnd end;
  Method method;
  bool has_body;
  int attempts_made;
  uint32_t retries_in_flight;
  uint32_t requests_in_flight;
  RetryVerdict want;
};

// Method x error kind x attempt x budget, with retry_on connect-failure, gateway-error,
// refused-stream and retriable-status:429; 3 attempts; budget 20%, at least 3.
TEST(RetryPolicyTest, Decisions) {
  RetryPolicy p;
  p.attempts = 3;
  ASSERT_TRUE(AddRetryOn("retriable-status:429", p));
  using V = RetryVerdict;
  const AttemptEnd refused{.error = ErrorKind::kConnectRefused};
  const AttemptEnd timeout{.error = ErrorKind::kConnectTimeout};
  const AttemptEnd reset_fresh{.error = ErrorKind::kUpstreamReset};
  const AttemptEnd reset_reused{.error = ErrorKind::kUpstreamReset, .reused_connection = true};
  const AttemptEnd keepalive_race{
      .error = ErrorKind::kUpstreamReset, .reused_connection = true, .unprocessed = true};
  const AttemptEnd s503{.status = 503};
  const AttemptEnd s500{.status = 500};
  const AttemptEnd s429{.status = 429};
  const AttemptEnd per_try{.per_try_timeout = true};
  const AttemptEnd bad{.error = ErrorKind::kBadResponse};
  const Case cases[] = {
      {"connect refused, POST with body", refused, Method::kPost, true, 1, 0, 1, V::kRetry},
      {"connect timeout, GET", timeout, Method::kGet, false, 1, 0, 1, V::kRetry},
      {"503, GET", s503, Method::kGet, false, 1, 0, 1, V::kRetry},
      {"503, POST", s503, Method::kPost, false, 1, 0, 1, V::kNotRetryable},
      {"503, PUT with body", s503, Method::kPut, true, 1, 0, 1, V::kNotRetryable},
      {"503, DELETE", s503, Method::kDelete, false, 2, 0, 1, V::kRetry},
      {"500 is not a gateway error", s500, Method::kGet, false, 1, 0, 1, V::kNotRetryable},
      {"429 listed", s429, Method::kGet, false, 1, 0, 1, V::kRetry},
      {"per-try timeout, GET", per_try, Method::kGet, false, 1, 0, 1, V::kRetry},
      {"per-try timeout, PATCH", per_try, Method::kPatch, false, 1, 0, 1, V::kNotRetryable},
      {"reset on a fresh connection: not asked for", reset_fresh, Method::kGet, false, 1, 0, 1,
       V::kNotRetryable},
      {"reset on a reused one: refused-stream", reset_reused, Method::kGet, false, 1, 0, 1,
       V::kRetry},
      {"reset on a reused one, POST", reset_reused, Method::kPost, false, 1, 0, 1,
       V::kNotRetryable},
      {"keep-alive race, bodiless POST", keepalive_race, Method::kPost, false, 1, 0, 1, V::kRetry},
      {"keep-alive race, POST with body", keepalive_race, Method::kPost, true, 1, 0, 1,
       V::kNotRetryable},
      {"bad response is never retried", bad, Method::kGet, false, 1, 0, 1, V::kNotRetryable},
      {"third attempt was the last", s503, Method::kGet, false, 3, 0, 1, V::kNoAttemptsLeft},
      {"connect refused, attempts spent", refused, Method::kGet, false, 3, 0, 1,
       V::kNoAttemptsLeft},
      {"budget: 3 retries in flight of 10 requests", s503, Method::kGet, false, 1, 3, 10,
       V::kBudgetExhausted},
      {"budget: 19 of 100 (20%)", s503, Method::kGet, false, 1, 19, 100, V::kRetry},
      {"budget: 20 of 100", s503, Method::kGet, false, 1, 20, 100, V::kBudgetExhausted},
  };
  for (const Case& c : cases) {
    RetryContext context{.method = c.method,
                         .has_body = c.has_body,
                         .attempts_made = c.attempts_made,
                         .instances = 3,
                         .retries_in_flight = c.retries_in_flight,
                         .requests_in_flight = c.requests_in_flight};
    EXPECT_EQ(DecideRetry(p, c.end, context), c.want) << c.name;
  }
  RetryPolicy reset_too = p;
  ASSERT_TRUE(AddRetryOn("reset", reset_too));
  EXPECT_EQ(DecideRetry(reset_too, reset_fresh, {.method = Method::kGet}), V::kRetry);
  RetryPolicy any_5xx;
  any_5xx.retry_on = 0;
  ASSERT_TRUE(AddRetryOn("5xx", any_5xx));
  EXPECT_EQ(DecideRetry(any_5xx, s500, {.method = Method::kGet}), V::kRetry);
  // A body kept whole for replay makes a request with a body like a bodiless
  // one; it never makes a POST that reached the upstream repeatable.
  const RetryContext kept_put{.method = Method::kPut, .has_body = true, .body_replayable = true};
  EXPECT_EQ(DecideRetry(p, s503, kept_put), V::kRetry);
  EXPECT_EQ(DecideRetry(p, reset_reused, kept_put), V::kRetry);
  const RetryContext kept_post{.method = Method::kPost, .has_body = true, .body_replayable = true};
  EXPECT_EQ(DecideRetry(p, s503, kept_post), V::kNotRetryable);
  EXPECT_EQ(DecideRetry(p, keepalive_race, kept_post), V::kRetry);
  EXPECT_EQ(DecideRetry(any_5xx, refused, {.method = Method::kGet}), V::kNotRetryable);
}

TEST(RetryPolicyTest, BackoffIsFullJitterUnderACappedExponential) {
  RetryPolicy p;  // 25 ms base, 250 ms max
  EXPECT_EQ(RetryBackoffNs(p, 1, 0.0), 0);
  EXPECT_EQ(RetryBackoffNs(p, 1, 0.5), 12'500'000);
  EXPECT_EQ(RetryBackoffNs(p, 2, 0.5), 25'000'000);

  EXPECT_EQ(RetryBackoffNs(p, 10, 0.5), 125'000'000);  // capped at 250 ms
}

}  // namespace retry_policy_test
}  // namespace icaht::filters
