#include "proxy/egress_config.h"

#include "proxy/config_from_record.h"

namespace icaht::proxy {

std::unique_ptr<ServiceConfig> EgressConfigFor(const ServiceConfig& ingress,
                                               const registry::EgressSpec& egress) {
  auto config = std::make_unique<ServiceConfig>();
  config->name = ingress.name;
  config->port = ingress.port;
  config->bind = ingress.bind;
  config->upstreams = ingress.upstreams;
  config->lb_policy = ingress.lb_policy;
  config->hash_on = ingress.hash_on;
  config->hash_on_set = ingress.hash_on_set;
  config->route_specs = ingress.route_specs;  // local callers take the same routes
  config->egress_call = true;
  config->subset_series = ingress.subset_series;
  config->retries = egress.retries ? egress.retries : ingress.retries;
  config->circuit_breaker = ingress.circuit_breaker;
  config->outlier = ingress.outlier;
  config->connect_timeout_ms =
      egress.connect_ms != 0 ? egress.connect_ms : ingress.connect_timeout_ms;
  config->request_timeout_ms =
      egress.request_ms != 0 ? egress.request_ms : ingress.request_timeout_ms;
  config->idle_timeout_ms = ingress.idle_timeout_ms;
  config->total_timeout_ms = egress.total_ms != 0 ? egress.total_ms : ingress.total_timeout_ms;
  config->trust_timeout_header = true;  // a local caller may shorten its own deadline
  config->drain_timeout_ms = ingress.drain_timeout_ms;
  config->access_log = ingress.access_log;
  config->limits = ingress.limits;
  filters::FilterSpecs& specs = config->mutable_filters();
  specs.health = filters::HealthSpec{.path = "", .ready_path = ""};
  specs.request_id = ingress.filters().request_id;
  specs.request_id.enabled = true;
  specs.request_id.trust_incoming = true;
  specs.tracing = ingress.filters().tracing;
  specs.shard_count = ingress.filters().shard_count;
  config->series = ingress.series;
  return config;
}

std::unique_ptr<ServiceConfig> RemoteServiceConfig(const std::string& name,
                                                   std::vector<UpstreamConfig> upstreams,
                                                   const registry::ServiceRecord* record,
                                                   uint32_t drain_timeout_ms) {
  std::unique_ptr<ServiceConfig> ingress;
  if (record != nullptr) {
    ingress = ServiceConfigFromRecord(*record, net::Address(), drain_timeout_ms);
  } else {
    ingress = std::make_unique<ServiceConfig>();
    ingress->drain_timeout_ms = drain_timeout_ms;
  }
  ingress->name = name;
  ingress->port = 0;  // no listener: reached through the egress listener only
  ingress->upstreams = std::move(upstreams);
  ingress->outlier.reset();
  ingress->mirror_spec.reset();
  // Its routes are the other host's sidecar's to apply (over its instances).
  ingress->route_specs.reset();
  ingress->subset_series.clear();
  auto config =
      EgressConfigFor(*ingress, record != nullptr ? record->egress : registry::EgressSpec{});
  return config;
}

std::unique_ptr<ServiceConfig> EgressListenerConfig(const net::Address& listen) {
  auto config = std::make_unique<ServiceConfig>();
  config->name = "egress";
  config->port = listen.port();
  config->bind = listen;
  config->egress_listener = true;
  config->access_log = false;
  config->mutable_filters().health = filters::HealthSpec{.path = "", .ready_path = ""};
  return config;
}

}  // namespace icaht::proxy
