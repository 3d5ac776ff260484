#include "proxy/config_from_record.h"

#include "proxy/balancer.h"

namespace icaht::proxy {

std::shared_ptr<filters::FilterSpecs> FilterSpecsFromRecord(const registry::ServiceRecord& record) {
  auto specs = std::make_shared<filters::FilterSpecs>();
  specs->request_id = record.request_id;
  specs->health = record.health;
  specs->cors = record.cors;
  specs->auth = record.auth;
  specs->endpoints = record.endpoints;
  specs->rate_limits = record.rate_limits;
  specs->tracing = record.tracing;
  specs->fault = record.fault;
  specs->cache = record.cache;
  // Background refreshes would go to any instance with the target unrewritten.
  specs->cache_refresh = record.subsets.empty() && record.routes.empty();
  specs->plugins = record.plugins;
  specs->lua = record.lua;  // libraries: the control thread's to resolve
  return specs;
}

std::unique_ptr<ServiceConfig> ServiceConfigFromRecord(
    const registry::ServiceRecord& record, const net::Address& bind, uint32_t drain_timeout_ms,
    std::shared_ptr<filters::FilterSpecs> specs) {
  auto config = std::make_unique<ServiceConfig>();
  config->name = record.name;
  config->port = record.port;
  config->bind = bind;
  config->bind.set_port(record.port);
  for (const registry::UpstreamSpec& upstream : record.upstreams) {
    config->upstreams.push_back({.address = upstream.resolved,
                                 .weight = upstream.weight,
                                 .healthy = true,
                                 .ejected = false,
                                 .text = upstream.address});
    if (upstream.tls) {
      // The contexts are built from files by the control thread (admin/tls_store.h).
      config->upstreams.back().tls_server_name = registry::TlsServerName(upstream);
    }
  }
  config->lb_policy = ParseLbPolicy(record.load_balancer).value_or(LbPolicy::kRoundRobin);
  // "client_ip" (or none), "header:<name>", "cookie:<name>" (validated by the record).
  for (auto [prefix, kind] : {std::pair{std::string_view("header:"), HashOn::Kind::kHeader},
                              std::pair{std::string_view("cookie:"), HashOn::Kind::kCookie}}) {
    if (record.hash_on.starts_with(prefix)) {
      config->hash_on = {kind, record.hash_on.substr(prefix.size())};
    }
  }
  config->hash_on_set = !record.hash_on.empty();
  if (!record.subsets.empty() || !record.routes.empty()) {
    auto specs = std::make_shared<RouteSpecs>();
    specs->subsets = record.subsets;
    specs->routes = record.routes;
    for (const registry::UpstreamSpec& upstream : record.upstreams) {
      specs->labels.push_back(upstream.labels);
    }
    config->route_specs = std::move(specs);
  }
  config->retries = record.retries;
  if (record.mirror) {
    const registry::MirrorSpec& mirror = *record.mirror;
    config->mirror_spec = MirrorConfig{.address = mirror.resolved,
                                       .text = mirror.upstream,
                                       .percent = mirror.percent,
                                       .max_body_bytes = mirror.max_body_bytes,
                                       .timeout_ms = mirror.timeout_ms};
  }
  config->circuit_breaker = record.circuit_breaker;
  config->outlier = record.outlier_detection;
  config->connect_timeout_ms = record.timeouts.connect_ms;
  config->request_timeout_ms = record.timeouts.request_ms;
  config->idle_timeout_ms = record.timeouts.idle_ms;
  config->total_timeout_ms = record.timeouts.total_ms;
  config->trust_timeout_header = record.timeouts.trust_header;
  config->max_body_bytes = record.max_body_bytes;
  config->limits.max_request_line = record.limits.max_request_line;
  config->limits.max_header_bytes = record.limits.max_header_bytes;
  config->limits.max_headers = record.limits.max_headers;
  config->drain_timeout_ms = drain_timeout_ms;
  config->filter_specs = specs != nullptr ? std::move(specs) : FilterSpecsFromRecord(record);
  config->access_log = record.access_log;
  if (record.tls) {
    config->allow_peers = record.tls->allow_peers;
    config->peer_header = record.tls->peer_header;
  }
  return config;
}

}  // namespace icaht::proxy
