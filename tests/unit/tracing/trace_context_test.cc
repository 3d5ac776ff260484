// traceparent parsing (the W3C test suite's cases, trace-context/test/test.py), the per-request
// decision, and the headers written upstream.
#include "tracing/trace_context.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "tracing/b3.h"

namespace {
thread_local size_t g_allocations = 0;
}  // namespace

// Counts this thread's heap allocations, to check the hot path makes none. Every
// replaceable new/delete that pairs with malloc/free is replaced, so that ASan
// sees matching pairs; GCC takes the replacements' free() for a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace icaht::tracing {
namespace trace_context_test {

constexpr char kTrace[] = "12345678901234567890123456789012";
constexpr char kParent[] = "1234567890123456";
constexpr char kValid[] = "00-12345678901234567890123456789012-1234567890123456-01";

TEST(TraceparentTest, Valid) {
  auto tp = ParseTraceparent(kValid);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 0);
  EXPECT_EQ(ToHex(tp->trace_id), kTrace);
  EXPECT_EQ(ToHex(tp->parent_id), kParent);
  EXPECT_EQ(tp->flags, 1);
  tp = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->flags, 0);
  // Unknown flags are read (only bit 0 means something).
  tp = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->flags, 9);
}

TEST(TraceparentTest, FutureVersions) {
  auto tp = ParseTraceparent("cc-12345678901234567890123456789012-1234567890123456-01");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 0xcc);
  EXPECT_EQ(ToHex(tp->trace_id), kTrace);
  tp = ParseTraceparent(
      "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like");
  ASSERT_TRUE(tp);
  EXPECT_EQ(ToHex(tp->trace_id), kTrace);
  EXPECT_FALSE(ParseTraceparent(
      "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like"));
  EXPECT_FALSE(ParseTraceparent("cc-12345678901234567890123456789012-1234567890123456-0"));
  EXPECT_TRUE(ParseTraceparent("01-12345678901234567890123456789012-1234567890123456-00-"));
}

TEST(TraceparentTest, Invalid) {
  for (const char* bad : {
           "",
           "00",
           // version 00 with trailing characters
           "00-12345678901234567890123456789012-1234567890123456-01.",
           "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
           // version ff, illegal or wrongly sized versions
           "ff-12345678901234567890123456789012-1234567890123456-01",
           ".0-12345678901234567890123456789012-1234567890123456-01",
           "0.-12345678901234567890123456789012-1234567890123456-01",
           "000-12345678901234567890123456789012-1234567890123456-01",
           "0000-12345678901234567890123456789012-1234567890123456-01",
           "0-12345678901234567890123456789012-1234567890123456-01",
           "0A-12345678901234567890123456789012-1234567890123456-01",
           // trace-id: all zero, illegal characters, uppercase, too long, too short
           "00-00000000000000000000000000000000-1234567890123456-01",
           "00-.2345678901234567890123456789012-1234567890123456-01",
           "00-1234567890123456789012345678901.-1234567890123456-01",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
           "00-123456789012345678901234567890123-1234567890123456-01",
           "00-1234567890123456789012345678901-1234567890123456-01",
           // parent-id: all zero, illegal characters, uppercase, too long, too short
           "00-12345678901234567890123456789012-0000000000000000-01",
           "00-12345678901234567890123456789012-.234567890123456-01",
           "00-12345678901234567890123456789012-123456789012345.-01",
           "00-12345678901234567890123456789012-00F067AA0BA902B7-01",
           "00-12345678901234567890123456789012-12345678901234567-01",
           "00-12345678901234567890123456789012-123456789012345-01",
           // flags: illegal characters, uppercase, too long, too short
           "00-12345678901234567890123456789012-1234567890123456-.0",
           "00-12345678901234567890123456789012-1234567890123456-0.",
           "00-12345678901234567890123456789012-1234567890123456-0A",
           "00-12345678901234567890123456789012-1234567890123456-001",
           "00-12345678901234567890123456789012-1234567890123456-1",
           // separators
           "00_12345678901234567890123456789012-1234567890123456-01",
           "00-12345678901234567890123456789012_1234567890123456-01",
           "00-12345678901234567890123456789012-1234567890123456_01",
       }) {
    EXPECT_FALSE(ParseTraceparent(bad)) << bad;
  }
}

