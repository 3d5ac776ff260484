// HttpClientCall against scripted loopback servers: framing (length, chunked,
// until close), limits, timeouts, refused connects, malformed answers, cancel,
// and the streaming mode (on_body).

#include "proxy/http_client.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "scripted_upstream.h"
#include "test_shard.h"

namespace icaht::proxy {
namespace http_client_test {

class HttpClientTest : public ::testing::Test {
 protected:
  // Runs one call to `address` and returns its result.
  absl::StatusOr<http::ClientResponse> Call(const net::Address& address, uint32_t timeout_ms = 2000,
                                            size_t max_body = 1024, bool discard_body = false) {
    ClientCallSpec spec;
    spec.address = address;
    spec.request = BuildClientRequest("GET", "/check", "svc", "X-Extra: 1\r\n");
    spec.timeout_ms = timeout_ms;
    spec.max_body_bytes = max_body;
    spec.discard_body = discard_body;
    std::optional<absl::StatusOr<http::ClientResponse>> result;
    HttpClientCall::Start(*shard_.ring, *shard_.bufs, std::move(spec),
                          [&](absl::StatusOr<http::ClientResponse> r) { result = std::move(r); });
    for (int i = 0; i < 400 && !result.has_value(); ++i) shard_.ring->RunOnce(10'000'000);
    EXPECT_TRUE(result.has_value());
    Drain();
    return result.value_or(absl::InternalError("no answer"));
  }

  struct Streamed {
    std::vector<std::string> pieces;
    int status = 0;
    std::optional<absl::StatusOr<http::ClientResponse>> result;
    HttpClientCall* call = nullptr;
  };
  // Starts a streaming call to `address`; on_body cancels it once the
  // pieces add up to `cancel_at` bytes (0: never).
  void Stream(const net::Address& address, Streamed& out, uint32_t timeout_ms,
              size_t cancel_at = 0) {
    ClientCallSpec spec;
    spec.address = address;
    spec.request = BuildClientRequest("POST", "/v3/watch", "etcd");
    spec.timeout_ms = timeout_ms;
    spec.max_body_bytes = 1;  // does not apply
    spec.on_body = [&out, cancel_at](const http::ClientResponse& head, std::string_view data) {
      out.status = head.status;
      out.pieces.emplace_back(data);
      size_t total = 0;
      for (const std::string& piece : out.pieces) total += piece.size();
      if (cancel_at != 0 && total >= cancel_at) out.call->Cancel();
    };
    out.call = HttpClientCall::Start(
        *shard_.ring, *shard_.bufs, std::move(spec),
        [&out](absl::StatusOr<http::ClientResponse> r) { out.result = std::move(r); });
  }

  // Lets the closed connection's ops finish (the stream frees itself then).
  void Drain() {
    for (int i = 0; i < 20 && net::Stream::live_count() > 0; ++i) shard_.ring->RunOnce(5'000'000);
    EXPECT_EQ(net::Stream::live_count(), 0u);
  }

