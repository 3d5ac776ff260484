// The mirror against a fake SideCalls (no sockets): the copy's head (Host
// with -shadow, Connection: close, every other field as sent), sampling,
// the body bounds, the in-flight bound, and what each copy's end counts.

#include "proxy/mirror.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace icaht::proxy {
namespace mirror_test {

class FakeSideCalls final : public filters::SideCalls {
 public:
  struct Call final : public filters::SideCall {
    void Cancel() override { cancelled = true; }
    filters::SideCallRequest request;
    Done done;
    bool cancelled = false;
  };

  filters::SideCall* StartSideCall(filters::SideCallRequest request, Done done) override {
    calls.push_back(std::make_unique<Call>());
    calls.back()->request = std::move(request);
    calls.back()->done = std::move(done);
    return calls.back().get();
  }

  void Finish(size_t i, absl::StatusOr<http::ClientResponse> answer) {
    ASSERT_LT(i, calls.size());
    ASSERT_FALSE(calls[i]->cancelled);
    Done done = std::move(calls[i]->done);
    done(std::move(answer));
  }

  std::vector<std::unique_ptr<Call>> calls;
};

constexpr std::string_view kHead =
    "POST /orders?x=1 HTTP/1.1\r\nHost: orders.example:7001\r\nX-Request-Id: abc\r\n"
    "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
    "Content-Length: 5\r\nX-Forwarded-For: 10.0.0.1\r\nVia: 1.1 icaht\r\n\r\n";

class MirrorTest : public ::testing::Test {
 protected:
  std::unique_ptr<Mirror> Make(double percent = 100, uint64_t max_body_bytes = 64 * 1024) {
    MirrorConfig config;
    config.address = *net::Address::Parse("127.0.0.1:9090");
    config.text = "127.0.0.1:9090";
    config.percent = percent;
    config.max_body_bytes = max_body_bytes;
    config.timeout_ms = 250;
    return std::make_unique<Mirror>(config, &calls_, series_, 0, /*seed=*/42);
  }
  uint64_t Count(Mirror::Result result) const {
    return series_->shard(0).mirror[static_cast<size_t>(result)].Read();
  }

