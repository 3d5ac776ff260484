// Micro benchmarks of the rate-limit filter (src/filters/rate_limit/): one
// decision is the request phase and the response phase of one exchange
// (RateLimit fields on), on a context reused as the connection lends it.
// Limits are generous so that every request passes, except in "Refused".
// The clock is injected (a counter): the real one, core::LoopNowNs, is read
// once per loop round, not per request.
//
//   Service            one `service` limit: one bucket
//   ClientIp/1|10000   a `client_ip` limit, requests cycling over that many clients
//   TwoLimits          `service` + `client_ip` (one client)
//   Refused            every request answered 429 (Retry-After, problem+json body)
//   DemandReport/N     a shard's report every 100 ms with N active keys
//   Coordinator/N      the control thread's Compute for 4 shards x N keys

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/check.h"
#include "filters/rate_limit/rate_limit_filter.h"
#include "filters/rate_limit/share_coordinator.h"
#include "http/request_parser.h"

namespace icaht::filters {
namespace {

constexpr std::string_view kWrkGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1:30101\r\n\r\n";

int64_t g_now_ns = 1'000'000'000;
int64_t TickingNow() { return g_now_ns += 1000; }

class NoCallbacks final : public FilterCallbacks {
 public:
  void Resume() override {}
  void RespondLocally() override {}
};

RateLimitSpec Generous(RateLimitKey key, std::string name) {
  return RateLimitSpec{.name = std::move(name),
                       .requests_per_second = 1e7,
                       .burst = 1000,
                       .key = key,
                       .max_keys = 100000};
}

std::vector<std::string> ClientIps(size_t n) {
  std::vector<std::string> ips;
  for (size_t i = 0; i < n; ++i) {
    ips.push_back("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
                  std::to_string(i & 255));
  }
  return ips;
}

void RunDecisions(benchmark::State& state, std::vector<RateLimitSpec> specs, size_t clients,
                  Verdict expected) {
  RateLimitFilter filter(std::move(specs), TickingNow);
  NoCallbacks callbacks;
  http::RequestHead head;
  http::ParseError error;
  ICAHT_CHECK(http::ParseRequestHead(kWrkGet, http::Limits{}, &head, &error) ==
              http::ParseStatus::kComplete);
  RequestContext ctx;
  ctx.SetRequest(head, kWrkGet);
  std::vector<std::string> ips = ClientIps(clients);
  // Warm: every key exists, the context's strings have grown.
  for (const std::string& ip : ips) {
    ctx.client_ip = ip;
    filter.OnRequestHead(ctx, callbacks);
  }
  size_t next = 0;
  for (auto _ : state) {
    ctx.client_ip = ips[next];
    if (++next == ips.size()) next = 0;
    ctx.response_edits.Clear();
    Verdict verdict = filter.OnRequestHead(ctx, callbacks);
    filter.OnResponseHead(ctx);
    if (verdict != expected) state.SkipWithError("unexpected verdict");
    benchmark::DoNotOptimize(ctx.response_edits);
  }
}

void BM_RateLimit_Service(benchmark::State& state) {
  RunDecisions(state, {Generous(RateLimitKey::kService, "default")}, 1, Verdict::kContinue);
}
BENCHMARK(BM_RateLimit_Service);

void BM_RateLimit_ServiceNoHeaders(benchmark::State& state) {
  RateLimitSpec spec = Generous(RateLimitKey::kService, "default");
  spec.headers = false;
  RunDecisions(state, {spec}, 1, Verdict::kContinue);
}
BENCHMARK(BM_RateLimit_ServiceNoHeaders);

void BM_RateLimit_ClientIp(benchmark::State& state) {
  RunDecisions(state, {Generous(RateLimitKey::kClientIp, "per-ip")},
               static_cast<size_t>(state.range(0)), Verdict::kContinue);
}
BENCHMARK(BM_RateLimit_ClientIp)->Arg(1)->Arg(10000);

void BM_RateLimit_TwoLimits(benchmark::State& state) {
  RunDecisions(
      state,
      {Generous(RateLimitKey::kService, "service"), Generous(RateLimitKey::kClientIp, "per-ip")}, 1,
      Verdict::kContinue);
}
BENCHMARK(BM_RateLimit_TwoLimits);

void BM_RateLimit_Refused(benchmark::State& state) {
  RateLimitSpec spec{.requests_per_second = 1e-3, .burst = 1};
  RunDecisions(state, {spec}, 1, Verdict::kRespond);
}
BENCHMARK(BM_RateLimit_Refused);

void BM_RateLimit_DemandReport(benchmark::State& state) {
  RateLimitFilter filter({Generous(RateLimitKey::kClientIp, "per-ip")}, TickingNow);
  filter.SetShardCount(4);
  NoCallbacks callbacks;
  RequestContext ctx;
  std::vector<std::string> ips = ClientIps(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    for (const std::string& ip : ips) {
      ctx.client_ip = ip;
      filter.OnRequestHead(ctx, callbacks);
    }
    state.ResumeTiming();
    DemandReport report = filter.TakeDemandReport();
    benchmark::DoNotOptimize(report.entries.data());
  }
}
BENCHMARK(BM_RateLimit_DemandReport)->Arg(100)->Arg(10000);

void BM_RateLimit_Coordinator(benchmark::State& state) {
  constexpr size_t kShards = 4;
  std::vector<std::string> ips = ClientIps(static_cast<size_t>(state.range(0)));
  ShareCoordinator coordinator(kShards);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<DemandReport> reports(kShards);
    for (size_t i = 0; i < ips.size(); ++i) {
      reports[i % kShards].entries.push_back(
          DemandEntry{.key = ips[i], .attempts = 10, .share = 0.25, .fill = 0.5});
    }
    state.ResumeTiming();
    for (size_t s = 0; s < kShards; ++s) coordinator.Submit(s, std::move(reports[s]));
    std::vector<ShareUpdate> updates = coordinator.Compute();
    benchmark::DoNotOptimize(updates.data());
  }
}
BENCHMARK(BM_RateLimit_Coordinator)->Arg(100)->Arg(10000);

}  // namespace
}  // namespace icaht::filters

BENCHMARK_MAIN();
