#include "proxy/header_rewrite.h"

#include <string>

#include "gtest/gtest.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace icaht::proxy {
namespace header_rewrite_test {

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

TEST(HeaderRewriteTest, TargetRewriteReplacesThePrefix) {
  auto rewrite = [](std::string_view target, size_t strip, std::string_view prefix) {
    std::string out;
    TargetRewrite{strip, prefix}.AppendTo(target, &out);
    return out;
  };
  EXPECT_EQ(rewrite("/api/items?x=1", 5, "/v1/"), "/v1/items?x=1");
  EXPECT_EQ(rewrite("/api/items", 4, "/v2/api"), "/v2/api/items");
  EXPECT_EQ(rewrite("/api/items", 4, "/"), "/items");  // not "//items"
  EXPECT_EQ(rewrite("/api", 4, "/"), "/");
  EXPECT_EQ(rewrite("/api?q", 4, "/v2"), "/v2?q");
  EXPECT_EQ(rewrite("/apix", 4, "/"), "/x");

  http::RequestHead head;
  http::ParseError error;
  ASSERT_EQ(http::ParseRequestHead("GET /old/a HTTP/1.1\r\nHost: h\r\n\r\n", http::Limits{}, &head,
                                   &error),
            http::ParseStatus::kComplete);
  std::string out;
  TargetRewrite r{5, "/new/"};
  BuildUpstreamRequestHead(head, "10.0.0.1", &out, nullptr, false, &r);
  EXPECT_TRUE(out.starts_with("GET /new/a HTTP/1.1\r\n")) << out;
}

TEST(HeaderRewriteTest, AddsForwardedHeadersAndKeepsOthers) {
  std::string out = Upstream("GET /a?b=1 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\n"
            "X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\nVia: 1.1 icaht\r\n\r\n");
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
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVia: 1.1 icaht\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  out.clear();
  BuildClientResponseHead(head, /*keep_alive=*/false, /*chunk_encode=*/false, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVia: 1.1 icaht\r\n"
            "Connection: close\r\n\r\n");
}

TEST(HeaderRewriteTest, SimpleResponseIsWellFramed) {
  std::string r;
  AppendLocalResponse(502, "text/plain; charset=utf-8", "upstream connection refused\n", false,
                      false, nullptr, &r);
  EXPECT_EQ(r,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 28\r\nConnection: close\r\n\r\nupstream connection refused\n");
}

TEST(HeaderRewriteTest, EditsRemoveAndAddFieldsBothWays) {
  filters::HeaderEdits edits;
  edits.Remove("x-request-id");
  edits.Add("X-Request-Id", "new-id");
  http::RequestHead head;
  http::ParseError error;
  std::string raw = "GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: old\r\nX-Kept: 1\r\n\r\n";
  ASSERT_EQ(http::ParseRequestHead(raw, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete);
  std::string out;
  BuildUpstreamRequestHead(head, "10.0.0.1", &out, &edits);
  EXPECT_EQ(out.find("old"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Kept: 1\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Request-Id: new-id\r\n"), std::string::npos) << out;

  std::string resp_raw = "HTTP/1.1 200 OK\r\nX-Request-Id: upstream\r\nContent-Length: 0\r\n\r\n";
  http::ResponseHead resp;
  ASSERT_EQ(http::ParseResponseHead(resp_raw, http::Method::kGet, http::Limits{}, &resp, &error),
            http::ParseStatus::kComplete);
  out.clear();
  BuildClientResponseHead(resp, true, false, &out, &edits);
  EXPECT_EQ(out.find("upstream"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Request-Id: new-id\r\n"), std::string::npos) << out;
}

TEST(HeaderRewriteTest, LocalResponseCarriesAddedFieldsAndHeadOmitsBody) {
  filters::HeaderEdits edits;
  edits.Add("X-Request-Id", "abc");
  std::string out;
  AppendLocalResponse(200, "application/json", "{}", true, false, &edits, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            "X-Request-Id: abc\r\n\r\n{}");
  out.clear();
  AppendLocalResponse(503, "application/json", "{}", false, true, nullptr, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n");
  out.clear();
  AppendLocalResponse(429, "application/problem+json", "{}", true, false, nullptr, &out);
  EXPECT_EQ(out.substr(0, out.find("\r\n")), "HTTP/1.1 429 Too Many Requests");
}

TEST(HeaderRewriteTest, LocalNoContentHasNoContentFields) {
  // RFC 9110 8.6: no Content-Length in a 204 (the CORS filter's preflight answer).
  filters::HeaderEdits edits;
  edits.Add("Access-Control-Max-Age", "600");
  std::string out;
  AppendLocalResponse(204, "text/plain; charset=utf-8", "", true, false, &edits, &out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nAccess-Control-Max-Age: 600\r\n\r\n");
  out.clear();
  AppendLocalResponse(204, "text/plain; charset=utf-8", "ignored", false, false, nullptr, &out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  out.clear();
  AppendLocalResponse(304, "text/html", "ignored", true, false, nullptr, &out);  // RFC 9110 15.4.5
  EXPECT_EQ(out, "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST(HeaderRewriteTest, LocalResponseWithoutContentTypeSendsNone) {
  // A forward-auth refusal passed on as its service answered: no type, none invented.
  filters::HeaderEdits edits;
  edits.Add("Location", "https://id.example/login");
  std::string out;
  AppendLocalResponse(302, "", "", true, false, &edits, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: https://id.example/login\r\n"
            "\r\n");
}

TEST(HeaderRewriteTest, CountsOwnViaHopsAcrossFieldsAndLists) {
  http::RequestHead head;
  http::ParseError error;
  std::string raw =
      "GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 icaht, 1.0 fred, 1.1 icaht (x)\r\n"
      "Via: HTTP/1.1 icaht\r\nVia: 1.1 icahtx\r\n\r\n";
  ASSERT_EQ(http::ParseRequestHead(raw, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete);
  EXPECT_EQ(CountOwnViaHops(head.headers), 3);
}

}  // namespace header_rewrite_test
}  // namespace icaht::proxy
