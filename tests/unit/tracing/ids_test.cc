#include "tracing/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace icaht::tracing {
namespace ids_test {

TEST(IdsTest, HexRoundTrip) {
  TraceId id;
  ASSERT_TRUE(ReadHex("4bf92f3577b34da6a3ce929d0e0e4736", id));
  EXPECT_EQ(id[0], 0x4b);
  EXPECT_EQ(id[15], 0x36);
  EXPECT_EQ(ToHex(id), "4bf92f3577b34da6a3ce929d0e0e4736");
  SpanId span;
  ASSERT_TRUE(ReadHex("00f067aa0ba902b7", span));
  EXPECT_EQ(ToHex(span), "00f067aa0ba902b7");
  char out[kSpanIdHexSize];
  EXPECT_EQ(WriteHex(span, out), out + kSpanIdHexSize);
}

TEST(IdsTest, ReadHexIsLowercaseOnly) {
  SpanId span;
  EXPECT_FALSE(ReadHex("00F067AA0BA902B7", span));
  EXPECT_FALSE(ReadHex("00f067aa0ba902b", span));   // short
  EXPECT_FALSE(ReadHex("00f067aa0ba902bg", span));  // not hex
  EXPECT_FALSE(ReadHex("00f067aa0ba902b-", span));
  EXPECT_TRUE(ReadHex("00f067aa0ba902b7-more", span));  // only the first 16 are read
  for (int c = 0; c < 256; ++c) {
    std::string s(16, '0');
    s[7] = static_cast<char>(c);
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    EXPECT_EQ(ReadHex(s, span), hex) << c;
  }
}

TEST(IdsTest, NewIdsAreNonZeroAndDistinct) {
  core::FastRandom rng(1);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const TraceId t = NewTraceId(rng);
    const SpanId s = NewSpanId(rng);
    EXPECT_FALSE(IsZero(t));
    EXPECT_FALSE(IsZero(s));
    seen.insert(ToHex(t));
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_TRUE(IsZero(TraceId{}));
}

TEST(IdsTest, LowBitsAreTheLastEightBytesBigEndian) {
  TraceId id;
  ASSERT_TRUE(ReadHex("ffffffffffffffff0000000000000102", id));
  EXPECT_EQ(LowBits(id), 0x102u);
}

}  // namespace ids_test
}  // namespace icaht::tracing
