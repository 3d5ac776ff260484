// The tracing filter: which fields go upstream (the incoming ones of the
// formats it writes replaced, others kept), and the span a sampled exchange
// leaves in the shard's buffer. The decision itself is tested in
// tests/unit/tracing (trace_context_test).
#include <string>
#include <vector>

#include "filter_test_util.h"
#include "filters/tracing.h"
#include "gtest/gtest.h"
#include "tracing/span_buffer.h"

namespace icaht::filters {
namespace tracing_filter_test {

constexpr char kTrace[] = "0af7651916cd43dd8448eb211c80319c";
constexpr char kParent[] = "b7ad6b7169203331";

std::string Added(const RequestContext& ctx, std::string_view name) {
  std::string out;
  for (const http::Header& h : ctx.upstream_edits.added()) {
    if (h.name == name) out += std::string(h.value) + ";";
  }
  return out;
}

TEST(TracingFilterTest, ReplacesTheFieldsOfItsFormatsOnly) {
  tracing::TracingSpec spec;  // w3c
  TracingFilter filter(spec, nullptr);
  RequestContext ctx;
  SetRequestText(ctx, std::string("GET / HTTP/1.1\r\nHost: h\r\ntraceparent: 00-") + kTrace + "-" +
                          kParent + "-01\r\ntracestate: k=v\r\nb3: 1-2-1\r\n\r\n");
  NoCallbacks callbacks;
  EXPECT_EQ(filter.OnRequestHead(ctx, callbacks), Verdict::kContinue);
  EXPECT_TRUE(ctx.upstream_edits.Removes("Traceparent"));
  EXPECT_TRUE(ctx.upstream_edits.Removes("tracestate"));
  EXPECT_FALSE(ctx.upstream_edits.Removes("b3"));  // not a format this service writes
  const std::string span = tracing::ToHex(ctx.trace.span_id);
  EXPECT_EQ(Added(ctx, "traceparent"), std::string("00-") + kTrace + "-" + span + "-01;");
  EXPECT_EQ(Added(ctx, "tracestate"), "k=v;");
  EXPECT_EQ(tracing::ToHex(ctx.trace.parent_span_id), kParent);
}

TEST(TracingFilterTest, ARequestWithoutTraceFieldsRemovesNothing) {
  TracingFilter filter({.propagation = {.w3c = true, .b3 = true}}, nullptr);
  RequestContext ctx;
  SetRequestText(ctx, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  NoCallbacks callbacks;
  filter.OnRequestHead(ctx, callbacks);
  EXPECT_FALSE(ctx.upstream_edits.Removes("traceparent"));
  EXPECT_EQ(ctx.upstream_edits.added().size(), 2u);  // traceparent and b3
  EXPECT_TRUE(ctx.trace.sampled);                    // ratio 1
  EXPECT_FALSE(ctx.trace.has_parent());
}

TEST(TracingFilterTest, SampledExchangeLeavesItsSpanInTheBuffer) {
  tracing::SpanBuffer buffer(1);
  TracingFilter filter({}, &buffer);
  RequestContext ctx;
  SetRequestText(ctx, "POST /orders/7?x=1 HTTP/1.1\r\nHost: shop\r\nUser-Agent: ua\r\n\r\n");
  ctx.service_name = "orders";
  ctx.client_ip = "10.0.0.2";
  NoCallbacks callbacks;
  filter.OnRequestHead(ctx, callbacks);
  ctx.start_ns = 1'000;
  ctx.end_ns = 5'000;
  ctx.response_status = 503;
  ctx.attempts = 2;
  ctx.upstream_address = "127.0.0.1:8080";
  ctx.route = "/orders/";
  ctx.error.kind = ErrorKind::kConnectRefused;
  filter.OnLog(ctx);
  ASSERT_EQ(buffer.size(), 1u);
  filter.OnLog(ctx);  // full: dropped, counted

  tracing::SpanBuffer::Harvest harvest = buffer.Take();
  EXPECT_EQ(harvest.dropped, 1u);
  ASSERT_EQ(harvest.spans.size(), 1u);
  const tracing::Span& span = harvest.spans[0];
  EXPECT_EQ(span.trace_id, ctx.trace.trace_id);
  EXPECT_EQ(span.span_id, ctx.trace.span_id);
  EXPECT_EQ(span.name, "POST /orders/");
  EXPECT_EQ(span.route, "/orders/");
  EXPECT_EQ(span.service, "orders");
  EXPECT_EQ(span.path, "/orders/7");
  EXPECT_EQ(span.server_address, "shop");
  EXPECT_EQ(span.user_agent, "ua");
  EXPECT_EQ(span.client_address, "10.0.0.2");
  EXPECT_EQ(span.upstream_address, "127.0.0.1:8080");
  EXPECT_EQ(span.status_code, 503);
  EXPECT_EQ(span.attempts, 2);
  EXPECT_TRUE(span.error);
  EXPECT_EQ(span.error_kind, "connect_refused");
  EXPECT_EQ(span.end_unix_ns - span.start_unix_ns, 4'000);
  EXPECT_GT(span.start_unix_ns, int64_t{1'700'000'000} * 1'000'000'000);  // wall clock

  // An unsampled exchange leaves nothing; a buffer that is not collecting
  // counts nothing either.
  ctx.trace.sampled = false;
  filter.OnLog(ctx);
  EXPECT_EQ(buffer.size(), 0u);
  tracing::SpanBuffer off;
  EXPECT_FALSE(off.collecting());
  EXPECT_EQ(off.Next(), nullptr);
  EXPECT_EQ(off.Take().dropped, 0u);
}

}  // namespace tracing_filter_test
}  // namespace icaht::filters
