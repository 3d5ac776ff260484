// Micro benchmarks of traffic-splitting routes (src/proxy/route_table.cc):
// one Match over 10 routes, each a path_prefix ("/svc0/" .. "/svc9/") and a
// header exact match (x-tenant: t<i>), the headers looked up by a linear scan
// of 8 (name, value) pairs as a parsed request head would offer them.
//   MatchFirst      the first route takes the request
//   MatchLast       the tenth does: every route's prefix tried, one header looked up
//   MatchNone       the prefix of the last route, the wrong tenant: no route
//   MatchLastSameP  every route's prefix "/api/": ten prefixes and ten headers
//                   looked up, the tenth route takes it (the worst case of ten)
//   MatchRegexLast  the first ten routes plus a path_regex route after them, taken
//   PickSubset      a 90/10 split for a hash_on hash

#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proxy/route_table.h"

namespace icaht::proxy {
namespace {

using filters::FieldMatchSpec;
using filters::RouteMatchSpec;
using filters::RouteSpec;

RouteTable Table(bool with_regex, bool same_prefix = false) {
  std::vector<filters::Labels> labels = {{{"version", "v1"}}, {{"version", "v2"}}};
  std::vector<filters::SubsetSpec> subsets = {{"v1", {{"version", "v1"}}},
                                              {"v2", {{"version", "v2"}}}};
  std::vector<RouteSpec> routes;
  for (int i = 0; i < 10; ++i) {
    RouteSpec route;
    route.match.path_kind = RouteMatchSpec::PathKind::kPrefix;
    route.match.path = same_prefix ? "/api/" : absl::StrCat("/svc", i, "/");
    route.match.headers = {{"x-tenant", FieldMatchSpec::Kind::kExact, absl::StrCat("t", i)}};
    route.to = {{"v1", 90}, {"v2", 10}};
    routes.push_back(std::move(route));
  }
  if (with_regex) {
    RouteSpec route;
    route.match.path_kind = RouteMatchSpec::PathKind::kRegex;
    route.match.path = "/users/[0-9]+/orders(/.*)?";
    route.to = {{"v2", 1}};
    routes.push_back(std::move(route));
  }
  return std::move(RouteTable::Build(subsets, routes, labels)).value();
}

using Head = std::vector<std::pair<std::string, std::string>>;

Head Headers(std::string tenant) {
  return {{"host", "api.example"},    {"user-agent", "curl/8.1.2"},
          {"accept", "*/*"},          {"content-type", "application/json"},
          {"content-length", "42"},   {"x-request-id", "0f8e2a8c-5c2b-4d7f-9b1e"},
          {"traceparent", "00-4bf9"}, {"x-tenant", std::move(tenant)}};
}

void Match(benchmark::State& state, bool with_regex, std::string_view target, std::string tenant,
           bool same_prefix = false) {
  const RouteTable table = Table(with_regex, same_prefix);
  const Head head = Headers(std::move(tenant));
  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [n, v] : head) {
      if (n == name) return std::string_view(v);
    }
    return std::nullopt;
  };
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.Match("GET", target, lookup));
  }
}

void BM_MatchFirst(benchmark::State& state) { Match(state, false, "/svc0/orders?page=2", "t0"); }
void BM_MatchLast(benchmark::State& state) { Match(state, false, "/svc9/orders?page=2", "t9"); }
void BM_MatchNone(benchmark::State& state) { Match(state, false, "/svc9/orders?page=2", "t1"); }
void BM_MatchLastSameP(benchmark::State& state) {
  Match(state, false, "/api/orders?page=2", "t9", /*same_prefix=*/true);
}
void BM_MatchRegexLast(benchmark::State& state) {
  Match(state, true, "/users/12345/orders/7?page=2", "t1");
}

void BM_PickSubset(benchmark::State& state) {
  const RouteTable table = Table(false);
  const RouteTable::Route& route = table.routes()[0];
  uint64_t hash = 0x9e3779b97f4a7c15ULL;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.PickSubset(route, hash));
    hash += 0x9e3779b97f4a7c15ULL;
  }
}

BENCHMARK(BM_MatchFirst);
BENCHMARK(BM_MatchLast);
BENCHMARK(BM_MatchNone);
BENCHMARK(BM_MatchLastSameP);
BENCHMARK(BM_MatchRegexLast);
BENCHMARK(BM_PickSubset);

}  // namespace
}  // namespace icaht::proxy

BENCHMARK_MAIN();
