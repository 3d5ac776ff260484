// CacheFilter's request collapsing on a TimerQueue the test fires by hand:
// the first miss of a key leads and later ones wait; the leader's end
// releases them (a stored answer serves them, none sends them upstream); a
// wait times out alone; a waiter that goes away leaves the queue. And the
// exchange's context: a stored answer's body and fields as the local answer.

#include "filters/cache_filter.h"

#include <memory>
#include <string>

#include "filter_test_util.h"
#include "filters/cache_fields.h"
#include "gtest/gtest.h"

namespace icaht::filters {
namespace cache_filter_test {

constexpr char kGet[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";

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

TEST_F(CacheFilterTest, AnAnswerNotToBeStoredReleasesTheWaitersAtItsHead) {
  RequestContext leader, a;
  CountingCallbacks lead_cb, a_cb;
  ASSERT_EQ(Request(leader, lead_cb), Verdict::kContinue);
  ASSERT_EQ(Request(a, a_cb), Verdict::kPause);
  // A long answer (a download, a stream) that will not be stored: the waiter
  // does not wait for its end.
  http::ResponseHead head;
  head.status = 200;
  head.headers = {{"Cache-Control", "no-store"}};
  leader.upstream_response = &head;
  filter_.OnResponseHead(leader);
  leader.upstream_response = nullptr;
  timers_.FireExpired(core::LoopNowNs());
  EXPECT_EQ(a_cb.resumed, 1);
  filter_.OnLog(leader);  // its end releases nothing twice
  EXPECT_EQ(filter_.waiting_now(), 0u);
}

TEST_F(CacheFilterTest, RequestsThatWillNotShareTheirAnswerDoNotLead) {
  for (const char* raw : {"GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer x\r\n\r\n",
                          "GET /a HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n",
                          "GET /a HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n\r\n",
                          "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"}) {
    RequestContext first, second;
    CountingCallbacks cb;
    SetRequestText(first, raw);
    EXPECT_EQ(filter_.OnRequestHead(first, cb), Verdict::kContinue) << raw;
    EXPECT_FALSE(first.cache.leader) << raw;
    EXPECT_EQ(Request(second, cb), Verdict::kContinue) << raw;  // nobody to wait for
    filter_.OnLog(second);
  }
}

// Found by review: Vary was matched against the client's fields, so a field
// the auth filter replaces upstream (a forwarded claim) keyed nothing.
TEST_F(CacheFilterTest, VaryMatchesTheFieldsAsSentUpstream) {
  auto as_user = [](RequestContext& ctx, const char* user) {
    ctx.upstream_edits.Remove("x-user");
    ctx.upstream_edits.Add("X-User", user);
  };
  RequestContext alice, bob;
  CountingCallbacks cb;
  alice.Reset();
  SetRequestText(alice, kGet);
  as_user(alice, "alice");
  ASSERT_EQ(filter_.OnRequestHead(alice, cb), Verdict::kContinue);
  http::ResponseHead head;
  head.status = 200;
  head.headers = {{"Cache-Control", "max-age=60"}, {"Vary", "X-User"}};
  head.framing = http::BodyFraming::kContentLength;
  head.content_length = 6;
  alice.upstream_response = &head;
  filter_.OnResponseHead(alice);
  alice.upstream_response = nullptr;
  alice.cache.body = "alice\n";
  filter_.OnResponseComplete(alice);
  filter_.OnLog(alice);
  bob.Reset();
  SetRequestText(bob, kGet);
  as_user(bob, "bob");
  EXPECT_EQ(filter_.OnRequestHead(bob, cb), Verdict::kContinue);  // not alice's answer
  RequestContext again;
  again.Reset();
  SetRequestText(again, kGet);
  as_user(again, "alice");
  EXPECT_EQ(filter_.OnRequestHead(again, cb), Verdict::kRespond);
  EXPECT_EQ(again.local_response.body_view, "alice\n");
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

// Moved from the store's Freshen, which this replaced.
TEST(CacheFieldsTest, NotModifiedReplacesFieldsAndTimes) {
  cache::StoredResponse r;
  r.status = 200;
  r.body = "body";
  r.headers = {{"Content-Type", "text/plain"}, {"ETag", "\"v1\""}, {"Cache-Control", "max-age=1"}};
  r.facts.status = 200;
  r.response_time = 100;
  std::vector<http::Header> not_modified = {{"cache-control", "max-age=60"}, {"Date", "d"}};
  cache_fields::ApplyNotModified(&r, not_modified, 200, 201);
  EXPECT_EQ(r.body, "body");
  EXPECT_EQ(r.facts.status, 200);  // the stored status stays
  EXPECT_EQ(r.facts.cc.max_age, 60);
  EXPECT_EQ(r.response_time, 201);
  int cache_control = 0;
  for (const auto& [name, value] : r.headers) {
    if (name == "Cache-Control" || name == "cache-control") {
      ++cache_control;
      EXPECT_EQ(value, "max-age=60");
    }
  }
  EXPECT_EQ(cache_control, 1);
}

}  // namespace cache_filter_test
}  // namespace icaht::filters