// Every prefix of a valid value is invalid (and read without going past its end).
TEST(TraceparentTest, EveryPrefixIsInvalid) {
  const std::string valid = kValid;
  for (size_t n = 0; n < valid.size(); ++n) {
    const std::string prefix = valid.substr(0, n);
    EXPECT_FALSE(ParseTraceparent(prefix)) << prefix;
  }
}

std::vector<http::Header> Headers(std::initializer_list<std::pair<const char*, const char*>> hs) {
  std::vector<http::Header> out;
  for (auto [name, value] : hs) out.push_back({name, value});
  return out;
}

class DecideTest : public ::testing::Test {
 protected:
  TraceContext Decide(const std::vector<http::Header>& headers) {
    return DecideTrace(headers, spec_, rng_, buffer_);
  }
  TracingSpec spec_;
  core::FastRandom rng_{42};
  std::string buffer_;
};

TEST_F(DecideTest, ValidTraceparentIsContinued) {
  const TraceContext ctx = Decide(Headers({{"Host", "x"}, {"traceparent", kValid}}));
  EXPECT_TRUE(ctx.continued);
  EXPECT_EQ(ToHex(ctx.trace_id), kTrace);
  EXPECT_EQ(ToHex(ctx.parent_span_id), kParent);
  EXPECT_TRUE(ctx.has_parent());
  EXPECT_NE(ToHex(ctx.span_id), kParent);
  EXPECT_FALSE(IsZero(ctx.span_id));
  EXPECT_TRUE(ctx.sampled);
  EXPECT_EQ(ctx.tracestate, "");
}

TEST_F(DecideTest, HeaderNamesInAnyCaseAndOwsAroundTheValue) {
  for (const char* name : {"TraceParent", "TrAcEpArEnT", "TRACEPARENT"}) {
    EXPECT_TRUE(Decide(Headers({{name, kValid}})).continued) << name;
  }
  for (const char* value : {" 00-12345678901234567890123456789012-1234567890123456-01",
                            "\t 00-12345678901234567890123456789012-1234567890123456-01 \t"}) {
    EXPECT_TRUE(Decide(Headers({{"traceparent", value}})).continued) << value;
  }
  EXPECT_FALSE(Decide(Headers({{"trace-parent", kValid}})).continued);
  EXPECT_FALSE(Decide(Headers({{"trace.parent", kValid}})).continued);
}

TEST_F(DecideTest, TwoSpansOfOneTraceGetDifferentSpanIds) {
  const auto headers = Headers({{"traceparent", kValid}});
  const TraceContext a = Decide(headers);
  const TraceContext b = Decide(headers);
  EXPECT_EQ(a.trace_id, b.trace_id);
  EXPECT_NE(a.span_id, b.span_id);
}

TEST_F(DecideTest, IncomingSampledFlagWinsOverTheRatio) {
  spec_.sample_ratio = 0;
  EXPECT_TRUE(Decide(Headers({{"traceparent", kValid}})).sampled);
  spec_.sample_ratio = 1;
  EXPECT_FALSE(
      Decide(Headers({{"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"}}))
          .sampled);
}

TEST_F(DecideTest, MissingOrInvalidStartsANewTraceSampledByRatio) {
  spec_.sample_ratio = 1;
  TraceContext ctx = Decide({});
  EXPECT_FALSE(ctx.continued);
  EXPECT_FALSE(ctx.has_parent());
  EXPECT_FALSE(IsZero(ctx.trace_id));
  EXPECT_TRUE(ctx.sampled);
  spec_.sample_ratio = 0;
  ctx =
      Decide(Headers({{"traceparent", "00-00000000000000000000000000000000-1234567890123456-01"}}));
  EXPECT_FALSE(ctx.continued);
  EXPECT_FALSE(IsZero(ctx.trace_id));
  EXPECT_FALSE(ctx.sampled);
}

TEST_F(DecideTest, HadFieldsTellsWhetherAnyReadFormatWasPresent) {
  EXPECT_FALSE(Decide({}).had_fields);
  EXPECT_FALSE(Decide(Headers({{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}}))
                   .had_fields);                                     // not a format this spec reads
  EXPECT_TRUE(Decide(Headers({{"tracestate", "a=1"}})).had_fields);  // alone, ignored, removed
  EXPECT_TRUE(Decide(Headers({{"TraceParent", "garbage"}})).had_fields);
  EXPECT_TRUE(Decide(Headers({{"traceparent", kValid}})).had_fields);
}

