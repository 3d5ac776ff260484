// Micro benchmarks of the filter chain (src/filters/): what a request pays for
// the pipeline itself. Each iteration is one exchange's worth of chain work:
// the context copies the parsed head, the request phase runs, the upstream
// head is written with the edits, the response phase runs and the client head
// is written, then the log phase; the context borrows its storage as an
// exchange does from its connection. "NothingConfigured" is a service that
// configures nothing (health paths off too); "RequestId" adds request IDs (a
// generated UUID each time); "Fault*" a fault filter that does not fire.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "filters/filter_chain.h"
#include "http/request_parser.h"
#include "http/response_parser.h"
#include "proxy/header_rewrite.h"

namespace icaht::proxy {
namespace {

constexpr std::string_view kWrkGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1:30101\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";

class NoCallbacks final : public filters::FilterCallbacks {
 public:
  void Resume() override {}
  void RespondLocally() override {}
};

class NoService final : public filters::ServiceView {
 public:
  bool draining() const override { return false; }
  size_t upstream_count() const override { return 1; }
  std::string upstream_address(size_t) const override { return "127.0.0.1:1"; }
  bool upstream_usable(size_t) const override { return true; }
};

void RunChain(benchmark::State& state, const filters::FilterSpecs& specs) {
  NoService service;
  NoCallbacks callbacks;
  std::unique_ptr<filters::FilterChain> chain =
      filters::FilterChain::Build(specs, "svc", &service, nullptr);
  http::RequestHead head;
  http::ParseError error;
  ICAHT_CHECK(http::ParseRequestHead(kWrkGet, http::Limits{}, &head, &error) ==
              http::ParseStatus::kComplete);
  http::ResponseHead response;
  ICAHT_CHECK(http::ParseResponseHead(kResponse, http::Method::kGet, http::Limits{}, &response,
                                      &error) == http::ParseStatus::kComplete);
  std::string upstream_head;
  std::string client_head;
  filters::RequestContext ctx;  // the connection's, reset per exchange (ExchangeBuffers)
  for (auto _ : state) {
    ctx.Reset();
    ctx.SetRequest(head, kWrkGet);
    size_t next = 0;
    benchmark::DoNotOptimize(chain->RunRequest(ctx, callbacks, &next));
    upstream_head.clear();
    BuildUpstreamRequestHead(ctx.request(), "127.0.0.1", &upstream_head, &ctx.upstream_edits);
    ctx.response_status = response.status;
    chain->RunResponse(ctx);
    client_head.clear();
    BuildClientResponseHead(response, true, false, &client_head, &ctx.response_edits);
    chain->RunLog(ctx);
    benchmark::DoNotOptimize(client_head.data());
  }
}

void BM_Chain_NothingConfigured(benchmark::State& state) {
  RunChain(state, {.health = {.path = "", .ready_path = ""}});
}
BENCHMARK(BM_Chain_NothingConfigured);

void BM_Chain_DefaultHealthOnly(benchmark::State& state) { RunChain(state, {}); }
BENCHMARK(BM_Chain_DefaultHealthOnly);

void BM_Chain_RequestId(benchmark::State& state) {
  RunChain(state, {.request_id = {.enabled = true}});
}
BENCHMARK(BM_Chain_RequestId);

// A service with a fault configured, on requests it does not fault: one draw
// of the shard's random (0.1 % aborted, the odd local answer included), and a
// header gate the request does not pass (one field lookup, no draw).
void BM_Chain_FaultRarelyFiring(benchmark::State& state) {
  RunChain(state, {.health = {.path = "", .ready_path = ""},
                   .fault = filters::FaultSpec{.abort_status = 503, .abort_percent = 0.1}});
}
BENCHMARK(BM_Chain_FaultRarelyFiring);

void BM_Chain_FaultHeaderGateMiss(benchmark::State& state) {
  RunChain(state, {.health = {.path = "", .ready_path = ""},
                   .fault = filters::FaultSpec{
                       .abort_status = 503, .abort_percent = 100, .header = "x-icaht-fault"}});
}
BENCHMARK(BM_Chain_FaultHeaderGateMiss);

void BM_UuidV4(benchmark::State& state) {
  char out[36];
  for (auto _ : state) {
    filters::UuidGenerator::Generate(out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_UuidV4);

}  // namespace
}  // namespace icaht::proxy

BENCHMARK_MAIN();