  TestShard shard_;
};

TEST_F(HttpClientTest, ContentLengthBodyAndHeaders) {
  ScriptedUpstream server("HTTP/1.1 200 OK\r\nX-User-Id: 42\r\nContent-Length: 5\r\n\r\nhello");
  auto r = Call(server.address());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  ASSERT_NE(r->Find("x-user-id"), nullptr);
  EXPECT_EQ(*r->Find("x-user-id"), "42");
  EXPECT_EQ(r->Find("missing"), nullptr);
  EXPECT_EQ(server.last_head(),
            "GET /check HTTP/1.1\r\nHost: svc\r\nConnection: close\r\nX-Extra: 1\r\n\r\n");
}

TEST_F(HttpClientTest, ChunkedBodyIsDecoded) {
  ScriptedUpstream server(
      "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto r = Call(server.address());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "abcde");
}

TEST_F(HttpClientTest, BodyUntilClose) {
  ScriptedUpstream server("HTTP/1.1 200 OK\r\n\r\nuntil close", /*close_after=*/true);
  auto r = Call(server.address());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "until close");
}

TEST_F(HttpClientTest, InterimAnswerIsSkipped) {
  ScriptedUpstream server("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
  auto r = Call(server.address());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 204);
}

TEST_F(HttpClientTest, BodyOverTheLimitFails) {
  ScriptedUpstream server("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");
  auto r = Call(server.address(), 2000, 1024);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(HttpClientTest, DiscardedBodiesAreReadWithoutALimit) {
  // A mirror's copy: the answer is read to its end, framing checked, nothing kept.
  std::string body(5000, 'b');
  ScriptedUpstream length("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body);
  auto r = Call(length.address(), 2000, 1024, /*discard_body=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  ScriptedUpstream chunked("HTTP/1.1 503 No\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n" + body +
                           "\r\n0\r\n\r\n");
  r = Call(chunked.address(), 2000, 1024, /*discard_body=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "");
  ScriptedUpstream broken("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  r = Call(broken.address(), 2000, 1024, /*discard_body=*/true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(HttpClientTest, MalformedAnswerFails) {
  ScriptedUpstream server("HTTP/1.1 2000 Nope\r\n\r\n");
  auto r = Call(server.address());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(HttpClientTest, SilentServerTimesOut) {
  ScriptedUpstream server("");
  auto r = Call(server.address(), 100);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(HttpClientTest, RefusedConnectIsUnavailable) {
  net::Address closed;
  {
    ScriptedUpstream server("");
    closed = server.address();
  }
  auto r = Call(closed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(HttpClientTest, EarlyCloseIsUnavailable) {
  ScriptedUpstream server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true);
  auto r = Call(server.address());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(HttpClientTest, CancelledCallNeverCallsBack) {
  ScriptedUpstream server("");
  ClientCallSpec spec;
  spec.address = server.address();
  spec.request = BuildClientRequest("GET", "/", "x");
  bool called = false;
  HttpClientCall* call =
      HttpClientCall::Start(*shard_.ring, *shard_.bufs, std::move(spec),
                            [&](absl::StatusOr<http::ClientResponse>) { called = true; });
  shard_.ring->RunOnce(10'000'000);
  call->Cancel();
  Drain();
  EXPECT_FALSE(called);
}

std::string Joined(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& piece : pieces) out += piece;
  return out;
}

TEST_F(HttpClientTest, StreamedBodyOutlivesTheHeadTimeout) {
  // A watch-like answer: chunks and no end.
  ScriptedUpstream server(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n");
  Streamed out;
  Stream(server.address(), out, /*timeout_ms=*/50);
  const int64_t until = core::NowNs() + 300'000'000;  // six head timeouts
  while (core::NowNs() < until && !out.result.has_value()) shard_.ring->RunOnce(10'000'000);
  EXPECT_FALSE(out.result.has_value());
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(Joined(out.pieces), "abcde");
  out.call->Cancel();
  Drain();
  EXPECT_FALSE(out.result.has_value());
}

TEST_F(HttpClientTest, StreamedBodyEndsWithTheHead) {
  ScriptedUpstream server(
      "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  Streamed out;
  Stream(server.address(), out, 2000);
  for (int i = 0; i < 400 && !out.result.has_value(); ++i) shard_.ring->RunOnce(10'000'000);
  ASSERT_TRUE(out.result.has_value());
  ASSERT_TRUE(out.result->ok()) << out.result->status();
  EXPECT_EQ((*out.result)->status, 500);
  EXPECT_EQ((*out.result)->body, "");
  EXPECT_EQ(Joined(out.pieces), "abc");
  Drain();

  // Content-Length framing streams too, past max_body_bytes.
  ScriptedUpstream length("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  Streamed plain;
  Stream(length.address(), plain, 2000);
  for (int i = 0; i < 400 && !plain.result.has_value(); ++i) shard_.ring->RunOnce(10'000'000);
  ASSERT_TRUE(plain.result.has_value());
  ASSERT_TRUE(plain.result->ok()) << plain.result->status();
  EXPECT_EQ(Joined(plain.pieces), "hello");
  Drain();
}

TEST_F(HttpClientTest, StreamCancelledFromItsCallback) {
  ScriptedUpstream server(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n");
  Streamed out;
  Stream(server.address(), out, 2000, /*cancel_at=*/3);
  for (int i = 0; i < 100 && out.pieces.empty(); ++i) shard_.ring->RunOnce(10'000'000);
  Drain();
  EXPECT_EQ(Joined(out.pieces), "abc");  // nothing after the cancel
  EXPECT_FALSE(out.result.has_value());
}

TEST_F(HttpClientTest, StreamWithoutAHeadTimesOut) {
  ScriptedUpstream server("");
  Streamed out;
  Stream(server.address(), out, 100);
  for (int i = 0; i < 400 && !out.result.has_value(); ++i) shard_.ring->RunOnce(10'000'000);
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->status().code(), absl::StatusCode::kDeadlineExceeded);
  Drain();
}

}  // namespace http_client_test
}  // namespace icaht::proxy