  FakeSideCalls calls_;
  std::shared_ptr<metrics::ServiceSeries> series_ =
      std::make_shared<metrics::ServiceSeries>("orders", 1);
};

TEST(ShadowHostTest, SuffixGoesBeforeThePort) {
  EXPECT_EQ(ShadowHost("orders"), "orders-shadow");
  EXPECT_EQ(ShadowHost("orders.example:7001"), "orders.example-shadow:7001");
  EXPECT_EQ(ShadowHost("127.0.0.1:80"), "127.0.0.1-shadow:80");
  EXPECT_EQ(ShadowHost("[::1]:80"), "[::1]-shadow:80");
  EXPECT_EQ(ShadowHost("[::1]"), "[::1]-shadow");
  EXPECT_EQ(ShadowHost(""), "-shadow");
}

TEST(BuildMirrorHeadTest, ShadowHostAndConnectionCloseTheRestAsSent) {
  std::string out = "before|";
  BuildMirrorHead(kHead, &out);
  EXPECT_EQ(out,
            "before|POST /orders?x=1 HTTP/1.1\r\nHost: orders.example-shadow:7001\r\n"
            "X-Request-Id: abc\r\n"
            "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
            "Content-Length: 5\r\nX-Forwarded-For: 10.0.0.1\r\nVia: 1.1 icaht\r\n"
            "Connection: close\r\n\r\n");
}

TEST(BuildMirrorHeadTest, ReplacesConnectionFieldsAndKeepsTheHostFieldsCase) {
  std::string out;
  BuildMirrorHead("GET / HTTP/1.1\r\nhost: a\r\nCONNECTION: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                  &out);
  EXPECT_EQ(out,
            "GET / HTTP/1.1\r\nhost: a-shadow\r\nUpgrade: websocket\r\n"
            "Connection: close\r\n\r\n");
  out.clear();
  BuildMirrorHead("GET / HTTP/1.1\r\n\r\n", &out);  // HTTP/1.0 without Host, forwarded
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
}

TEST_F(MirrorTest, SendsTheCopyWithItsBodyAndCountsTheAnswer) {
  auto mirror = Make();
  http::RequestHead head;
  head.method_id = http::Method::kPost;
  BodyForwarder::Options body;
  body.length = 5;
  body.allow_splice = true;
  std::string keep;
  ASSERT_TRUE(mirror->Sample(head, true, &body, &keep));
  EXPECT_EQ(body.keep, &keep);
  EXPECT_EQ(body.keep_max, 64u * 1024);
  EXPECT_FALSE(body.allow_splice);  // a kept body is copied, not spliced
  keep = "hello";
  mirror->Send(http::Method::kPost, kHead, keep, true, 5);
  ASSERT_EQ(calls_.calls.size(), 1u);
  const filters::SideCallRequest& request = calls_.calls[0]->request;
  EXPECT_EQ(request.address.ToString(), "127.0.0.1:9090");
  EXPECT_EQ(request.method, http::Method::kPost);
  EXPECT_EQ(request.timeout_ms, 250u);
  EXPECT_TRUE(request.discard_body);
  std::string expected_head;
  BuildMirrorHead(kHead, &expected_head);
  EXPECT_EQ(request.bytes, expected_head + "hello");
  EXPECT_EQ(mirror->in_flight(), 1u);
  calls_.Finish(0, http::ClientResponse{.status = 500});  // any answer is "sent"
  EXPECT_EQ(mirror->in_flight(), 0u);
  EXPECT_EQ(Count(Mirror::Result::kSent), 1u);
  EXPECT_EQ(Count(Mirror::Result::kFailed), 0u);
}

TEST_F(MirrorTest, AHeldBodyFollowsTheHeadAndFailuresAreCounted) {
  auto mirror = Make();
  http::RequestHead head;
  BodyForwarder::Options body;
  body.in = BodyForwarder::In::kChunked;
  body.hold = true;
  std::string keep;
  ASSERT_TRUE(mirror->Sample(head, true, &body, &keep));
  EXPECT_EQ(body.keep, nullptr);  // held whole anyway
  std::string sent = std::string(kHead) + "5\r\nhello\r\n0\r\n\r\n";
  mirror->Send(http::Method::kPost, sent, "", true, 5);
  ASSERT_EQ(calls_.calls.size(), 1u);
  EXPECT_TRUE(
      calls_.calls[0]->request.bytes.ends_with("Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  calls_.Finish(0, absl::UnavailableError("refused"));
  EXPECT_EQ(Count(Mirror::Result::kFailed), 1u);
  EXPECT_EQ(Count(Mirror::Result::kSent), 0u);
}

TEST_F(MirrorTest, BodiesOverTheBoundAreNotCopied) {
  auto mirror = Make(100, 100);
  http::RequestHead head;
  BodyForwarder::Options body;
  body.length = 101;
  std::string keep;
  EXPECT_FALSE(mirror->Sample(head, true, &body, &keep));
  EXPECT_EQ(body.keep, nullptr);
  EXPECT_EQ(Count(Mirror::Result::kTooLarge), 1u);
  // A chunked one that grew past the bound (its copy was dropped), or whose
  // payload is over it.
  body = {};
  body.in = BodyForwarder::In::kChunked;
  ASSERT_TRUE(mirror->Sample(head, true, &body, &keep));
  mirror->Send(http::Method::kPut, kHead, "", false, 150);
  mirror->Send(http::Method::kPut, kHead, "", true, 101);
  EXPECT_TRUE(calls_.calls.empty());
  EXPECT_EQ(Count(Mirror::Result::kTooLarge), 3u);
  // Exactly the bound is copied.
  mirror->Send(http::Method::kPut, kHead, std::string(100, 'x'), true, 100);
  EXPECT_EQ(calls_.calls.size(), 1u);
}

TEST_F(MirrorTest, KeepsTheLargerOfItsAndTheRetriesBound) {
  auto mirror = Make(100, 1000);
  http::RequestHead head;
  std::string keep;
  BodyForwarder::Options body;
  body.in = BodyForwarder::In::kChunked;
  body.keep = &keep;
  body.keep_max = 5000;  // the retries' replay_body_bytes
  ASSERT_TRUE(mirror->Sample(head, true, &body, &keep));
  EXPECT_EQ(body.keep_max, 5000u);
  body.keep_max = 10;
  ASSERT_TRUE(mirror->Sample(head, true, &body, &keep));
  EXPECT_EQ(body.keep_max, 1000u);
}

TEST_F(MirrorTest, TunnelsAreNeverCopied) {
  auto mirror = Make();
  BodyForwarder::Options body;
  std::string keep;
  http::RequestHead upgrade;
  upgrade.upgrade = true;
  EXPECT_FALSE(mirror->Sample(upgrade, false, &body, &keep));
  http::RequestHead connect;
  connect.method_id = http::Method::kConnect;
  EXPECT_FALSE(mirror->Sample(connect, false, &body, &keep));
}

TEST_F(MirrorTest, SamplesThePercentage) {
  constexpr int kDraws = 100'000;
  for (double percent : {0.0, 0.5, 30.0, 100.0}) {
    auto mirror = Make(percent);
    http::RequestHead head;
    BodyForwarder::Options body;
    std::string keep;
    int sampled = 0;
    for (int i = 0; i < kDraws; ++i) sampled += mirror->Sample(head, false, &body, &keep);
    const double p = percent / 100;
    const double sigma = std::sqrt(kDraws * p * (1 - p));
    EXPECT_NEAR(sampled, kDraws * p, 5 * sigma + 0.5) << percent;
  }
}

TEST_F(MirrorTest, CopiesOverTheInFlightBoundAreDropped) {
  auto mirror = Make();
  for (size_t i = 0; i < Mirror::kMaxInFlight + 3; ++i) {
    mirror->Send(http::Method::kGet, kHead, "", true, 0);
  }
  EXPECT_EQ(calls_.calls.size(), Mirror::kMaxInFlight);
  EXPECT_EQ(Count(Mirror::Result::kDropped), 3u);
  calls_.Finish(0, http::ClientResponse{.status = 200});
  mirror->Send(http::Method::kGet, kHead, "", true, 0);  // room again
  EXPECT_EQ(calls_.calls.size(), Mirror::kMaxInFlight + 1);
}

TEST_F(MirrorTest, CopiesOverTheInFlightBytesAreDropped) {
  auto mirror = Make(100, 16 << 20);
  const std::string body(11 << 20, 'b');
  for (int i = 0; i < 3; ++i) mirror->Send(http::Method::kPut, kHead, body, true, body.size());
  EXPECT_EQ(calls_.calls.size(), 2u);  // 33 MiB would be over the 32 MiB
  EXPECT_EQ(Count(Mirror::Result::kDropped), 1u);
  EXPECT_GT(mirror->in_flight_bytes(), 22u << 20);
  calls_.Finish(0, http::ClientResponse{.status = 200});
  calls_.Finish(1, absl::DeadlineExceededError("slow"));
  EXPECT_EQ(mirror->in_flight_bytes(), 0u);
  mirror->Send(http::Method::kPut, kHead, body, true, body.size());
  EXPECT_EQ(calls_.calls.size(), 3u);
}

TEST_F(MirrorTest, TheDestructorCancelsCopiesInFlight) {
  auto mirror = Make();
  mirror->Send(http::Method::kGet, kHead, "", true, 0);
  mirror->Send(http::Method::kGet, kHead, "", true, 0);
  calls_.Finish(0, http::ClientResponse{.status = 200});
  mirror.reset();
  EXPECT_FALSE(calls_.calls[0]->cancelled);  // it had ended
  EXPECT_TRUE(calls_.calls[1]->cancelled);
  EXPECT_EQ(Count(Mirror::Result::kSent), 1u);
  EXPECT_EQ(Count(Mirror::Result::kFailed), 1u);
}

TEST_F(MirrorTest, NothingIsSentWithoutAHead) {
  // The upstream answered before the request ended: the exchange cleared it.
  auto mirror = Make();
  mirror->Send(http::Method::kGet, "", "", true, 0);
  EXPECT_TRUE(calls_.calls.empty());
}

}  // namespace mirror_test
}  // namespace icaht::proxy
