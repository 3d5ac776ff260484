#pragma once
// Tracing (`tracing` in the service record): decides each request's trace
// context (tracing/trace_context.h: continue a valid incoming trace, else
// start one sampled by the service's ratio), replaces the trace fields of the
// formats the service propagates with its own (the proxy's server span is the
// upstream request's parent), and in the log phase hands a sampled exchange's
// server span to the shard's span buffer, which the control thread exports.
//
// Placed right after the local endpoints: an auth refusal or a rate-limited
// request is traced like a forwarded one, a health probe is not.

#include "core/random.h"
#include "filters/filter.h"
#include "tracing/span_buffer.h"
#include "tracing/trace_context.h"

namespace icaht::filters {

class TracingFilter final : public Filter {
 public:
  // `spans` (the shard's; it outlives the chain) may be null: headers are
  // propagated, spans not collected.
  TracingFilter(tracing::TracingSpec spec, tracing::SpanBuffer* spans);
  std::string_view name() const override { return "tracing"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnLog(const RequestContext& ctx) override;

 private:
  tracing::TracingSpec spec_;
  tracing::SpanBuffer* spans_;
  core::FastRandom rng_;
};

}  // namespace icaht::filters
