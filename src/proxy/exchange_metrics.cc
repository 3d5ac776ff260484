#include "proxy/exchange_metrics.h"

#include "core/timer_queue.h"
#include "filters/auth.h"

namespace icaht::proxy {

static_assert(static_cast<size_t>(filters::ErrorKind::kDrained) < metrics::kMaxKinds);
static_assert(static_cast<size_t>(filters::AuthFailure::kCount) <= metrics::kMaxKinds);
static_assert(filters::kCacheResults - 1 ==
              std::tuple_size_v<decltype(metrics::ShardSeries::cache_requests)>);
static_assert(filters::RequestContext::kOverflowReasons ==
              std::tuple_size_v<decltype(metrics::ShardSeries::breaker_overflow)>);

void RecordExchange(const filters::RequestContext& ctx, metrics::ShardSeries& series,
                    metrics::SubsetSeries* subset, size_t shard) {
  if (subset != nullptr) {
    subset->shard(shard).Add(ctx.response_status);
  } else {
    series.requests.Add(ctx.response_status);
  }
  if (ctx.trace.sampled) {
    // The bucket's exemplar points at this trace (OpenMetrics), timestamped
    // when the exchange ended.
    const uint8_t* trace = ctx.trace.trace_id.data();
    const int64_t unix_ms = core::WallClockNs() / 1'000'000;
    series.request_duration.Observe(ctx.end_ns - ctx.start_ns, trace, unix_ms);
    if (ctx.upstream_start_ns != 0)
      series.upstream_duration.Observe(ctx.end_ns - ctx.upstream_start_ns, trace, unix_ms);
  } else {
    series.request_duration.Observe(ctx.end_ns - ctx.start_ns);
    if (ctx.upstream_start_ns != 0)
      series.upstream_duration.Observe(ctx.end_ns - ctx.upstream_start_ns);
  }
  uint64_t head = ctx.has_request() ? ctx.request().head_size : 0;
  series.bytes_received.Add(head + ctx.request_body_bytes);
  series.bytes_sent.Add(ctx.response_head_bytes + ctx.response_body_bytes);
  if (!ctx.error.ok()) series.errors[static_cast<size_t>(ctx.error.kind)].Add();
  if (ctx.auth_failure >= 0) series.auth_failures[static_cast<size_t>(ctx.auth_failure)].Add();
  if (ctx.attempts > 1) series.upstream_retries.Add(static_cast<uint64_t>(ctx.attempts - 1));
  if (ctx.retry_budget_exhausted) series.retry_overflow.Add();
  if (ctx.overflow != filters::RequestContext::Overflow::kNone) {
    series.breaker_overflow[static_cast<size_t>(ctx.overflow) - 1].Add();
  }
  if (ctx.fault != filters::RequestContext::FaultInjected::kNone) {
    using Fault = filters::RequestContext::FaultInjected;
    if (ctx.fault != Fault::kAbort) series.faults_delayed.Add();
    if (ctx.fault != Fault::kDelay) series.faults_aborted.Add();
  }
  if (ctx.cache.result != filters::CacheResult::kNone) {
    series.cache_requests[static_cast<size_t>(ctx.cache.result) - 1].Add();
  }
  if (ctx.rate_limited == filters::RequestContext::RateLimited::kRefused) {
    series.rate_limited.Add();
  } else if (ctx.rate_limited == filters::RequestContext::RateLimited::kShadow) {
    series.rate_limit_shadow.Add();
  }
}

}  // namespace icaht::proxy
