#include "tracing/b3.h"

#include <gtest/gtest.h>

namespace icaht::tracing {
namespace b3_test {

constexpr char kTrace128[] = "80f198ee56343ba864fe8b2a57d3eff7";
constexpr char kTrace64[] = "a3ce929d0e0e4736";
constexpr char kSpan[] = "e457b5a2e4d86bd1";
constexpr char kParent[] = "05e3ac9a4f6e3b90";

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) {
    if (!s.empty()) s += "-";
    s += p;
  }
  return s;
}

TEST(B3SingleTest, FullHeader) {
  const auto ctx = ParseB3Single(Join({kTrace128, kSpan, "1", kParent}));
  ASSERT_TRUE(ctx);
  EXPECT_TRUE(ctx->has_ids);
  EXPECT_EQ(ToHex(ctx->trace_id), kTrace128);
  EXPECT_EQ(ToHex(ctx->span_id), kSpan);
  EXPECT_EQ(ctx->sampling, B3Sampling::kAccept);
}

TEST(B3SingleTest, OptionalFieldsAndSamplingStates) {
  auto ctx = ParseB3Single(Join({kTrace128, kSpan}));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDefer);
  ctx = ParseB3Single(Join({kTrace128, kSpan, "0"}));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDeny);
  ctx = ParseB3Single(Join({kTrace128, kSpan, "d", kParent}));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDebug);
}

TEST(B3SingleTest, SixtyFourBitTraceIdIsLeftPadded) {
  const auto ctx = ParseB3Single(Join({kTrace64, kSpan, "1"}));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ToHex(ctx->trace_id), std::string("0000000000000000") + kTrace64);
}

TEST(B3SingleTest, SamplingStateAlone) {
  for (auto [text, want] : {std::pair{"0", B3Sampling::kDeny}, std::pair{"1", B3Sampling::kAccept},
                            std::pair{"d", B3Sampling::kDebug}}) {
    const auto ctx = ParseB3Single(text);
    ASSERT_TRUE(ctx) << text;
    EXPECT_FALSE(ctx->has_ids);
    EXPECT_EQ(ctx->sampling, want);
  }
}

TEST(B3SingleTest, Invalid) {
  for (const std::string& bad : {
           std::string(""),
           std::string("2"),
           std::string("true"),
           Join({kTrace128}),
           Join({kTrace128, "e457b5a2e4d86bd"}),               // short span id
           Join({"80f198ee56343ba864fe8b2a57d3eff", kSpan}),   // 31 characters
           Join({"80F198EE56343BA864FE8B2A57D3EFF7", kSpan}),  // uppercase
           Join({"00000000000000000000000000000000", kSpan}),  // zero trace id
           Join({"0000000000000000", kSpan}),                  // zero 64-bit trace id
           Join({kTrace128, "0000000000000000"}),              // zero span id
           Join({kTrace128, kSpan, "2"}),                      // bad sampling state
           Join({kTrace128, kSpan, "1", "05e3ac9a4f6e3b9"}),   // short parent
           Join({kTrace128, kSpan, "1", kParent, "extra"}),
           Join({kTrace128, kSpan}) + "-",
           Join({kTrace128, kSpan, "1"}) + "-",
           Join({kTrace128, kSpan}) + "x",
       }) {
    EXPECT_FALSE(ParseB3Single(bad)) << bad;
  }
}

TEST(B3MultiTest, IdsAndSampling) {
  auto ctx = ParseB3Multi(
      {.trace_id = kTrace128, .span_id = kSpan, .parent_span_id = kParent, .sampled = "1"});
  ASSERT_TRUE(ctx);
  EXPECT_TRUE(ctx->has_ids);
  EXPECT_EQ(ToHex(ctx->trace_id), kTrace128);
  EXPECT_EQ(ToHex(ctx->span_id), kSpan);
  EXPECT_EQ(ctx->sampling, B3Sampling::kAccept);

  ctx = ParseB3Multi({.trace_id = kTrace64, .span_id = kSpan, .sampled = "false"});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ToHex(ctx->trace_id), std::string("0000000000000000") + kTrace64);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDeny);

  ctx = ParseB3Multi({.trace_id = kTrace128, .span_id = kSpan});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDefer);

  ctx = ParseB3Multi({.trace_id = kTrace128, .span_id = kSpan, .sampled = "yes"});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDefer);  // unknown value: no decision

  // Debug implies accept, whatever X-B3-Sampled says.
  ctx = ParseB3Multi({.trace_id = kTrace128, .span_id = kSpan, .sampled = "0", .flags = "1"});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDebug);
}

TEST(B3MultiTest, SamplingDecisionAlone) {
  auto ctx = ParseB3Multi({.sampled = "0"});
  ASSERT_TRUE(ctx);
  EXPECT_FALSE(ctx->has_ids);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDeny);
  ctx = ParseB3Multi({.flags = "1"});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->sampling, B3Sampling::kDebug);
  EXPECT_FALSE(ParseB3Multi({}));
  EXPECT_FALSE(ParseB3Multi({.parent_span_id = kParent}));
}

TEST(B3MultiTest, Invalid) {
  EXPECT_FALSE(ParseB3Multi({.trace_id = kTrace128}));  // span id missing
  EXPECT_FALSE(ParseB3Multi({.span_id = kSpan, .sampled = "1"}));
  EXPECT_FALSE(ParseB3Multi({.trace_id = "80F198EE56343BA864FE8B2A57D3EFF7", .span_id = kSpan}));
  EXPECT_FALSE(ParseB3Multi({.trace_id = kTrace128, .span_id = "e457b5a2e4d86bd1x"}));
  EXPECT_FALSE(ParseB3Multi({.trace_id = kTrace128, .span_id = kSpan, .parent_span_id = "0x1"}));
}

}  // namespace b3_test
}  // namespace icaht::tracing
