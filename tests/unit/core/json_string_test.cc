#include "core/json_string.h"

#include <gtest/gtest.h>

#include <string>

namespace icaht::core {
namespace json_string_test {

std::string Quote(std::string_view s) {
  std::string out = "prefix:";
  AppendJsonString(out, s);
  return out;
}

// Plain runs are copied in bulk; the escapes in between, at the start and at the end must land
// in order.
TEST(JsonStringTest, PlainRunsAroundEscapes) {
  EXPECT_EQ(Quote(""), "prefix:\"\"");
  EXPECT_EQ(Quote("plain text ~\x7f"), "prefix:\"plain text ~\x7f\"");
  EXPECT_EQ(Quote("\"a\\b\""), "prefix:\"\\\"a\\\\b\\\"\"");
  EXPECT_EQ(Quote("\n\x01x\t"), "prefix:\"\\n\\u0001x\\t\"");
  EXPECT_EQ(Quote(std::string("a\0b", 3)), "prefix:\"a\\u0000b\"");
  EXPECT_EQ(Quote("caf\xC3\xA9 \xFF!"), "prefix:\"caf\xC3\xA9 \xEF\xBF\xBD!\"");
  EXPECT_EQ(Quote("\xE2\x82"), "prefix:\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

}  // namespace json_string_test
}  // namespace icaht::core