TEST_F(DecideTest, RatioSamplesThatShareOfNewTraces) {
  spec_.sample_ratio = 0.25;
  int sampled = 0;
  for (int i = 0; i < 20000; ++i) sampled += Decide({}).sampled;
  EXPECT_NEAR(sampled, 5000, 300);
}

TEST_F(DecideTest, DuplicatedTraceparentStartsANewTrace) {
  const TraceContext ctx =
      Decide(Headers({{"traceparent", "00-12345678901234567890123456789011-1234567890123456-01"},
                      {"traceparent", "00-12345678901234567890123456789012-1234567890123456-01"},
                      {"tracestate", "foo=1"}}));
  EXPECT_FALSE(ctx.continued);
  EXPECT_NE(ToHex(ctx.trace_id), "12345678901234567890123456789011");
  EXPECT_NE(ToHex(ctx.trace_id), kTrace);
  EXPECT_EQ(ctx.tracestate, "");
}

TEST_F(DecideTest, TracestateFollowsAContinuedTraceOnly) {
  TraceContext ctx = Decide(Headers({{"traceparent", kValid}, {"TraceState", "foo=1,bar=2"}}));
  EXPECT_EQ(ctx.tracestate, "foo=1,bar=2");
  // A new trace drops it, valid or not.
  ctx = Decide(Headers({{"tracestate", "foo=1"}}));
  EXPECT_EQ(ctx.tracestate, "");
  ctx = Decide(Headers({{"traceparent", "00-bad"}, {"tracestate", "foo=1"}}));
  EXPECT_EQ(ctx.tracestate, "");
  // An invalid tracestate is dropped, the trace is kept.
  ctx = Decide(Headers({{"traceparent", kValid}, {"tracestate", "foo=1,foo=2"}}));
  EXPECT_TRUE(ctx.continued);
  EXPECT_EQ(ctx.tracestate, "");
  // Several fields are combined in order.
  ctx = Decide(Headers({{"tracestate", "foo=1,bar=2"},
                        {"traceparent", kValid},
                        {"tracestate", "rojo=1,congo=2"},
                        {"tracestate", ""},
                        {"tracestate", "baz=3"}}));
  EXPECT_EQ(ctx.tracestate, "foo=1,bar=2,rojo=1,congo=2,baz=3");
  EXPECT_EQ(ctx.tracestate.data(), buffer_.data());
}

TEST_F(DecideTest, B3IsReadOnlyWhenConfigured) {
  const auto headers = Headers({{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}});
  EXPECT_FALSE(Decide(headers).continued);
  spec_.propagation.b3 = true;
  const TraceContext ctx = Decide(headers);
  EXPECT_TRUE(ctx.continued);
  EXPECT_EQ(ToHex(ctx.trace_id), "80f198ee56343ba864fe8b2a57d3eff7");
  EXPECT_EQ(ToHex(ctx.parent_span_id), "e457b5a2e4d86bd1");
  EXPECT_TRUE(ctx.sampled);
}

