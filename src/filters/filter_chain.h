#pragma once
// A service's filters in their fixed order, and the phases run over them.
// Stateless per request: the exchange keeps its position in the chain.

#include <memory>
#include <optional>
#include <vector>

#include "core/boxed.h"
#include "core/timer_queue.h"
#include "filters/auth.h"
#include "filters/auth_spec.h"
#include "filters/cache_spec.h"
#include "filters/cors.h"
#include "filters/fault.h"
#include "filters/filter.h"
#include "filters/forward_auth.h"
#include "filters/health.h"
#include "filters/lua_filter.h"
#include "filters/plugin_filter.h"
#include "filters/rate_limit/rate_limit_filter.h"
#include "filters/request_id.h"
#include "filters/tracing.h"

namespace icaht::filters {

// Everything the factories build a chain from (parts of the service record).
struct FilterSpecs {
  HealthSpec health;
  RequestIdSpec request_id;
  CorsSpec cors;
  AuthSpec auth;
  std::vector<EndpointSpec> endpoints;
  AuthKeys auth_keys;  // loaded by the control thread (shared, immutable)
  std::vector<RateLimitSpec> rate_limits;
  std::optional<tracing::TracingSpec> tracing;
  core::Boxed<FaultSpec> fault;
  core::Boxed<CacheSpec> cache;
  // stale-while-revalidate's background requests (off for services with
  // routes: they would go to any instance with the target unrewritten).
  bool cache_refresh = true;
  // Native plugins, each with its library loaded (by the control thread).
  std::vector<PluginSpec> plugins;
  core::Boxed<LuaSpec> lua;
  size_t shard_count = 1;  // rate limits: each shard starts with a 1/N share
};

class FilterChain {
 public:
  FilterChain() = default;
  explicit FilterChain(std::vector<std::unique_ptr<Filter>> filters)
      : filters_(std::move(filters)) {}

  // The documented order: local endpoints -> tracing -> request ID -> CORS ->
  // auth -> forward auth -> rate limit -> fault -> cache -> plugins -> lua (then the
  // upstream). Filters whose spec is off are left out, so a service that
  // configures nothing runs nothing. `side_calls`, `spans` and `timers` (the
  // shard's; they outlive the chain) may be null when the specs need none (no
  // forward auth, no fault delay) or spans are not collected. `shard_index`:
  // the shard the chain is built on (plugin instances are told). `specs` must
  // outlive the chain (filters keep references into them instead of copies:
  // a ServiceConfig holds both).
  static std::unique_ptr<FilterChain> Build(const FilterSpecs& specs, std::string_view service,
                                            const ServiceView* view, SideCalls* side_calls,
                                            tracing::SpanBuffer* spans = nullptr,
                                            core::TimerQueue* timers = nullptr,
                                            std::shared_ptr<cache::Store> cache_store = nullptr,
                                            uint32_t shard_index = 0);

  bool empty() const { return filters_.empty(); }
  size_t size() const { return filters_.size(); }
  const Filter& filter(size_t i) const { return *filters_[i]; }
  // The rate-limit filter, if the service has limits (for the share messages).
  RateLimitFilter* rate_limit() const { return rate_limit_; }

  // Runs the request phase from filter `*next` on. Returns kContinue when
  // every filter continued, else the verdict of the filter that stopped, with
  // `*next` pointing just past it (so a resumed exchange calls again with it).
  Verdict RunRequest(RequestContext& ctx, FilterCallbacks& callbacks, size_t* next) const;
  // In reverse order, over every filter (also those the request phase did not
  // reach: a local answer gets the request ID too).
  void RunResponse(RequestContext& ctx) const;
  // Filter::OnUpstreamResponse over every filter until one answers kRespond.
  Verdict RunUpstreamResponse(RequestContext& ctx, int status) const;
  void RunResponseComplete(RequestContext& ctx) const;
  void RunLog(const RequestContext& ctx) const;
  // The filter just before `next` paused the exchange, which is ending.
  void Cancel(RequestContext& ctx, size_t next) const;

 private:
  std::vector<std::unique_ptr<Filter>> filters_;
  RateLimitFilter* rate_limit_ = nullptr;
};

}  // namespace icaht::filters
