#include "filters/filter_chain.h"

#include "core/check.h"
#include "filters/cache_filter.h"

namespace icaht::filters {

std::unique_ptr<FilterChain> FilterChain::Build(const FilterSpecs& specs, std::string_view service,
                                                const ServiceView* view, SideCalls* side_calls,
                                                tracing::SpanBuffer* spans,
                                                core::TimerQueue* timers,
                                                std::shared_ptr<cache::Store> cache_store,
                                                uint32_t shard_index) {
  std::vector<std::unique_ptr<Filter>> filters;
  if (HealthFilter::Enabled(specs.health)) {
    filters.push_back(std::make_unique<HealthFilter>(specs.health, service, view));
  }
  if (specs.tracing) filters.push_back(std::make_unique<TracingFilter>(*specs.tracing, spans));
  if (specs.request_id.enabled) {
    filters.push_back(std::make_unique<RequestIdFilter>(specs.request_id));
  }
  if (specs.cors.enabled) filters.push_back(std::make_unique<CorsFilter>(specs.cors));
  if (AuthFilter::Enabled(specs.auth, specs.endpoints)) {
    // Claims the rate limits are keyed on are kept for them.
    std::vector<std::string> claims;
    for (const RateLimitSpec& limit : specs.rate_limits) {
      if (limit.key == RateLimitKey::kClaim) claims.push_back(limit.key_name);
    }
    filters.push_back(std::make_unique<AuthFilter>(specs.auth, specs.endpoints, specs.auth_keys,
                                                   std::move(claims)));
  }
  if (ForwardAuthFilter::Enabled(specs.auth)) {
    filters.push_back(std::make_unique<ForwardAuthFilter>(specs.auth.forward, side_calls));
  }
  RateLimitFilter* rate_limit = nullptr;
  if (!specs.rate_limits.empty()) {
    auto filter = std::make_unique<RateLimitFilter>(specs.rate_limits);
    filter->SetShardCount(specs.shard_count);
    rate_limit = filter.get();
    filters.push_back(std::move(filter));
  }
  if (specs.fault) filters.push_back(std::make_unique<FaultFilter>(*specs.fault, timers));
  if (specs.cache && cache_store != nullptr) {
    filters.push_back(std::make_unique<CacheFilter>(*specs.cache, std::move(cache_store), timers,
                                                    view,
                                                    specs.cache_refresh ? side_calls : nullptr));
  }
  for (const PluginSpec& plugin : specs.plugins) {
    ICAHT_CHECK(timers != nullptr);  // a null library: the filter answers 500
    filters.push_back(std::make_unique<PluginFilter>(plugin, service, shard_index, timers));
  }
  if (specs.lua) {
    filters.push_back(std::make_unique<LuaFilter>(*specs.lua, service, shard_index));
  }
  auto chain = std::make_unique<FilterChain>(std::move(filters));
  chain->rate_limit_ = rate_limit;
  return chain;
}

Verdict FilterChain::RunRequest(RequestContext& ctx, FilterCallbacks& callbacks,
                                size_t* next) const {
  while (*next < filters_.size()) {
    Verdict verdict = filters_[(*next)++]->OnRequestHead(ctx, callbacks);
    if (verdict != Verdict::kContinue) return verdict;
  }
  return Verdict::kContinue;
}

void FilterChain::RunResponse(RequestContext& ctx) const {
  for (size_t i = filters_.size(); i-- > 0;) filters_[i]->OnResponseHead(ctx);
}

Verdict FilterChain::RunUpstreamResponse(RequestContext& ctx, int status) const {
  for (const auto& filter : filters_) {
    if (filter->OnUpstreamResponse(ctx, status) == Verdict::kRespond) return Verdict::kRespond;
  }
  return Verdict::kContinue;
}

void FilterChain::RunResponseComplete(RequestContext& ctx) const {
  for (const auto& filter : filters_) filter->OnResponseComplete(ctx);
}

void FilterChain::RunLog(const RequestContext& ctx) const {
  for (const auto& filter : filters_) filter->OnLog(ctx);
}

void FilterChain::Cancel(RequestContext& ctx, size_t next) const {
  ICAHT_CHECK(next > 0 && next <= filters_.size());
  filters_[next - 1]->OnCancel(ctx);
}

}  // namespace icaht::filters
