#include "filters/tracing.h"

#include "core/timer_queue.h"

namespace icaht::filters {

TracingFilter::TracingFilter(tracing::TracingSpec spec, tracing::SpanBuffer* spans)
    : spec_(spec), spans_(spans), rng_(core::FastRandom::FromEntropy()) {}

Verdict TracingFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks&) {
  ctx.trace = tracing::DecideTrace(ctx.request().headers, spec_, rng_, ctx.tracestate_buffer);
  // The incoming fields of the formats we write go (a new trace must not
  // carry the old tracestate); a request without any pays no removal.
  if (ctx.trace.had_fields) {
    tracing::ForEachTraceHeaderName(
        spec_.propagation, [&ctx](std::string_view name) { ctx.upstream_edits.Remove(name); });
  }
  for (const http::Header& field :
       tracing::FormatTraceHeaders(ctx.trace, spec_.propagation, ctx.trace_header_buffer)) {
    ctx.upstream_edits.Add(field.name, field.value);
  }
  return Verdict::kContinue;
}

void TracingFilter::OnLog(const RequestContext& ctx) {
  if (!ctx.trace.sampled || spans_ == nullptr || !ctx.has_request()) return;
  tracing::Span* span = spans_->Next();
  if (span == nullptr) return;  // full or not collecting: counted there
  const http::RequestHead& request = ctx.request();
  span->SetContext(ctx.trace);
  span->SetName(request.method, ctx.route);
  span->route.assign(ctx.route);
  span->SetOutcome(static_cast<uint16_t>(ctx.response_status < 0 ? 0 : ctx.response_status),
                   ctx.error.ok() ? std::string_view() : ctx.error.label());
  span->attempts = static_cast<uint16_t>(ctx.attempts);
  // The exchange's times are on the monotonic clock; the span's on the wall clock.
  const int64_t to_wall = core::WallClockNs() - core::NowNs();
  span->start_unix_ns = ctx.start_ns + to_wall;
  span->end_unix_ns = ctx.end_ns + to_wall;
  span->request_body_bytes = ctx.request_body_bytes;
  span->response_body_bytes = ctx.response_body_bytes;
  span->service.assign(ctx.service_name);
  span->method.assign(request.method);
  span->path.assign(ctx.path());
  span->server_address.assign(request.host);
  span->upstream_address.assign(ctx.upstream_address);
  span->client_address.assign(ctx.client_ip);
  if (const http::Header* ua = ctx.FindRequestHeader("user-agent")) {
    span->user_agent.assign(ua->value);
  }
}

}  // namespace icaht::filters