TEST_F(DecideTest, B3SamplingDecisions) {
  spec_.propagation = {.w3c = false, .b3 = true, .b3_multi = true};
  spec_.sample_ratio = 1;
  TraceContext ctx = Decide(Headers({{"b3", "0"}}));  // deny alone: a new trace, not sampled
  EXPECT_FALSE(ctx.continued);
  EXPECT_FALSE(ctx.sampled);
  ctx = Decide(Headers({{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1-d"}}));
  EXPECT_TRUE(ctx.sampled && ctx.debug && ctx.continued);
  EXPECT_EQ(ToHex(ctx.trace_id), "0000000000000000a3ce929d0e0e4736");
  spec_.sample_ratio = 0;
  ctx =
      Decide(Headers({{"X-B3-TraceId", "a3ce929d0e0e4736"}, {"X-B3-SpanId", "e457b5a2e4d86bd1"}}));
  EXPECT_TRUE(ctx.continued);
  EXPECT_FALSE(ctx.sampled);  // deferred: the ratio decides
  ctx = Decide(Headers({{"x-b3-traceid", "a3ce929d0e0e4736"},
                        {"x-b3-spanid", "e457b5a2e4d86bd1"},
                        {"x-b3-sampled", "1"}}));
  EXPECT_TRUE(ctx.continued && ctx.sampled);
  // A repeated field makes the format unusable.
  ctx = Decide(Headers({{"X-B3-TraceId", "a3ce929d0e0e4736"},
                        {"X-B3-SpanId", "e457b5a2e4d86bd1"},
                        {"X-B3-SpanId", "e457b5a2e4d86bd2"}}));
  EXPECT_FALSE(ctx.continued);
  ctx = Decide(Headers({{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1"}, {"b3", "0"}}));
  EXPECT_FALSE(ctx.continued);
}

TEST_F(DecideTest, TraceparentWinsOverB3AndB3OverB3Multi) {
  spec_.propagation = {.w3c = true, .b3 = true, .b3_multi = true};
  const auto all = Headers({{"X-B3-TraceId", "a3ce929d0e0e4736"},
                            {"X-B3-SpanId", "e457b5a2e4d86bd1"},
                            {"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"},
                            {"traceparent", kValid}});
  EXPECT_EQ(ToHex(Decide(all).trace_id), kTrace);
  const auto b3s = std::vector<http::Header>(all.begin(), all.begin() + 3);
  EXPECT_EQ(ToHex(Decide(b3s).trace_id), "80f198ee56343ba864fe8b2a57d3eff7");
  const auto multi = std::vector<http::Header>(all.begin(), all.begin() + 2);
  EXPECT_EQ(ToHex(Decide(multi).trace_id), "0000000000000000a3ce929d0e0e4736");
  // An invalid traceparent falls through to b3 (without its tracestate).
  auto bad_w3c = b3s;
  bad_w3c.push_back({"traceparent", "00-0"});
  bad_w3c.push_back({"tracestate", "foo=1"});
  const TraceContext ctx = Decide(bad_w3c);
  EXPECT_EQ(ToHex(ctx.trace_id), "80f198ee56343ba864fe8b2a57d3eff7");
  EXPECT_EQ(ctx.tracestate, "");
}

TEST_F(DecideTest, NoAllocationInTheCommonCases) {
  spec_.propagation = {.w3c = true, .b3 = true, .b3_multi = true};
  const auto none = Headers({{"Host", "example"}, {"User-Agent", "curl/8"}, {"Accept", "*/*"}});
  const auto w3c = Headers({{"Host", "example"}, {"traceparent", kValid}, {"tracestate", "a=1"}});
  char buffer[kTraceHeaderBufferSize];
  const size_t before = g_allocations;
  for (const auto* headers : {&none, &w3c}) {
    const TraceContext ctx = Decide(*headers);
    const TraceHeaders out = FormatTraceHeaders(ctx, spec_.propagation, buffer);
    EXPECT_GT(out.size(), 0u);
  }
  EXPECT_EQ(g_allocations, before);
}

TEST(FormatTest, W3cRoundTrip) {
  core::FastRandom rng(7);
  std::string buffer;
  const TracingSpec spec;
  const TraceContext ctx = DecideTrace(
      Headers({{"traceparent", kValid}, {"tracestate", "congo=t61rcWkgMzE"}}), spec, rng, buffer);
  char out[kTraceHeaderBufferSize];
  const TraceHeaders headers = FormatTraceHeaders(ctx, spec.propagation, out);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].name, "traceparent");
  const std::string_view tp = headers[0].value;
  EXPECT_EQ(tp, "00-" + std::string(kTrace) + "-" + ToHex(ctx.span_id) + "-01");
  EXPECT_EQ(headers[1].name, "tracestate");
  EXPECT_EQ(headers[1].value, "congo=t61rcWkgMzE");

  // The next hop continues from this proxy's span.
  const TraceContext next =
      DecideTrace(Headers({{"traceparent", std::string(tp).c_str()}}), spec, rng, buffer);
  EXPECT_TRUE(next.continued);
  EXPECT_EQ(next.trace_id, ctx.trace_id);
  EXPECT_EQ(next.parent_span_id, ctx.span_id);
  EXPECT_TRUE(next.sampled);
}

TEST(FormatTest, FutureVersionIsDowngradedToVersion00) {
  core::FastRandom rng(7);
  std::string buffer;
  const TraceContext ctx = DecideTrace(
      Headers({{"traceparent",
                "cc-12345678901234567890123456789012-1234567890123456-00-future-fields"}}),
      {}, rng, buffer);
  char out[kTraceHeaderBufferSize];
  const TraceHeaders headers = FormatTraceHeaders(ctx, {}, out);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].value, "00-" + std::string(kTrace) + "-" + ToHex(ctx.span_id) + "-00");
}

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields AsFields(const TraceHeaders& headers) {
  Fields out;
  for (const http::Header& h : headers) out.emplace_back(h.name, h.value);
  return out;
}

TEST(FormatTest, B3SingleAndMulti) {
  TraceContext ctx;
  ASSERT_TRUE(ReadHex("80f198ee56343ba864fe8b2a57d3eff7", ctx.trace_id));
  ASSERT_TRUE(ReadHex("e457b5a2e4d86bd1", ctx.span_id));
  ctx.sampled = true;
  char out[kTraceHeaderBufferSize];
  const Propagation both{.w3c = false, .b3 = true, .b3_multi = true};
  EXPECT_EQ(AsFields(FormatTraceHeaders(ctx, both, out)),
            (Fields{{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"},
                    {"X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"},
                    {"X-B3-SpanId", "e457b5a2e4d86bd1"},
                    {"X-B3-Sampled", "1"}}));

  // With a parent, and debug (which implies sampled: X-B3-Flags alone).
  ASSERT_TRUE(ReadHex("05e3ac9a4f6e3b90", ctx.parent_span_id));
  ctx.debug = true;
  const TraceHeaders h = FormatTraceHeaders(ctx, both, out);
  EXPECT_EQ(AsFields(h),
            (Fields{{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90"},
                    {"X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"},
                    {"X-B3-SpanId", "e457b5a2e4d86bd1"},
                    {"X-B3-ParentSpanId", "05e3ac9a4f6e3b90"},
                    {"X-B3-Flags", "1"}}));

  // What we write, we read back.
  auto parsed = ParseB3Single(h[0].value);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->trace_id, ctx.trace_id);
  EXPECT_EQ(parsed->span_id, ctx.span_id);
  EXPECT_EQ(parsed->sampling, B3Sampling::kDebug);

  // Not sampled.
  ctx.debug = false;
  ctx.sampled = false;
  EXPECT_EQ(
      AsFields(FormatTraceHeaders(ctx, {.w3c = true, .b3 = true}, out)),
      (Fields{{"traceparent", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00"},
              {"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0-05e3ac9a4f6e3b90"}}));
}

TEST(FormatTest, AllFormatsFitTheBuffer) {
  TraceContext ctx;
  ctx.trace_id.fill(0xab);
  ctx.span_id.fill(0xcd);
  ctx.parent_span_id.fill(0xef);
  ctx.debug = ctx.sampled = true;
  ctx.tracestate = "a=1";
  char out[kTraceHeaderBufferSize];
  const TraceHeaders h = FormatTraceHeaders(ctx, {.w3c = true, .b3 = true, .b3_multi = true}, out);
  EXPECT_EQ(h.size(), 7u);
  for (const http::Header& f : h) {
    // tracestate views the context's, the sampling flags are literals.
    if (f.name == "tracestate" || f.name == "X-B3-Flags") continue;
    EXPECT_GE(f.value.data(), out);
    EXPECT_LE(f.value.data() + f.value.size(), out + sizeof out);
  }
}

TEST(PropagationTest, ParseNames) {
  auto p = ParsePropagation(std::vector<std::string>{"w3c", "b3"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (Propagation{.w3c = true, .b3 = true, .b3_multi = false}));
  p = ParsePropagation(std::vector<std::string>{"b3multi"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (Propagation{.w3c = false, .b3 = false, .b3_multi = true}));
  EXPECT_FALSE(ParsePropagation(std::vector<std::string>{}).ok());
  EXPECT_FALSE(ParsePropagation(std::vector<std::string>{"jaeger"}).ok());
  EXPECT_FALSE(ParsePropagation(std::vector<std::string>{"w3c", "w3c"}).ok());
}

TEST(PropagationTest, HeaderNamesOfEachFormat) {
  std::vector<std::string> names;
  ForEachTraceHeaderName(Propagation{}, [&](std::string_view n) { names.emplace_back(n); });
  EXPECT_EQ(names, (std::vector<std::string>{"traceparent", "tracestate"}));
  names.clear();
  ForEachTraceHeaderName(Propagation{.w3c = false, .b3 = true, .b3_multi = true},
                         [&](std::string_view n) { names.emplace_back(n); });
  EXPECT_EQ(names.size(), 6u);
}

}  // namespace trace_context_test
}  // namespace icaht::tracing
