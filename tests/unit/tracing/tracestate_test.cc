// The tracestate cases of the W3C test suite (trace-context/test/test.py) and the limits of
// section 3.3.
#include "tracing/tracestate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace icaht::tracing {
namespace tracestate_test {

std::string Process(std::vector<std::string_view> fields) {
  std::string buffer;
  return std::string(ProcessTracestate(fields, buffer));
}

TEST(TracestateTest, SingleFieldPassesAsReceived) {
  EXPECT_EQ(Process({"foo=1,bar=2"}), "foo=1,bar=2");
  EXPECT_EQ(Process({"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  // OWS around members, empty members: allowed and kept as received.
  EXPECT_EQ(Process({"foo=1 \t , \t bar=2, \t baz=3"}), "foo=1 \t , \t bar=2, \t baz=3");
  EXPECT_EQ(Process({"foo=1,,bar=2, ,"}), "foo=1,,bar=2, ,");
  EXPECT_EQ(Process({"\t foo=1 \t"}), "foo=1");
}

TEST(TracestateTest, NoMemberIsNothing) {
  EXPECT_EQ(Process({""}), "");
  EXPECT_EQ(Process({" , ,"}), "");
  EXPECT_EQ(Process({"", ""}), "");
}

TEST(TracestateTest, SeveralFieldsAreJoinedInOrder) {
  EXPECT_EQ(Process({"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}),
            "foo=1,bar=2,rojo=1,congo=2,baz=3");
  EXPECT_EQ(Process({"foo=1", ""}), "foo=1");
  EXPECT_EQ(Process({"", "foo=1"}), "foo=1");
  EXPECT_EQ(Process({" foo=1 , ", " ,bar=2"}), "foo=1,bar=2");
}

TEST(TracestateTest, DuplicateKeysDropTheList) {
  EXPECT_EQ(Process({"foo=1,foo=1"}), "");
  EXPECT_EQ(Process({"foo=1,foo=2"}), "");
  EXPECT_EQ(Process({"foo=1", "foo=1"}), "");
  EXPECT_EQ(Process({"foo=1", "foo=2"}), "");
  EXPECT_EQ(Process({"foo=1,foo@bar=2"}), "foo=1,foo@bar=2");  // different keys
}

TEST(TracestateTest, ThirtyTwoMembersAtMost) {
  std::string list;
  for (int i = 1; i <= 33; ++i) {
    if (i > 1) list += ",";
    list += "bar" + std::to_string(i) + "=" + std::to_string(i);
    if (i == 32) {
      EXPECT_EQ(Process({list}), list);
    }
  }
  EXPECT_EQ(Process({list}), "");
  // Across fields, and empty members do not count.
  std::string first = list.substr(0, list.rfind(','));  // 32 members
  EXPECT_EQ(Process({first, " , ,"}), first);
  EXPECT_EQ(Process({first, "bar33=33"}), "");
}

TEST(TracestateTest, KeyGrammar) {
  const std::string all_key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  EXPECT_TRUE(IsValidTracestateKey(all_key));
  EXPECT_TRUE(IsValidTracestateKey(all_key + "@a-z0-9_-*/"));
  EXPECT_TRUE(IsValidTracestateKey("0tenant@vendor"));
  for (const char* bad :
       {"", "foo ", "FOO", "foo.bar", "_foo", "foo@", "@foo", "foo@@bar", "foo@bar@baz",
        "0foo",         // a simple key starts with a letter
        "foo@0bar"}) {  // so does a system id
    EXPECT_FALSE(IsValidTracestateKey(bad)) << bad;
  }
  // Lengths: simple 256, tenant 241, system 14.
  EXPECT_TRUE(IsValidTracestateKey(std::string(256, 'z')));
  EXPECT_FALSE(IsValidTracestateKey(std::string(257, 'z')));
  EXPECT_TRUE(IsValidTracestateKey(std::string(241, 't') + "@" + std::string(14, 'v')));
  EXPECT_FALSE(IsValidTracestateKey(std::string(242, 't') + "@v"));
  EXPECT_FALSE(IsValidTracestateKey("t@" + std::string(15, 'v')));
}

TEST(TracestateTest, ValueGrammar) {
  std::string all_value;
  for (int c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') all_value.push_back(static_cast<char>(c));
  }
  EXPECT_TRUE(IsValidTracestateValue(all_value));
  EXPECT_TRUE(IsValidTracestateValue(" leading spaces are value"));
  EXPECT_FALSE(IsValidTracestateValue(""));
  EXPECT_FALSE(IsValidTracestateValue("trailing "));
  EXPECT_FALSE(IsValidTracestateValue("a=b"));
  EXPECT_FALSE(IsValidTracestateValue("tab\tinside"));
  EXPECT_FALSE(IsValidTracestateValue("\x7f"));
  EXPECT_TRUE(IsValidTracestateValue(std::string(256, 'v')));
  EXPECT_FALSE(IsValidTracestateValue(std::string(257, 'v')));
}

TEST(TracestateTest, InvalidMemberDropsTheWholeList) {
  for (const char* bad : {"foo =1", "FOO=1", "foo.bar=1", "foo@=1,bar=2", "@foo=1,bar=2",
                          "foo=bar=baz", "foo=,bar=3", "foo"}) {
    EXPECT_EQ(Process({bad}), "") << bad;
  }
  EXPECT_EQ(Process({"foo=1", std::string(257, 'z') + "=1"}), "");
  EXPECT_EQ(Process({"foo=1", std::string(256, 'z') + "=1"}),
            "foo=1," + std::string(256, 'z') + "=1");
}

// Over 512 characters: whole members go, those over 128 characters first (from the end), then
// the others from the end.
TEST(TracestateTest, TruncationDropsLongMembersFirstThenFromTheEnd) {
  const std::string long1 = "long1=" + std::string(200, 'a');  // 206
  const std::string long2 = "long2=" + std::string(200, 'b');  // 206
  std::vector<std::string> shorts;
  std::string list = long1;
  for (int i = 0; i < 10; ++i) {
    shorts.push_back("k" + std::to_string(i) + "=" + std::string(20, 'v'));  // 23 each
    list += "," + shorts.back();
    if (i == 4) list += "," + long2;
  }
  // 206 + 206 + 10*23 + 11 commas = 653: dropping long2 (the last long one) fits (446).
  std::string want = long1;
  for (const std::string& s : shorts) want += "," + s;
  ASSERT_EQ(list.size(), 653u);
  EXPECT_EQ(Process({list}), want);

  // Only short members: dropped from the end until the list fits.
  std::string shorts_only;
  for (int i = 0; i < 30; ++i) {
    if (i > 0) shorts_only += ",";
    shorts_only += "k" + std::to_string(i + 10) + "=" + std::string(20, 'v');  // 24 each
  }
  ASSERT_EQ(shorts_only.size(), 30u * 24 + 29);
  const std::string out = Process({shorts_only});
  EXPECT_LE(out.size(), kMaxTracestateLength);
  EXPECT_EQ(out.size(), 20u * 24 + 19);  // 21 members would be 524
  EXPECT_EQ(out, shorts_only.substr(0, out.size()));

  // A single 513-character member cannot be kept.
  EXPECT_EQ(Process({std::string(256, 'k') + "=" + std::string(256, 'v')}), "");
}

TEST(TracestateTest, JoinedFieldsAreTruncatedToo) {
  const std::string a = "a=" + std::string(250, 'x');
  const std::string b = "b=" + std::string(250, 'y');
  const std::string c = "c=" + std::string(100, 'z');
  // 252 + 252 + 102 + 2 = 608: b is the last long one.
  EXPECT_EQ(Process({a, b, c}), a + "," + c);
}

TEST(TracestateTest, ValidListReusesTheBuffer) {
  std::string buffer = "old content";
  std::vector<std::string_view> fields = {"a=1", "b=2"};
  const std::string_view out = ProcessTracestate(fields, buffer);
  EXPECT_EQ(out, "a=1,b=2");
  EXPECT_EQ(out.data(), buffer.data());
}

}  // namespace tracestate_test
}  // namespace icaht::tracing
