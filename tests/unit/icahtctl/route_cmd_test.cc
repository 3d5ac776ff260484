#include "route_cmd.h"

#include "gtest/gtest.h"

namespace icaht::ctl {
namespace route_cmd_test {

using Split = std::vector<std::pair<std::string, uint32_t>>;

TEST(RouteCmdTest, Arguments) {
  RouteArgs args;
  ASSERT_EQ(ParseRouteArgs({"orders"}, {}, &args), std::nullopt);
  EXPECT_EQ(args.service, "orders");
  EXPECT_FALSE(args.split.has_value());
  ASSERT_EQ(ParseRouteArgs({"orders"}, {{"--split", "v1=90,v2=10"}}, &args), std::nullopt);
  EXPECT_EQ(*args.split, (Split{{"v1", 90}, {"v2", 10}}));
  ASSERT_EQ(ParseRouteArgs({"orders"}, {{"--split", "v2=0"}}, &args), std::nullopt);
  EXPECT_EQ(*args.split, (Split{{"v2", 0}}));

  EXPECT_EQ(ParseRouteArgs({}, {}, &args), "missing service NAME");
  EXPECT_EQ(ParseRouteArgs({"a", "b"}, {}, &args), "unexpected argument 'b'");
  for (const char* bad : {"v1", "v1=", "=5", "v1=x", "v1=5,", "v1=-1", "v1=99999999999"}) {
    EXPECT_NE(ParseRouteArgs({"orders"}, {{"--split", bad}}, &args), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseRouteArgs({"orders"}, {{"--split", "v1=1"}, {"--split", "v2=1"}}, &args),
            "--split given twice");
}

TEST(RouteCmdTest, SplitIsAppendedWhenNoRouteTakesEverything) {
  absl::StatusOr<std::string> out =
      ApplySplit(R"({"name":"a","port":5,"routes":[{"match":{"path_prefix":"/x"},"to":[)"
                 R"({"subset":"v2","weight":1}]}],"version":"1"})",
                 {{"v1", 90}, {"v2", 10}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            R"({"name":"a","port":5,"version":"1","routes":[{"match":{"path_prefix":"/x"},)"
            R"("to":[{"subset":"v2","weight":1}]},{"match":{},"to":[{"subset":"v1","weight":90},)"
            R"({"subset":"v2","weight":10}]}]})");
  out = ApplySplit(R"({"name":"a"})", {{"v1", 1}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, R"({"name":"a","routes":[{"match":{},"to":[{"subset":"v1","weight":1}]}]})");
}

TEST(RouteCmdTest, SplitReplacesTheCatchAllRoutesToOnly) {
  // The first route whose match is empty takes the split and keeps its name and timeouts;
  // a later one (never reached) is left alone.
  absl::StatusOr<std::string> out = ApplySplit(
      R"({"name":"a","routes":[{"match":{"path_exact":"/m"},"direct_response":{"status":503,)"
      R"("body":""}},{"name":"all","match":{},"to":[{"subset":"v1","weight":1}],)"
      R"("timeouts":{"request_ms":5}},{"to":[{"subset":"v2","weight":1}]}]})",
      {{"v1", 50}, {"v2", 50}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            R"({"name":"a","routes":[{"match":{"path_exact":"/m"},"direct_response":)"
            R"({"status":503,"body":""}},{"name":"all","match":{},"timeouts":{"request_ms":5},)"
            R"("to":[{"subset":"v1","weight":50},{"subset":"v2","weight":50}]},)"
            R"({"to":[{"subset":"v2","weight":1}]}]})");
  // A direct response that takes every request: a split after it would never be reached.
  out = ApplySplit(R"({"name":"a","routes":[{"direct_response":{"status":404,"body":""}}]})",
                   {{"v1", 1}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("routes[0] answers"), std::string::npos);
  EXPECT_FALSE(ApplySplit("[1]", {{"v1", 1}}).ok());
  EXPECT_FALSE(ApplySplit("{", {{"v1", 1}}).ok());
}

TEST(RouteCmdTest, FormatShowsSubsetsAndRoutes) {
  absl::StatusOr<std::string> text = FormatRoutes(
      R"({"name":"a","upstreams":[{"address":"10.0.0.1:80","labels":{"version":"v1"}},)"
      R"("10.0.0.3:80",{"address":"10.0.0.2:80","labels":{"version":"v2"}}],)"
      R"("subsets":[{"name":"v1","labels":{"version":"v1"}},{"name":"v2","labels":{"version":"v2"}}],)"
      R"("routes":[{"name":"canary","match":{"headers":[{"name":"x-canary","exact":"1"}]},)"
      R"("to":[{"subset":"v2","weight":1}]},)"
      R"({"match":{"path_prefix":"/api","methods":["GET","HEAD"],"query":[{"name":"d","present":true}]},)"
      R"("to":[{"subset":"v1","weight":1}]},)"
      R"({"match":{"path_exact":"/m"},"direct_response":{"status":503,"body":"x"}},)"
      R"({"match":{},"to":[{"subset":"v1","weight":90},{"subset":"v2","weight":10}]}]})");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "SUBSET  LABELS      INSTANCES\n"
            "v1      version=v1  10.0.0.1:80\n"
            "v2      version=v2  10.0.0.2:80\n"
            "\n"
            "#  NAME    MATCH                    TO\n"
            "0  canary  x-canary=1               v2\n"
            "1  -       prefix /api GET,HEAD ?d  v1\n"
            "2  -       path /m                  503 direct\n"
            "3  -       *                        v1=90,v2=10\n");
  text = FormatRoutes(R"({"name":"a"})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "routes: none (every request goes to every instance)\n");
}

}  // namespace route_cmd_test
}  // namespace icaht::ctl
