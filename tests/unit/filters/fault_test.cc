// FaultFilter on a TimerQueue the test fires by hand and a seeded random:
// percentages exact at 0 and 100 and within tolerance in between, the header
// gate, a delay that resumes (or then aborts), cancellation, the filter's
// destruction while exchanges are delayed, and its place in the chain.

#include "filters/fault.h"

#include <climits>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "filter_test_util.h"
#include "filters/filter_chain.h"
#include "gtest/gtest.h"

namespace icaht::filters {
namespace fault_test {

using Fault = RequestContext::FaultInjected;

constexpr int64_t kMs = 1'000'000;
constexpr char kGet[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
constexpr char kGetWithHeader[] = "GET /a HTTP/1.1\r\nHost: h\r\nX-Icaht-Fault: yes\r\n\r\n";

FaultSpec Abort(double percent, uint16_t status = 503) {
  FaultSpec spec;
  spec.abort_status = status;
  spec.abort_percent = percent;
  return spec;
}

FaultSpec Delay(double percent, uint32_t ms = 100) {
  FaultSpec spec;
  spec.delay_ms = ms;
  spec.delay_percent = percent;
  return spec;
}

// Runs the request phase of `filter` on a new exchange of `ctx` (reset first).
Verdict Exchange(FaultFilter& filter, RequestContext& ctx, FilterCallbacks& callbacks,
                 const char* raw = kGet) {
  ctx.Reset();
  SetRequestText(ctx, raw);
  return filter.OnRequestHead(ctx, callbacks);
}

// How many of `n` requests `filter` answers with its abort (no delay configured).
int CountAborts(FaultFilter& filter, int n) {
  RequestContext ctx;
  NoCallbacks callbacks;
  int aborted = 0;
  for (int i = 0; i < n; ++i) {
    Verdict v = Exchange(filter, ctx, callbacks);
    EXPECT_NE(v, Verdict::kPause);
    if (v == Verdict::kRespond) ++aborted;
  }
  return aborted;
}

TEST(FaultFilterTest, AbortAnswersLocallyWithTheStatusBodyAndField) {
  FaultFilter filter(Abort(100, 418), nullptr, core::FastRandom(1));
  RequestContext ctx;
  NoCallbacks callbacks;
  ASSERT_EQ(Exchange(filter, ctx, callbacks), Verdict::kRespond);
  EXPECT_EQ(ctx.local_response.status, 418);
  EXPECT_EQ(ctx.local_response.body, "fault injected\n");
  EXPECT_EQ(ctx.local_response.content_type, "text/plain; charset=utf-8");
  ASSERT_EQ(ctx.local_response.fields.size(), 1u);
  EXPECT_EQ(ctx.local_response.fields[0].name, "x-icaht-fault");
  EXPECT_EQ(ctx.local_response.fields[0].value, "abort");
  EXPECT_EQ(ctx.fault, Fault::kAbort);
  EXPECT_EQ(FaultInjectedLabel(ctx.fault), "abort");
  EXPECT_EQ(filter.aborts(), 1u);
  ctx.Reset();
  EXPECT_EQ(ctx.fault, Fault::kNone);
}

TEST(FaultFilterTest, ZeroAndHundredPercentAreExact) {
  FaultFilter never(Abort(0), nullptr, core::FastRandom(2));
  EXPECT_EQ(CountAborts(never, 10000), 0);
  FaultFilter always(Abort(100), nullptr, core::FastRandom(3));
  EXPECT_EQ(CountAborts(always, 10000), 10000);

  core::TimerQueue timers;
  FaultFilter no_delay(Delay(0), &timers, core::FastRandom(4));
  RequestContext ctx;
  NoCallbacks callbacks;
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(Exchange(no_delay, ctx, callbacks), Verdict::kContinue);
  EXPECT_EQ(no_delay.delays(), 0u);
  EXPECT_EQ(timers.NextDeadline(), INT64_MAX);
}

TEST(FaultFilterTest, FractionalPercentagesHoldWithinFiveSigma) {
  // Binomial: n p ± 5 sqrt(n p (1 - p)). Seeded, so the counts are the same
  // on every run; the bound says the draw is right, not lucky.
  constexpr int kN = 10000;
  for (double percent : {0.5, 1.0, 30.0, 99.5}) {
    FaultFilter filter(Abort(percent), nullptr, core::FastRandom(42));
    double p = percent / 100;
    double mean = kN * p;
    double slack = 5 * std::sqrt(kN * p * (1 - p));
    int aborted = CountAborts(filter, kN);
    EXPECT_GE(aborted, mean - slack) << percent;
    EXPECT_LE(aborted, mean + slack) << percent;
  }
}

TEST(FaultFilterTest, HeaderGateLeavesOtherRequestsAlone) {
  FaultSpec spec = Abort(100);
  spec.header = "x-icaht-fault";
  FaultFilter filter(spec, nullptr, core::FastRandom(5));
  RequestContext ctx;
  NoCallbacks callbacks;
  EXPECT_EQ(Exchange(filter, ctx, callbacks, kGet), Verdict::kContinue);
  EXPECT_EQ(ctx.fault, Fault::kNone);
  EXPECT_EQ(ctx.local_response.status, 0);
  // Any value, any case of the name.
  EXPECT_EQ(Exchange(filter, ctx, callbacks, kGetWithHeader), Verdict::kRespond);
  EXPECT_EQ(Exchange(filter, ctx, callbacks, "GET / HTTP/1.1\r\nHost: h\r\nx-icaht-fault:\r\n\r\n"),
            Verdict::kRespond);
  EXPECT_EQ(filter.aborts(), 2u);
}

TEST(FaultFilterTest, DelayPausesThenResumesWhenTheTimerFires) {
  core::TimerQueue timers;
  FaultFilter filter(Delay(100, 250), &timers, core::FastRandom(6));
  RequestContext ctx;
  CountingCallbacks callbacks;
  int64_t before = core::LoopNowNs();
  ASSERT_EQ(Exchange(filter, ctx, callbacks), Verdict::kPause);
  EXPECT_EQ(ctx.fault, Fault::kDelay);
  EXPECT_EQ(filter.delays(), 1u);
  EXPECT_EQ(filter.delayed_now(), 1u);
  int64_t deadline = timers.NextDeadline();
  EXPECT_GE(deadline - before, 250 * kMs);
  timers.FireExpired(deadline - 1);
  EXPECT_EQ(callbacks.resumed, 0);
  timers.FireExpired(deadline);
  EXPECT_EQ(callbacks.resumed, 1);
  EXPECT_EQ(callbacks.responded, 0);
  EXPECT_EQ(filter.delayed_now(), 0u);
  EXPECT_EQ(timers.NextDeadline(), INT64_MAX);
  EXPECT_EQ(core::DeferredCount(), 0u);  // FireExpired ran the deferred deletion
}

TEST(FaultFilterTest, AbortIsDecidedAfterTheDelay) {
  core::TimerQueue timers;
  FaultSpec spec = Delay(100, 10);
  spec.abort_status = 502;
  spec.abort_percent = 100;
  FaultFilter filter(spec, &timers, core::FastRandom(7));
  RequestContext ctx;
  CountingCallbacks callbacks;
  ASSERT_EQ(Exchange(filter, ctx, callbacks), Verdict::kPause);
  EXPECT_EQ(filter.aborts(), 0u);  // not yet: the draw comes after the delay
  EXPECT_EQ(ctx.local_response.status, 0);
  timers.FireExpired(timers.NextDeadline());
  EXPECT_EQ(callbacks.resumed, 0);
  EXPECT_EQ(callbacks.responded, 1);
  EXPECT_EQ(ctx.local_response.status, 502);
  EXPECT_EQ(ctx.fault, Fault::kDelayAndAbort);
  EXPECT_EQ(FaultInjectedLabel(ctx.fault), "delay+abort");
}

TEST(FaultFilterTest, EachDelayedExchangeResumesWithItsOwnCallbacks) {
  core::TimerQueue timers;
  FaultFilter filter(Delay(100, 5), &timers, core::FastRandom(8));
  RequestContext a, b;
  CountingCallbacks ca, cb;
  ASSERT_EQ(Exchange(filter, a, ca), Verdict::kPause);
  ASSERT_EQ(Exchange(filter, b, cb), Verdict::kPause);
  EXPECT_EQ(filter.delayed_now(), 2u);
  filter.OnCancel(a);  // a's client went away
  timers.FireExpired(INT64_MAX - 1);
  EXPECT_EQ(ca.resumed + ca.responded, 0);
  EXPECT_EQ(cb.resumed, 1);
  EXPECT_EQ(filter.delayed_now(), 0u);
}

TEST(FaultFilterTest, CancelDisarmsTheTimer) {
  core::TimerQueue timers;
  FaultFilter filter(Delay(100), &timers, core::FastRandom(9));
  RequestContext ctx;
  CountingCallbacks callbacks;
  ASSERT_EQ(Exchange(filter, ctx, callbacks), Verdict::kPause);
  filter.OnCancel(ctx);
  EXPECT_EQ(filter.delayed_now(), 0u);
  EXPECT_EQ(timers.NextDeadline(), INT64_MAX);
  timers.FireExpired(INT64_MAX - 1);
  EXPECT_EQ(callbacks.resumed + callbacks.responded, 0);
  // The context serves the connection's next exchange, which may be delayed again.
  ASSERT_EQ(Exchange(filter, ctx, callbacks), Verdict::kPause);
  timers.FireExpired(timers.NextDeadline());
  EXPECT_EQ(callbacks.resumed, 1);
}

TEST(FaultFilterTest, DestroyingTheFilterLeavesNoTimerArmed) {
  core::TimerQueue timers;
  auto filter = std::make_unique<FaultFilter>(Delay(100), &timers, core::FastRandom(10));
  RequestContext a, b;
  CountingCallbacks callbacks;
  ASSERT_EQ(Exchange(*filter, a, callbacks), Verdict::kPause);
  ASSERT_EQ(Exchange(*filter, b, callbacks), Verdict::kPause);
  filter.reset();
  EXPECT_EQ(timers.NextDeadline(), INT64_MAX);
  timers.FireExpired(INT64_MAX - 1);
  EXPECT_EQ(callbacks.resumed + callbacks.responded, 0);
}

TEST(FaultChainTest, RunsAfterTheRateLimitAndOnlyWhenConfigured) {
  core::TimerQueue timers;
  FilterSpecs specs;
  specs.health = {.path = "", .ready_path = ""};
  specs.rate_limits.push_back({});
  specs.rate_limits[0].requests_per_second = 1000;
  specs.rate_limits[0].burst = 1000;
  // No fault: no filter (a service that configures nothing pays nothing).
  auto without = FilterChain::Build(specs, "svc", nullptr, nullptr, nullptr, &timers);
  ASSERT_EQ(without->size(), 1u);
  EXPECT_EQ(without->filter(0).name(), "rate_limit");

  specs.fault = Delay(100, 20);
  auto chain = FilterChain::Build(specs, "svc", nullptr, nullptr, nullptr, &timers);
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(chain->filter(0).name(), "rate_limit");
  EXPECT_EQ(chain->filter(1).name(), "fault");

  RequestContext ctx;
  SetRequestText(ctx, kGet);
  CountingCallbacks callbacks;
  size_t next = 0;
  EXPECT_EQ(chain->RunRequest(ctx, callbacks, &next), Verdict::kPause);
  EXPECT_EQ(next, 2u);
  chain->Cancel(ctx, next);
  EXPECT_EQ(timers.NextDeadline(), INT64_MAX);
}

}  // namespace fault_test
}  // namespace icaht::filters
