#include "proxy/access_log_line.h"

#include <cstdio>

#include "gtest/gtest.h"
#include "http/request_parser.h"

namespace icaht::proxy {
namespace access_log_line_test {

TEST(AccessLogLineTest, TimeIsRfc3339UtcWithMilliseconds) {
  TimeFormatter time;
  EXPECT_EQ(time.Text(1'796'066'583'728'325'800), "2026-11-30T19:23:03.728Z");
  // the next second: the prefix is redone
  EXPECT_EQ(time.Text(1'796'066'584'005'000'000), "2026-11-30T19:23:04.005Z");
}

TEST(AccessLogLineTest, JsonEscapingKeepsTheLineValid) {
  std::string out;
  AppendJsonEscaped("a\"b\\c\nd\x01\xff", &out);
  EXPECT_EQ(out, "a\\\"b\\\\c\\u000ad\\u0001\\u00ff");
}

// Every byte value at every offset of strings of 1..21 bytes (the escaper takes
// eight bytes at a time while none needs escaping): against a byte-by-byte
// reference.
TEST(AccessLogLineTest, JsonEscapingEveryByteAtEveryOffset) {
  auto reference = [](std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c >= 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u00%02x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  };
  for (int byte = 0; byte < 256; ++byte) {
    for (size_t size = 1; size <= 21; ++size) {
      for (size_t at = 0; at < size; ++at) {
        std::string text(size, 'a');
        text[at] = static_cast<char>(byte);
        std::string out;
        AppendJsonEscaped(text, &out);
        ASSERT_EQ(out, reference(text)) << "byte " << byte << " at " << at << " of " << size;
      }
    }
  }
}

TEST(AccessLogLineTest, ForwardedExchange) {
  std::string raw = "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\n\r\n";
  http::RequestHead head;
  http::ParseError error;
  ASSERT_EQ(http::ParseRequestHead(raw, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete);
  filters::RequestContext ctx;
  ctx.SetRequest(head, raw);
  ctx.service_name = "svc";
  ctx.client_ip = "10.0.0.9";
  ctx.request_id = "rid";
  ctx.identity = "alice";
  ctx.start_ns = 1'000'000'000;
  ctx.upstream_start_ns = 1'000'100'000;
  ctx.upstream_head_ns = 1'002'100'000;
  ctx.end_ns = 1'003'456'789;
  ctx.response_status = 503;
  ctx.response_head_bytes = 100;
  ctx.response_body_bytes = 20;
  ctx.attempts = 2;
  ctx.error.kind = filters::ErrorKind::kConnectRefused;
  TimeFormatter time;
  std::string out;
  ctx.upstream_address = "127.0.0.1:80";
  ASSERT_TRUE(tracing::ReadHex("0af7651916cd43dd8448eb211c80319c", ctx.trace.trace_id));
  ASSERT_TRUE(tracing::ReadHex("b7ad6b7169203331", ctx.trace.span_id));
  AppendAccessLogLine(ctx, 1'796'066'583'000'000'000, time, &out);
  EXPECT_EQ(
      out,
      "{\"time\":\"2026-11-30T19:23:03.000Z\",\"service\":\"svc\",\"method\":\"GET\","
      "\"path\":\"/a/b?x=1\",\"route\":\"/a/b\",\"protocol\":\"HTTP/1.1\",\"status\":503,"
      "\"request_bytes\":" +
          std::to_string(raw.size()) +
          ",\"response_bytes\":120,\"duration_ms\":3.456,\"upstream_ms\":2.000,"
          "\"upstream\":\"127.0.0.1:80\",\"attempts\":2,\"request_id\":\"rid\","
          "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\","
          "\"user\":\"alice\","
          "\"client\":\"10.0.0.9\",\"user_agent\":\"ua\",\"error\":\"connect_refused\"}\n");
}

TEST(AccessLogLineTest, InjectedFaultIsNamed) {
  std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  http::RequestHead head;
  http::ParseError error;
  ASSERT_EQ(http::ParseRequestHead(raw, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete);
  filters::RequestContext ctx;
  ctx.SetRequest(head, raw);
  ctx.service_name = "svc";
  ctx.client_ip = "10.0.0.9";
  ctx.response_status = 503;
  TimeFormatter time;
  using Fault = filters::RequestContext::FaultInjected;
  const std::pair<Fault, std::string_view> cases[] = {
      {Fault::kNone, ""},
      {Fault::kDelay, ",\"fault\":\"delay\""},
      {Fault::kAbort, ",\"fault\":\"abort\""},
      {Fault::kDelayAndAbort, ",\"fault\":\"delay+abort\""}};
  for (const auto& [fault, text] : cases) {
    ctx.fault = fault;
    std::string out;
    AppendAccessLogLine(ctx, 1'796'066'583'000'000'000, time, &out);
    EXPECT_TRUE(out.ends_with("\"client\":\"10.0.0.9\"" + std::string(text) + "}\n")) << out;
  }
}

}  // namespace access_log_line_test
}  // namespace icaht::proxy
