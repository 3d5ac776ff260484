// Micro benchmarks of the proxy's header rewriting (src/proxy/header_rewrite.h): the head sent
// upstream for a typical browser GET, and the head sent back to the client for a typical
// upstream response. The output string is reused, as a connection reuses its buffer.

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "core/check.h"
#include "http/request_parser.h"
#include "http/response_parser.h"
#include "proxy/header_rewrite.h"

namespace icaht::proxy {
namespace {

constexpr std::string_view kBrowserGet =
    "GET /api/v1/orders/12345?include=items&sort=desc HTTP/1.1\r\n"
    "Host: orders.internal.example:7001\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

// What wrk sends: the smallest realistic head.
constexpr std::string_view kWrkGet =
    "GET / HTTP/1.1\r\n"
    "Host: 127.0.0.1:30101\r\n"
    "\r\n";

// A head that came through an edge proxy (Traefik): X-Forwarded-* are present and merged.
constexpr std::string_view kForwardedGet =
    "GET /orders/42 HTTP/1.1\r\n"
    "Host: shop.example\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "X-Forwarded-For: 203.0.113.7\r\n"
    "X-Forwarded-Proto: https\r\n"
    "X-Forwarded-Host: shop.example\r\n"
    "X-Real-Ip: 203.0.113.7\r\n"
    "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "Connection: keep-alive, x-hop\r\n"
    "X-Hop: dropped\r\n"
    "\r\n";

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Tue, 21 Nov 2023 23:08:00 GMT\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 1234\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Request-Id: 3b241101-e2bb-4255-8caf-4136c566a962\r\n"
    "\r\n";

void UpstreamRequest(benchmark::State& state, std::string_view raw) {
  http::RequestHead head;
  http::ParseError error;
  ICAHT_CHECK(http::ParseRequestHead(raw, http::Limits(), &head, &error) ==
              http::ParseStatus::kComplete);
  std::string out;
  out.reserve(4096);
  for (auto _ : state) {
    out.clear();
    BuildUpstreamRequestHead(head, "127.0.0.1", &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
  state.SetLabel(std::to_string(raw.size()) + " B in, " + std::to_string(out.size()) + " B out");
}

void BM_BuildUpstreamRequestHead_Browser(benchmark::State& state) {
  UpstreamRequest(state, kBrowserGet);
}
BENCHMARK(BM_BuildUpstreamRequestHead_Browser);

void BM_BuildUpstreamRequestHead_Wrk(benchmark::State& state) { UpstreamRequest(state, kWrkGet); }
BENCHMARK(BM_BuildUpstreamRequestHead_Wrk);

void BM_BuildUpstreamRequestHead_Forwarded(benchmark::State& state) {
  UpstreamRequest(state, kForwardedGet);
}
BENCHMARK(BM_BuildUpstreamRequestHead_Forwarded);

// Parse + rewrite together: the user-space work a proxied request head costs.
void BM_ParseAndRewriteRequest_Browser(benchmark::State& state) {
  http::RequestHead head;
  http::ParseError error;
  std::string out;
  out.reserve(4096);
  for (auto _ : state) {
    out.clear();
    http::ParseStatus s = http::ParseRequestHead(kBrowserGet, http::Limits(), &head, &error);
    benchmark::DoNotOptimize(s);
    BuildUpstreamRequestHead(head, "127.0.0.1", &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ParseAndRewriteRequest_Browser);

void BM_BuildClientResponseHead(benchmark::State& state) {
  const bool keep_alive = state.range(0) != 0;
  http::ResponseHead head;
  http::ParseError error;
  ICAHT_CHECK(http::ParseResponseHead(kResponse, http::Method::kGet, http::Limits(), &head,
                                      &error) == http::ParseStatus::kComplete);
  std::string out;
  out.reserve(4096);
  for (auto _ : state) {
    out.clear();
    BuildClientResponseHead(head, keep_alive, /*chunk_encode=*/false, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
  state.SetLabel(keep_alive ? "keep-alive" : "close");
}
BENCHMARK(BM_BuildClientResponseHead)->Arg(1)->Arg(0);

void BM_ParseAndRewriteResponse(benchmark::State& state) {
  http::ResponseHead head;
  http::ParseError error;
  std::string out;
  out.reserve(4096);
  for (auto _ : state) {
    out.clear();
    http::ParseStatus s =
        http::ParseResponseHead(kResponse, http::Method::kGet, http::Limits(), &head, &error);
    benchmark::DoNotOptimize(s);
    BuildClientResponseHead(head, true, false, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ParseAndRewriteResponse);

void BM_SimpleResponse502(benchmark::State& state) {
  for (auto _ : state) {
    std::string r;
    AppendLocalResponse(502, "text/plain; charset=utf-8", "upstream unavailable\n", true, false,
                        nullptr, &r);
    benchmark::DoNotOptimize(r.data());
  }
}
BENCHMARK(BM_SimpleResponse502);

}  // namespace
}  // namespace icaht::proxy

BENCHMARK_MAIN();
