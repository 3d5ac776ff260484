// Micro benchmarks of the load-balancing policies (src/proxy/balancer.cc):
// one pick for one request over 4 instances (weights 1, 1, 2, 4), the
// shard's in-flight counts and rotation state as the exchange passes them.
//   RoundRobin / LeastRequest / Random   no key
//   RingHash / Maglev                    the request's key hashed (a 16-byte
//                                        header value), then the lookup
//   RetryDecision                        the retry policy's decision for a
//                                        503 answer (what a failing request adds)

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "filters/retry_policy.h"
#include "proxy/balancer.h"

namespace icaht::proxy {
namespace {

std::vector<UpstreamConfig> Instances() {
  std::vector<UpstreamConfig> out;
  for (uint32_t weight : {1u, 1u, 2u, 4u}) {
    UpstreamConfig u;
    u.text = absl::StrCat("10.0.0.", out.size() + 1, ":8080");
    u.address = *net::Address::Parse(u.text);
    u.weight = weight;
    out.push_back(u);
  }
  return out;
}

void Pick(benchmark::State& state, LbPolicy policy, bool keyed) {
  const std::vector<UpstreamConfig> ups = Instances();
  Balancer balancer;
  balancer.Reset(policy, ups);
  std::vector<bool> out(ups.size(), false);
  std::vector<uint32_t> active = {3, 1, 4, 2};
  const std::string key = "user-0123456789a";
  for (auto _ : state) {
    Balancer::Request request{.out = &out, .active = &active};
    if (keyed) request.hash = StableHash(key);
    benchmark::DoNotOptimize(balancer.Pick(ups, request));
  }
}

void BM_RoundRobin(benchmark::State& state) { Pick(state, LbPolicy::kRoundRobin, false); }
void BM_LeastRequest(benchmark::State& state) { Pick(state, LbPolicy::kLeastRequest, false); }
void BM_Random(benchmark::State& state) { Pick(state, LbPolicy::kRandom, false); }
void BM_RingHash(benchmark::State& state) { Pick(state, LbPolicy::kRingHash, true); }
void BM_Maglev(benchmark::State& state) { Pick(state, LbPolicy::kMaglev, true); }

void BM_RetryDecision(benchmark::State& state) {
  filters::RetryPolicy policy;
  for (auto _ : state) {
    filters::RetryContext context{.method = http::Method::kGet, .requests_in_flight = 10};
    benchmark::DoNotOptimize(filters::DecideRetry(policy, {.status = 503}, context));
  }
}

BENCHMARK(BM_RoundRobin);
BENCHMARK(BM_LeastRequest);
BENCHMARK(BM_Random);
BENCHMARK(BM_RingHash);
BENCHMARK(BM_Maglev);
BENCHMARK(BM_RetryDecision);

}  // namespace
}  // namespace icaht::proxy

BENCHMARK_MAIN();
