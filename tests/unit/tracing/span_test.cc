#include "tracing/span.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace icaht::tracing {
namespace span_test {

static_assert(std::is_nothrow_move_constructible_v<Span>);

TEST(SpanTest, TakesTheIdsOfTheTraceContext) {
  TraceContext ctx;
  ctx.trace_id.fill(1);
  ctx.span_id.fill(2);
  ctx.parent_span_id.fill(3);
  Span span;
  EXPECT_FALSE(span.has_parent());
  span.SetContext(ctx);
  EXPECT_EQ(span.trace_id, ctx.trace_id);
  EXPECT_EQ(span.span_id, ctx.span_id);
  EXPECT_EQ(span.parent_span_id, ctx.parent_span_id);
  EXPECT_TRUE(span.has_parent());
}

TEST(SpanTest, NameIsMethodAndRoute) {
  Span span;
  span.SetName("GET", "/orders");
  EXPECT_EQ(span.name, "GET /orders");
  span.SetName("POST", "");
  EXPECT_EQ(span.name, "POST");
}

TEST(SpanTest, ErrorForServerErrorsAndCutExchangesOnly) {
  struct Case {
    uint16_t status;
    const char* kind;
    bool error;
  };
  for (const Case& c :
       {Case{200, "", false}, Case{404, "", false}, Case{400, "bad_request", false},
        Case{503, "", true}, Case{504, "response_timeout", true}, Case{0, "response_cut", true}}) {
    Span span;
    span.SetOutcome(c.status, c.kind);
    EXPECT_EQ(span.error, c.error) << c.status << " " << c.kind;
    EXPECT_EQ(span.status_code, c.status);
    EXPECT_EQ(span.error_kind, c.kind);
  }
}

}  // namespace span_test
}  // namespace icaht::tracing
