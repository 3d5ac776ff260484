// What metrics cost: recording one finished exchange on the request path
// (issue 10's budget is shared with access logs and tracing: at most 1 µs per
// request for the three), and rendering /metrics for 1,000 services on 2
// shards (budget 50 ms; the scrape reads, it never stops a shard).

#include <string>
#include <vector>

#include "admin/metrics_page.h"
#include "benchmark/benchmark.h"
#include "filters/request_context.h"
#include "filters/tracing.h"
#include "http/request_parser.h"
#include "metrics/exposition.h"
#include "metrics/service_series.h"
#include "proxy/access_log_line.h"
#include "proxy/exchange_metrics.h"
#include "tracing/span_buffer.h"

namespace icaht {
namespace {

filters::RequestContext FinishedExchange() {
  filters::RequestContext ctx;
  ctx.start_ns = 1'000'000;
  ctx.upstream_start_ns = 1'010'000;
  ctx.end_ns = 1'900'000;
  ctx.response_status = 200;
  ctx.response_head_bytes = 120;
  ctx.response_body_bytes = 5;
  return ctx;
}

void BM_RecordExchange(benchmark::State& state) {
  metrics::ServiceSeries series("svc", 2);
  filters::RequestContext ctx = FinishedExchange();
  for (auto _ : state) {
    proxy::RecordExchange(ctx, series.shard(0));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RecordExchange);

// Formatting one access log line (the sink's write is batched: 64 KiB per
// io_uring write, off the request path).
// Makes `ctx` a finished exchange of a forwarded GET. (Filled in place: the
// head's views point into the context's own copy, which a move could leave.)
void SetForwardedGet(filters::RequestContext& ctx) {
  const std::string raw = "GET /orders/7?x=1 HTTP/1.1\r\nHost: svc\r\nUser-Agent: wrk/4.2\r\n\r\n";
  http::RequestHead head;
  http::ParseError error;
  http::ParseRequestHead(raw, http::Limits{}, &head, &error);
  ctx = FinishedExchange();
  ctx.SetRequest(head, raw);
  ctx.service_name = "orders";
  ctx.client_ip = "127.0.0.1";
  ctx.upstream_address = "127.0.0.1:8080";
}

void BM_AccessLogLine(benchmark::State& state) {
  filters::RequestContext ctx;
  SetForwardedGet(ctx);
  ctx.request_id = "5b9cfee8-ed31-41f5-a537-8270c17bc4b9";
  proxy::TimeFormatter time;
  std::string out;
  int64_t now = 1'796'066'583'000'000'000;
  for (auto _ : state) {
    out.clear();
    proxy::AppendAccessLogLine(ctx, now += 1000, time, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AccessLogLine);

class NoCallbacks final : public filters::FilterCallbacks {
 public:
  void Resume() override {}
  void RespondLocally() override {}
};

// Everything observability adds to one request, as the exchange runs it: the
// tracing filter's decision and upstream fields (no incoming trace, 1 %
// sampled), the metrics record, the access log line, and the log phase's span
// for the sampled ones (the buffer is emptied as the control thread would).
void BM_ObservabilityPerRequest(benchmark::State& state) {
  filters::RequestContext ctx;
  SetForwardedGet(ctx);
  metrics::ServiceSeries series("orders", 2);
  tracing::SpanBuffer spans(4096);
  filters::TracingFilter filter({.sample_ratio = 0.01}, &spans);
  NoCallbacks callbacks;
  proxy::TimeFormatter time;
  std::string out;
  int64_t now = 1'796'066'583'000'000'000;
  for (auto _ : state) {
    ctx.upstream_edits.Clear();
    filter.OnRequestHead(ctx, callbacks);
    proxy::RecordExchange(ctx, series.shard(0));
    if (out.size() > 64 * 1024) out.clear();
    proxy::AppendAccessLogLine(ctx, now += 1000, time, &out);
    filter.OnLog(ctx);
    if (spans.size() == 4096) benchmark::DoNotOptimize(spans.Take());
  }
}
BENCHMARK(BM_ObservabilityPerRequest);

void BM_Scrape(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  std::vector<std::unique_ptr<metrics::ServiceSeries>> all;
  std::vector<const metrics::ServiceSeries*> list;
  filters::RequestContext ctx = FinishedExchange();
  for (size_t i = 0; i < n; ++i) {
    all.push_back(std::make_unique<metrics::ServiceSeries>("service-" + std::to_string(i), 2));
    for (size_t shard = 0; shard < 2; ++shard) {
      for (int code : {200, 404, 503}) {
        ctx.response_status = code;
        proxy::RecordExchange(ctx, all.back()->shard(shard));
      }
    }
    list.push_back(all.back().get());
  }
  size_t bytes = 0;
  for (auto _ : state) {
    metrics::Exposition out(metrics::Format::kText);
    admin::WriteServiceMetrics(list, out);
    std::string page = std::move(out).Finish();
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace icaht

BENCHMARK_MAIN();
