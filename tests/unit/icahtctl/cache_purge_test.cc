#include "cache_purge.h"

#include "gtest/gtest.h"

namespace icaht::ctl {
namespace cache_purge_test {

using Options = std::vector<std::pair<std::string, std::string>>;

TEST(CachePurgeTest, EncodeQueryValueKeepsUnreservedAndSlash) {
  EXPECT_EQ(EncodeQueryValue(""), "");
  EXPECT_EQ(EncodeQueryValue("/a/B-9._~"), "/a/B-9._~");
  EXPECT_EQ(EncodeQueryValue("/items?page=2&sort=a b"), "/items%3Fpage%3D2%26sort%3Da%20b");
  EXPECT_EQ(EncodeQueryValue("/%2F+#"), "/%252F%2B%23");
  EXPECT_EQ(EncodeQueryValue("/\xc3\xa9\x7f"), "/%C3%A9%7F");
}

TEST(CachePurgeTest, TargetEncodesTheNameAndThePath) {
  EXPECT_EQ(CachePurgeTarget({.service = "orders"}), "/v1/services/orders/cache");
  EXPECT_EQ(CachePurgeTarget({.service = "a b", .path = "/x?y=1"}),
            "/v1/services/a%20b/cache?path=/x%3Fy%3D1");
}

TEST(CachePurgeTest, Arguments) {
  CachePurgeArgs args;
  ASSERT_EQ(ParseCachePurgeArgs({"purge", "orders"}, {}, &args), std::nullopt);
  EXPECT_EQ(args.service, "orders");
  EXPECT_EQ(args.path, std::nullopt);
  ASSERT_EQ(ParseCachePurgeArgs({"purge", "orders"}, {{"--path", "/a?b=c"}}, &args), std::nullopt);
  EXPECT_EQ(args.path, "/a?b=c");
}

TEST(CachePurgeTest, BadArgumentsAreNamed) {
  const std::pair<std::vector<std::string>, Options> inputs[] = {
      {{}, {}},
      {{"flush", "orders"}, {}},
      {{"purge"}, {}},
      {{"purge", "orders", "extra"}, {}},
      {{"purge", ""}, {}},
      {{"purge", "orders"}, {{"--path", "items"}}},
      {{"purge", "orders"}, {{"--path", ""}}},
      {{"purge", "orders"}, {{"--path", "/a"}, {"--path", "/b"}}},
  };
  const std::string_view messages[] = {
      "missing SUBCOMMAND (purge)",
      "unknown subcommand 'flush'",
      "missing service NAME",
      "unexpected argument 'extra'",
      "empty service NAME",
      "bad --path 'items': expected a URI starting with '/'",
      "bad --path '': expected a URI starting with '/'",
      "--path given twice (purge one URI at a time)",
  };
  for (size_t i = 0; i < std::size(inputs); ++i) {
    CachePurgeArgs args;
    EXPECT_EQ(ParseCachePurgeArgs(inputs[i].first, inputs[i].second, &args), messages[i]) << i;
  }
}

TEST(CachePurgeTest, PurgedCountAndLine) {
  absl::StatusOr<uint64_t> n = ParsePurgedCount(R"({"service": "orders", "purged": 12})");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 12u);
  EXPECT_EQ(ParsePurgedCount(R"({"purged": 0, "service": "orders"})").value_or(99), 0u);
  EXPECT_FALSE(ParsePurgedCount(R"({"service": "orders"})").ok());
  EXPECT_FALSE(ParsePurgedCount(R"({"purged": -1})").ok());
  EXPECT_FALSE(ParsePurgedCount("not json").ok());
  EXPECT_EQ(FormatPurged({.service = "orders"}, 3), "purged 3 cached responses of orders");
  EXPECT_EQ(FormatPurged({.service = "orders", .path = "/a?b=1"}, 1),
            "purged 1 cached responses of orders for /a?b=1");
}

}  // namespace cache_purge_test
}  // namespace icaht::ctl
