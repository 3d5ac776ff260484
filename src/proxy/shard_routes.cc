// What the shard builds of a service's config: its filter chain at its first
// exchange, the route table (traffic splitting, issue 19) and what each subset
// leaves out of the balancer's choice, and the egress config at its first use.

#include "core/log.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {

void ShardService::BuildRoutes(ServiceConfig& c) {
  if (c.route_specs == nullptr || c.route_table != nullptr) return;
  if (c.route_specs->labels.size() != c.upstreams.size()) {
    ICAHT_LOG_LIMITED(kError, "service '", c.name, "': routes not applied: labels for ",
                      c.route_specs->labels.size(), " instances, ", c.upstreams.size(),
                      " configured");
    return;
  }
  absl::StatusOr<RouteTable> table =
      RouteTable::Build(c.route_specs->subsets, c.route_specs->routes, c.route_specs->labels);
  if (!table.ok()) {
    // The registry validated the record with the same rules: not expected.
    // Without its table the service serves every request from all instances.
    ICAHT_LOG_LIMITED(kError, "service '", c.name,
                      "': routes not applied: ", std::string(table.status().message()));
    return;
  }
  c.route_table = std::make_unique<RouteTable>(*std::move(table));
}

void ShardService::RecomputeSubsetOut() {
  const RouteTable* table = config->route_table.get();
  const size_t subsets = table != nullptr ? table->subset_count() : 0;
  subset_out.resize(subsets);
  for (size_t s = 0; s < subsets; ++s) {
    const std::vector<bool>& excluded = table->SubsetExcluded(static_cast<int>(s));
    std::vector<bool>& out = subset_out[s];
    out.assign(excluded.size(), true);
    size_t members = 0;
    size_t usable = 0;
    for (size_t i = 0; i < excluded.size(); ++i) {
      if (excluded[i]) continue;
      ++members;
      out[i] = upstream_unhealthy[i] || upstream_ejected[i];
      usable += out[i] ? 0 : 1;
    }
    // The service's panic threshold, within the subset: a version whose
    // instances are mostly out uses them all again rather than none.
    if (config->outlier &&
        usable * 100 < size_t{config->outlier->panic_threshold_percent} * members) {
      out = excluded;
    }
  }
}

const filters::FilterChain& ShardService::ChainFor(const ServiceConfig& c) {
  // A chain set by the caller is kept: tests bring their own filters.
  if (c.chain == nullptr) {
    c.chain = filters::FilterChain::Build(c.filters(), c.name, this, proxy,
                                          proxy->spans().collecting() ? &proxy->spans() : nullptr,
                                          &proxy->ring().timers(), c.egress_call ? nullptr : cache,
                                          static_cast<uint32_t>(proxy->index()));
    if (c.chain->rate_limit() != nullptr && !removing) proxy->NoteRateLimited(this);
  }
  return *c.chain;
}

void ShardService::BuildEgress(ServiceConfig& egress) {
  ChainFor(egress);
  BuildRoutes(egress);
}

std::shared_ptr<const ServiceConfig> ShardService::EgressConfig() {
  if (config->egress == nullptr && config->make_egress) {
    config->egress = config->make_egress(*config);
    BuildEgress(*config->egress);
  }
  if (config->egress == nullptr) return config;
  return std::shared_ptr<const ServiceConfig>(config, config->egress.get());
}

}  // namespace icaht::proxy
