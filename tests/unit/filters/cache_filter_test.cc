// CacheFilter's request collapsing on a TimerQueue the test fires by hand:
// the first miss of a key leads and later ones wait; the leader's end
// releases them (a stored answer serves them, none sends them upstream); a
// wait times out alone; a waiter that goes away leaves the queue. And the
// exchange's context: a stored answer's body and fields as the local answer.

#include "filters/cache_filter.h"

#include <memory>
#include <string>

#include "filter_test_util.h"
#include "gtest/gtest.h"

namespace icaht::filters {
namespace {

constexpr char kGet[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";

class CountingCallbacks final : public FilterCallbacks {
 public:
  void Resume() override { ++resumed; }
  void RespondLocally() override { ++responded; }
  int resumed = 0;
  int responded = 0;
};

class CacheFilterTest : public ::testing::Test {
 protected:
  CacheFilterTest() : filter_(Spec(), store_, &timers_) {}

  static CacheSpec Spec() {
    CacheSpec spec;
    spec.collapse_timeout_ms = 100;
    return spec;
  }

  Verdict Request(RequestContext& ctx, FilterCallbacks& callbacks) {
    ctx.Reset();
    SetRequestText(ctx, kGet);
    return filter_.OnRequestHead(ctx, callbacks);
  }

  // The leader's answer passes the response phase and is forwarded whole.
  void Answer(RequestContext& ctx, const char* cache_control, const std::string& body) {
    http::ResponseHead head;
    head.status = 200;
    head.headers = {{"Cache-Control", cache_control}, {"Content-Type", "text/plain"}};
    head.framing = http::BodyFraming::kContentLength;
    head.content_length = body.size();
    ctx.upstream_response = &head;
    filter_.OnResponseHead(ctx);
    ctx.upstream_response = nullptr;
    ctx.cache.body = body;
    filter_.OnResponseComplete(ctx);
    filter_.OnLog(ctx);
  }

  std::shared_ptr<cache::Store> store_ = std::make_shared<cache::Store>(1 << 20, 1 << 16);
  core::TimerQueue timers_;
  CacheFilter filter_;
};

TEST_F(CacheFilterTest, WaitersTakeTheLeadersStoredAnswer) {
  RequestContext leader, a, b;
  CountingCallbacks lead_cb, a_cb, b_cb;
  ASSERT_EQ(Request(leader, lead_cb), Verdict::kContinue);
  EXPECT_TRUE(leader.cache.leader);
  ASSERT_EQ(Request(a, a_cb), Verdict::kPause);
  ASSERT_EQ(Request(b, b_cb), Verdict::kPause);
  EXPECT_EQ(filter_.waiting_now(), 2u);
  Answer(leader, "max-age=60", "hello");
  EXPECT_EQ(a_cb.responded, 0);  // woken from the timer queue, not from the leader's end
  timers_.FireExpired(core::LoopNowNs());
  EXPECT_EQ(a_cb.responded, 1);
  EXPECT_EQ(b_cb.responded, 1);
  EXPECT_EQ(a_cb.resumed + b_cb.resumed, 0);
  EXPECT_EQ(a.cache.result, CacheResult::kHit);
  EXPECT_EQ(a.local_response.status, 200);
  EXPECT_EQ(a.local_response.body_view, "hello");
  ASSERT_EQ(a.local_response.fields.size(), 2u);
  EXPECT_EQ(a.local_response.fields[1].value, "text/plain");
  EXPECT_EQ(filter_.waiting_now(), 0u);
  EXPECT_EQ(core::DeferredCount(), 0u);
}

TEST_F(CacheFilterTest, WaitersGoUpstreamWhenNothingWasStored) {
  RequestContext leader, a;
  CountingCallbacks lead_cb, a_cb;
  ASSERT_EQ(Request(leader, lead_cb), Verdict::kContinue);
  ASSERT_EQ(Request(a, a_cb), Verdict::kPause);
  Answer(leader, "no-store", "secret");
  timers_.FireExpired(core::LoopNowNs());
  EXPECT_EQ(a_cb.resumed, 1);
  EXPECT_EQ(a_cb.responded, 0);
  EXPECT_EQ(store_->entries(), 0u);
}

TEST_F(CacheFilterTest, AWaitTimesOutAloneAndACancelledWaiterLeaves) {
  RequestContext leader, a, b;
  CountingCallbacks lead_cb, a_cb, b_cb;
  ASSERT_EQ(Request(leader, lead_cb), Verdict::kContinue);
  ASSERT_EQ(Request(a, a_cb), Verdict::kPause);
  ASSERT_EQ(Request(b, b_cb), Verdict::kPause);
  filter_.OnCancel(b);  // b's client went away
  EXPECT_EQ(filter_.waiting_now(), 1u);
  timers_.FireExpired(timers_.NextDeadline());  // collapse_timeout_ms
  EXPECT_EQ(a_cb.resumed, 1);
  EXPECT_EQ(b_cb.resumed + b_cb.responded, 0);
  EXPECT_EQ(filter_.waiting_now(), 0u);
  // The leader's end finds nobody left to wake.
  Answer(leader, "max-age=60", "late");
  EXPECT_EQ(timers_.NextDeadline(), INT64_MAX);
  // The next request is a hit.
  RequestContext c;
  CountingCallbacks c_cb;
  EXPECT_EQ(Request(c, c_cb), Verdict::kRespond);
  EXPECT_EQ(c.local_response.body_view, "late");
}

}  // namespace
}  // namespace icaht::filters
