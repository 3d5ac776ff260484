#include "proxy/header_rewrite.h"

#include <string>

#include "gtest/gtest.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace icaht::proxy {
namespace {

std::string Upstream(const std::string& raw, std::string_view client_ip = "10.1.2.3") {
  http::RequestHead head;
  http::ParseError error;
  EXPECT_EQ(http::ParseRequestHead(raw, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete)
      << raw;
  std::string out;
  BuildUpstreamRequestHead(head, client_ip, &out);
  return out;
}

TEST(HeaderRewriteTest, AddsForwardedHeadersAndKeepsOthers) {
  std::string out = Upstream("GET /a?b=1 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\n"
            "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n\r\n");
}

TEST(HeaderRewriteTest, AppendsToExistingForwardedForAndKeepsEdgeProto) {
  std::string out = Upstream(
      "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\n"
      "X-Forwarded-Host: edge.example\r\n\r\n");
  EXPECT_NE(out.find("X-Forwarded-For: 1.1.1.1, 10.1.2.3\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: https\r\n"), std::string::npos);
  EXPECT_EQ(out.find("X-Forwarded-Proto: http\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Forwarded-Host: edge.example\r\n"), std::string::npos);
  EXPECT_EQ(out.find("X-Forwarded-Host: h\r\n"), std::string::npos);
}

TEST(HeaderRewriteTest, DropsHopByHopAndConnectionNamedHeaders) {
  std::string out = Upstream(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: close\r\nUpgrade: h2c\r\n"
      "Trailer: X\r\nX-Kept: yes\r\n\r\n");
  for (const char* gone : {"Connection:", "X-Secret", "Keep-Alive", "TE:", "Proxy-Connection",
                           "Upgrade", "Trailer:"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << " in " << out;
  }
  EXPECT_NE(out.find("X-Kept: yes\r\n"), std::string::npos);
}

TEST(HeaderRewriteTest, ManyConnectionTokensAcrossFieldsAreAllHonoured) {
  std::string raw =
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: a, b,c , d\r\n"
      "Connection: e, f, g, h, i, j\r\n";
  for (char c = 'a'; c <= 'j'; ++c) raw += std::string(1, c) + ": 1\r\n";
  raw += "k: kept\r\n\r\n";
  std::string out = Upstream(raw);
  for (char c = 'a'; c <= 'j'; ++c) {
    EXPECT_EQ(out.find(std::string("\r\n") + c + ": 1"), std::string::npos) << c << " in " << out;
  }
  EXPECT_NE(out.find("k: kept\r\n"), std::string::npos);
}

TEST(HeaderRewriteTest, ChunkedRequestIsReframedAndHttp10BecomesHttp11) {
  std::string out = Upstream("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  std::string old = Upstream("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.rfind("GET / HTTP/1.1\r\n", 0), 0u) << old;
}

TEST(HeaderRewriteTest, ResponseHeadStripsHopByHopAndAddsFraming) {
  std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
      "Keep-Alive: timeout=3\r\nTransfer-Encoding: chunked\r\n\r\n";
  http::ResponseHead head;
  http::ParseError error;
  ASSERT_EQ(http::ParseResponseHead(raw, http::Method::kGet, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete);
  std::string out;
  BuildClientResponseHead(head, /*keep_alive=*/true, /*chunk_encode=*/true, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
  out.clear();
  BuildClientResponseHead(head, /*keep_alive=*/false, /*chunk_encode=*/false, &out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
}

TEST(HeaderRewriteTest, SimpleResponseIsWellFramed) {
  std::string r = SimpleResponse(502, "upstream connection refused", false);
  EXPECT_EQ(r,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 28\r\nConnection: close\r\n\r\nupstream connection refused\n");
}

}  // namespace
}  // namespace icaht::proxy
