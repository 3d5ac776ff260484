// Micro benchmarks of the per-request tracing work (src/tracing/trace_context.cc): deciding the
// trace context from the request's headers and writing the upstream headers, for a request
// without trace headers, with a valid traceparent, and with traceparent + tracestate; and of
// the exporter's OTLP/Zipkin encoding of a full 512-span batch (control thread).

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "tracing/encode.h"
#include "tracing/trace_context.h"

namespace icaht::tracing {
namespace {

// A typical proxied request's fields around the trace headers.
std::vector<http::Header> Request(std::vector<http::Header> trace_fields) {
  std::vector<http::Header> headers = {
      {"Host", "orders.internal:7001"}, {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
      {"Accept", "application/json"},   {"Accept-Encoding", "gzip, deflate, br"},
      {"Connection", "keep-alive"},     {"X-Request-Id", "7b0a52b4-9d3e-4f3c-8c1e-4a7e5b2f9d10"}};
  headers.insert(headers.begin() + 3, trace_fields.begin(), trace_fields.end());
  return headers;
}

void DecideAndFormat(benchmark::State& state, const std::vector<http::Header>& headers,
                     TracingSpec spec) {
  core::FastRandom rng(1);
  std::string tracestate_buffer;
  char buffer[kTraceHeaderBufferSize];
  for (auto _ : state) {
    const TraceContext ctx = DecideTrace(headers, spec, rng, tracestate_buffer);
    const TraceHeaders out = FormatTraceHeaders(ctx, spec.propagation, buffer);
    benchmark::DoNotOptimize(out);
  }
}

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

void BM_Trace_NoHeader(benchmark::State& state) {
  DecideAndFormat(state, Request({}), {.sample_ratio = 0.01});
}
BENCHMARK(BM_Trace_NoHeader);

void BM_Trace_Traceparent(benchmark::State& state) {
  DecideAndFormat(state, Request({{"traceparent", kTraceparent}}), {.sample_ratio = 0.01});
}
BENCHMARK(BM_Trace_Traceparent);

void BM_Trace_TraceparentTracestate(benchmark::State& state) {
  DecideAndFormat(state,
                  Request({{"traceparent", kTraceparent},
                           {"tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}}),
                  {.sample_ratio = 0.01});
}
BENCHMARK(BM_Trace_TraceparentTracestate);

// Every format read and written: the most a request can cost.
void BM_Trace_AllFormats(benchmark::State& state) {
  DecideAndFormat(
      state, Request({{"traceparent", kTraceparent}}),
      {.sample_ratio = 0.01, .propagation = {.w3c = true, .b3 = true, .b3_multi = true}});
}
BENCHMARK(BM_Trace_AllFormats);

std::vector<Span> Batch() {
  core::FastRandom rng(2);
  std::vector<Span> spans;
  int64_t t = 1700000000000000000;
  for (int i = 0; i < 512; ++i, t += 1234567) {
    spans.push_back(Span{.trace_id = NewTraceId(rng),
                         .span_id = NewSpanId(rng),
                         .parent_span_id = NewSpanId(rng),
                         .status_code = 200,
                         .attempts = 1,
                         .start_unix_ns = t,
                         .end_unix_ns = t + 1234567,
                         .response_body_bytes = 1234,
                         .name = "GET /orders",
                         .service = "orders",
                         .method = "GET",
                         .path = "/orders/12345",
                         .route = "/orders",
                         .server_address = "orders.internal",
                         .upstream_address = "127.0.0.1:8080",
                         .client_address = "10.0.0.17",
                         .user_agent = "Mozilla/5.0 (X11; Linux x86_64)"});
  }
  return spans;
}

void Encode(benchmark::State& state, ExportFormat format) {
  const std::vector<Span> spans = Batch();
  const ExportResource resource;
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeSpans(format, spans, resource, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / 512;
}

void BM_EncodeOtlp512(benchmark::State& state) { Encode(state, ExportFormat::kOtlpJson); }
BENCHMARK(BM_EncodeOtlp512)->Unit(benchmark::kMicrosecond);

void BM_EncodeZipkin512(benchmark::State& state) { Encode(state, ExportFormat::kZipkinJson); }
BENCHMARK(BM_EncodeZipkin512)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace icaht::tracing

BENCHMARK_MAIN();
