#include "filters/filter_chain.h"

#include "core/check.h"

namespace icaht::filters {

std::unique_ptr<FilterChain> FilterChain::Build(const FilterSpecs& specs, std::string_view service,
                                                const ServiceView* view) {
  std::vector<std::unique_ptr<Filter>> filters;
  if (HealthFilter::Enabled(specs.health)) {
    filters.push_back(std::make_unique<HealthFilter>(specs.health, service, view));
  }
  if (specs.request_id.enabled) {
    filters.push_back(std::make_unique<RequestIdFilter>(specs.request_id));
  }
  if (specs.cors.enabled) filters.push_back(std::make_unique<CorsFilter>(specs.cors));
  if (AuthFilter::Enabled(specs.auth, specs.endpoints)) {
    filters.push_back(std::make_unique<AuthFilter>(specs.auth, specs.endpoints, specs.auth_keys,
                                                   std::vector<std::string>{}));
  }
  return std::make_unique<FilterChain>(std::move(filters));
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

void FilterChain::RunLog(const RequestContext& ctx) const {
  for (const auto& filter : filters_) filter->OnLog(ctx);
}

void FilterChain::Cancel(RequestContext& ctx, size_t next) const {
  ICAHT_CHECK(next > 0 && next <= filters_.size());
  filters_[next - 1]->OnCancel(ctx);
}

}  // namespace icaht::filters
