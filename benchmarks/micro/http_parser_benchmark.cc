// Micro benchmarks of the HTTP/1.1 hot path: request and response heads, re-fed partial heads,
// and chunked decoding. Budget: well under 1 us for a typical request head.

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "http/chunked.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace icaht::http {
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

constexpr std::string_view kPost =
    "POST /v1/services HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 27\r\n"
    "\r\n"
    "{\"name\":\"orders\",\"port\":0}";

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

void BM_ParseBrowserGet(benchmark::State& state) {
  RequestHead head;
  ParseError error;
  const Limits limits;
  for (auto _ : state) {
    ParseStatus s = ParseRequestHead(kBrowserGet, limits, &head, &error);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(head.headers.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBrowserGet.size()));
  state.SetLabel(std::to_string(kBrowserGet.size()) + " B");
}
BENCHMARK(BM_ParseBrowserGet);

void BM_ParsePostWithContentLength(benchmark::State& state) {
  RequestHead head;
  ParseError error;
  const Limits limits;
  for (auto _ : state) {
    ParseStatus s = ParseRequestHead(kPost, limits, &head, &error);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(head.content_length);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPost.size()));
}
BENCHMARK(BM_ParsePostWithContentLength);

// The re-scan path: the head arrives in four segments, each call sees all bytes so far.
void BM_ParseBrowserGetInFourSegments(benchmark::State& state) {
  RequestHead head;
  ParseError error;
  const Limits limits;
  const size_t n = kBrowserGet.size();
  for (auto _ : state) {
    for (size_t end : {n / 4, n / 2, 3 * n / 4, n}) {
      ParseStatus s = ParseRequestHead(kBrowserGet.substr(0, end), limits, &head, &error);
      benchmark::DoNotOptimize(s);
    }
  }
}
BENCHMARK(BM_ParseBrowserGetInFourSegments);

void BM_ParseResponseHead(benchmark::State& state) {
  ResponseHead head;
  ParseError error;
  const Limits limits;
  for (auto _ : state) {
    ParseStatus s = ParseResponseHead(kResponse, Method::kGet, limits, &head, &error);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(head.headers.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
}
BENCHMARK(BM_ParseResponseHead);

// 64 KiB of payload in chunks of state.range(0) bytes, decoded in one buffer.
void BM_ChunkedDecode64KiB(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  const size_t total = 64 * 1024;
  std::string encoded;
  char buf[18];
  for (size_t pos = 0; pos < total; pos += chunk) {
    encoded.append(buf, WriteChunkHeader(chunk, buf));
    encoded.append(chunk, 'x');
    encoded += "\r\n";
  }
  encoded += "0\r\n\r\n";
  for (auto _ : state) {
    ChunkedDecoder decoder;
    std::string_view rest = encoded;
    size_t payload = 0;
    while (!rest.empty() && !decoder.done()) {
      ChunkedDecoder::Step step = decoder.Feed(rest);
      payload += step.data.size();
      rest.remove_prefix(step.consumed);
    }
    benchmark::DoNotOptimize(payload);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * encoded.size()));
}
BENCHMARK(BM_ChunkedDecode64KiB)->Arg(512)->Arg(4096)->Arg(16384);

}  // namespace
}  // namespace icaht::http

BENCHMARK_MAIN();
