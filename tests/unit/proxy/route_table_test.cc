#include "proxy/route_table.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proxy/balancer.h"

namespace icaht::proxy {
namespace route_table_test {

using filters::FieldMatchSpec;
using filters::RouteMatchSpec;
using filters::RouteSpec;
using Kind = FieldMatchSpec::Kind;
using PathKind = RouteMatchSpec::PathKind;

// Instances 0..3: v1, v1, v2, v3 (instance 3 also canary).
const std::vector<filters::Labels> kLabels = {{{"version", "v1"}},
                                              {{"version", "v1"}},
                                              {{"version", "v2"}},
                                              {{"version", "v3"}, {"track", "canary"}}};
const std::vector<filters::SubsetSpec> kSubsets = {{"v1", {{"version", "v1"}}},
                                                   {"v2", {{"version", "v2"}}},
                                                   {"v3", {{"version", "v3"}}},
                                                   {"canary", {{"track", "canary"}}}};

RouteSpec To(RouteMatchSpec match, std::vector<filters::WeightedSubset> to) {
  RouteSpec route;
  route.match = std::move(match);
  route.to = std::move(to);
  return route;
}

RouteMatchSpec Path(PathKind kind, std::string path) {
  RouteMatchSpec match;
  match.path_kind = kind;
  match.path = std::move(path);
  return match;
}

RouteMatchSpec Headers(std::vector<FieldMatchSpec> headers) {
  RouteMatchSpec match;
  match.headers = std::move(headers);
  return match;
}

RouteMatchSpec Query(std::vector<FieldMatchSpec> query) {
  RouteMatchSpec match;
  match.query = std::move(query);
  return match;
}

RouteTable MustBuild(const std::vector<RouteSpec>& routes) {
  absl::StatusOr<RouteTable> table = RouteTable::Build(kSubsets, routes, kLabels);
  EXPECT_TRUE(table.ok()) << table.status();
  return std::move(table).value();
}

// The index of the matching route, or -1.
int MatchIndex(const RouteTable& table, std::string_view method, std::string_view target,
               const std::map<std::string, std::string>& headers = {}) {
  const RouteTable::Route* route =
      table.Match(method, target, [&](std::string_view name) -> std::optional<std::string_view> {
        auto it = headers.find(std::string(name));
        if (it == headers.end()) return std::nullopt;
        return std::string_view(it->second);
      });
  return route == nullptr ? -1 : static_cast<int>(route->index);
}

TEST(RouteTableTest, SubsetsSelectInstancesByLabels) {
  RouteTable table = MustBuild({});
  ASSERT_EQ(table.subset_count(), 4u);
  EXPECT_EQ(table.SubsetInstances(0), (std::vector<int>{0, 1}));
  EXPECT_EQ(table.SubsetInstances(1), (std::vector<int>{2}));
  EXPECT_EQ(table.SubsetInstances(3), (std::vector<int>{3}));
  EXPECT_EQ(table.SubsetName(3), "canary");
  // The same as a mask (what the balancer leaves out), by instance.
  EXPECT_EQ(table.SubsetExcluded(0), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(table.SubsetExcluded(3), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(MatchIndex(table, "GET", "/"), -1);  // no routes: nothing matches
}

TEST(RouteTableTest, RequestsAgainstRoutes) {
  RouteSpec methods = To({}, {{"v2", 1}});
  methods.match.methods = {"DELETE", "PATCH"};
  RouteSpec combined = To(Path(PathKind::kPrefix, "/combo"), {{"v3", 1}});
  combined.match.methods = {"POST"};
  combined.match.headers = {{"x-team", Kind::kExact, "a"}};
  combined.match.query = {{"dry", Kind::kPresent, ""}};
  RouteSpec direct;
  direct.match = Path(PathKind::kExact, "/down");
  direct.direct_response = filters::DirectResponseSpec{503, "down"};
  const std::vector<RouteSpec> routes = {
      /*0*/ To(Path(PathKind::kExact, "/exact"), {{"v1", 1}}),
      /*1*/ To(Path(PathKind::kPrefix, "/api/"), {{"v2", 1}}),
      /*2*/ To(Path(PathKind::kRegex, "/users/[0-9]+(/.*)?"), {{"v3", 1}}),
      /*3*/ methods,
      /*4*/ To(Headers({{"X-Canary", Kind::kExact, "1"}}), {{"canary", 1}}),
      /*5*/ To(Headers({{"user-agent", Kind::kPrefix, "curl/"}}), {{"v1", 1}}),
      /*6*/ To(Headers({{"x-debug", Kind::kPresent, ""}}), {{"v1", 1}}),
      /*7*/ To(Headers({{"cookie", Kind::kRegex, ".*beta=1.*"}}), {{"v2", 1}}),
      /*8*/ To(Query({{"v", Kind::kExact, "2"}}), {{"v2", 1}}),
      /*9*/ To(Query({{"id", Kind::kRegex, "[a-f]{4}"}}), {{"v3", 1}}),
      /*10*/ combined,
      /*11*/ direct,
      /*12*/ To(Headers({{"x-real", Kind::kAbsent, ""}}), {{"v1", 1}}),
  };
  RouteTable table = MustBuild(routes);
  struct Case {
    std::string_view method;
    std::string_view target;
    std::map<std::string, std::string> headers;
    int route;
  };
  const std::map<std::string, std::string> real = {{"x-real", "1"}};
  const Case cases[] = {
      {"GET", "/exact", real, 0},
      {"GET", "/exact?x=1", real, 0},   // the query is not part of the path
      {"GET", "/exact/", real, -1},     // exact is exact
      {"GET", "/EXACT", real, -1},      // paths are case-sensitive
      {"GET", "/api/orders", real, 1},  // prefix
      {"GET", "/api/", real, 1},
      {"GET", "/api", real, -1},
      {"GET", "/users/42", real, 2},  // regex, the whole path
      {"GET", "/users/42/cart?a=b", real, 2},
      {"GET", "/users/x42", real, -1},
      {"GET", "/x/users/42", real, -1},  // not a search: a full match
      {"DELETE", "/x", real, 3},         // methods
      {"PATCH", "/x", real, 3},
      {"delete", "/x", real, -1},                              // methods are case-sensitive
      {"GET", "/x", {{"x-canary", "1"}, {"x-real", "1"}}, 4},  // header exact (lower-cased name)
      {"GET", "/x", {{"x-canary", "11"}, {"x-real", "1"}}, -1},
      {"GET", "/x", {{"user-agent", "curl/8.1"}, {"x-real", "1"}}, 5},  // header prefix
      {"GET", "/x", {{"user-agent", "wget/curl/"}, {"x-real", "1"}}, -1},
      {"GET", "/x", {{"x-debug", ""}, {"x-real", "1"}}, 6},  // header present, even empty
      {"GET", "/x", {{"cookie", "a=1; beta=1; c=2"}, {"x-real", "1"}}, 7},  // header regex
      {"GET", "/x", {{"cookie", "beta=0"}, {"x-real", "1"}}, -1},
      {"GET", "/x?v=2", real, 8},  // query exact
      {"GET", "/x?a=1&v=2&b", real, 8},
      {"GET", "/x?v=22", real, -1},
      {"GET", "/x?vv=2", real, -1},
      {"GET", "/x?v=1&v=2", real, -1},  // the first parameter of the name counts
      {"GET", "/x?id=beef", real, 9},   // query regex
      {"GET", "/x?id=beefy", real, -1},
      {"GET", "/x?v", real, -1},  // present without a value: ""
      {"POST", "/combo/1?dry", {{"x-team", "a"}, {"x-real", "1"}}, 10},  // every condition
      {"POST", "/combo/1?wet", {{"x-team", "a"}, {"x-real", "1"}}, -1},
      {"GET", "/combo/1?dry", {{"x-team", "a"}, {"x-real", "1"}}, -1},
      {"POST", "/combo/1?dry", real, -1},
      {"GET", "/down", real, 11},
      {"GET", "/anything", {}, 12},  // header absent
      // First match wins: /api/ (1) comes before the canary header (4).
      {"GET", "/api/x", {{"x-canary", "1"}}, 1},
      {"DELETE", "/users/1", {}, 2},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchIndex(table, c.method, c.target, c.headers), c.route)
        << c.method << " " << c.target;
  }
  const RouteTable::Route* down = table.Match(
      "GET", "/down", [](std::string_view) { return std::optional<std::string_view>(); });
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->spec.direct_response->status, 503);
  EXPECT_EQ(table.PickSubset(*down, 7), -1);
  EXPECT_EQ(down->name, "routes[11]");  // unnamed: its place
}

// The share of 10,000 random keys each subset gets.
std::map<int, double> Shares(const RouteTable& table, const RouteTable::Route& route) {
  std::map<int, double> shares;
  uint64_t x = 12345;
  constexpr int kPicks = 10'000;
  for (int i = 0; i < kPicks; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;  // an LCG: deterministic
    shares[table.PickSubset(route, x)] += 1.0 / kPicks;
  }
  return shares;
}

TEST(RouteTableTest, WeightedSplitsFollowTheWeights) {
  RouteTable table =
      MustBuild({To({}, {{"v1", 90}, {"v2", 10}}), To({}, {{"v1", 50}, {"v2", 30}, {"v3", 20}}),
                 To({}, {{"v1", 0}, {"v2", 1}})});
  std::map<int, double> split = Shares(table, table.routes()[0]);
  EXPECT_EQ(split.size(), 2u);
  EXPECT_NEAR(split[0], 0.90, 0.02);
  EXPECT_NEAR(split[1], 0.10, 0.02);
  split = Shares(table, table.routes()[1]);
  EXPECT_EQ(split.size(), 3u);
  EXPECT_NEAR(split[0], 0.50, 0.02);
  EXPECT_NEAR(split[1], 0.30, 0.02);
  EXPECT_NEAR(split[2], 0.20, 0.02);
  split = Shares(table, table.routes()[2]);  // a zero weight is never picked
  EXPECT_EQ(split.size(), 1u);
  EXPECT_NEAR(split[1], 1.0, 1e-9);
}

TEST(RouteTableTest, TheSameHashStaysOnTheSameSide) {
  RouteTable table = MustBuild({To({}, {{"v1", 90}, {"v2", 10}})});
  RouteTable again = MustBuild({To({}, {{"v1", 90}, {"v2", 10}})});  // e.g. another shard
  const RouteTable::Route& route = table.routes()[0];
  int on_v2 = 0;
  for (int k = 0; k < 1000; ++k) {
    uint64_t hash = StableHash(absl::StrCat("client-", k));
    int first = table.PickSubset(route, hash);
    for (int repeat = 0; repeat < 5; ++repeat) EXPECT_EQ(table.PickSubset(route, hash), first);
    EXPECT_EQ(again.PickSubset(again.routes()[0], hash), first);
    on_v2 += first == 1;
  }
  EXPECT_GT(on_v2, 50);  // both sides are used
  EXPECT_LT(on_v2, 150);
}

TEST(RouteTableTest, BuildRefusesWhatTheRegistryRefuses) {
  EXPECT_FALSE(RouteTable::Build(kSubsets, {To({}, {{"v9", 1}})}, kLabels).ok());
  EXPECT_FALSE(RouteTable::Build(kSubsets, {To({}, {{"v1", 0}})}, kLabels).ok());
  EXPECT_FALSE(
      RouteTable::Build(kSubsets, {To(Path(PathKind::kRegex, "(("), {{"v1", 1}})}, kLabels).ok());
  EXPECT_FALSE(
      RouteTable::Build(kSubsets, {To(Headers({{"a", Kind::kRegex, "a**"}}), {{"v1", 1}})}, kLabels)
          .ok());
  EXPECT_FALSE(RouteTable::Build(kSubsets, {RouteSpec{}}, kLabels).ok());  // neither to nor direct
}

TEST(RouteTableTest, EachHeaderIsLookedUpOncePerMatch) {
  // 70 routes on headers h0..h69 (the first 64 names cached), then two on h0 again.
  std::vector<RouteSpec> routes;
  for (int i = 0; i < 70; ++i) {
    routes.push_back(To(Headers({{absl::StrCat("h", i), Kind::kExact, "yes"}}), {{"v1", 1}}));
  }
  routes.push_back(
      To(Headers({{"h0", Kind::kPrefix, "n"}, {"h69", Kind::kAbsent, ""}}), {{"v2", 1}}));
  routes.push_back(To(Headers({{"h0", Kind::kExact, "no"}}), {{"v3", 1}}));
  RouteTable table = MustBuild(routes);
  std::map<std::string, int> lookups;
  auto lookup = [&](std::map<std::string, std::string> head) {
    lookups.clear();
    const RouteTable::Route* route =
        table.Match("GET", "/", [&](std::string_view name) -> std::optional<std::string_view> {
          ++lookups[std::string(name)];
          auto it = head.find(std::string(name));
          if (it == head.end()) return std::nullopt;
          return std::string_view(it->second);
        });
    return route == nullptr ? -1 : static_cast<int>(route->index);
  };
  EXPECT_EQ(lookup({{"h69", "yes"}}), 69);  // beyond the cached names
  EXPECT_EQ(lookup({{"h0", "no"}}), 70);
  EXPECT_EQ(lookups["h0"], 1);   // three routes test it, one lookup
  EXPECT_EQ(lookups["h69"], 2);  // not cached: once per route that tests it
  EXPECT_EQ(lookup({{"h0", "no"}, {"h69", "x"}}), 71);
  EXPECT_EQ(lookup({{"h0", "x"}}), -1);
}

TEST(RouteTableTest, AMovedTableKeepsItsRegexes) {
  RouteTable table = MustBuild({To(Path(PathKind::kRegex, "/r/.*"), {{"v1", 1}})});
  RouteTable moved = std::move(table);
  EXPECT_EQ(MatchIndex(moved, "GET", "/r/1"), 0);
  EXPECT_EQ(MatchIndex(moved, "GET", "/s/1"), -1);
}

}  // namespace route_table_test
}  // namespace icaht::proxy
