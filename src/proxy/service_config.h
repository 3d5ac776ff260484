#pragma once
// What a shard needs to serve one service: built by the control plane from a
// service record, one copy per shard (shards never share it).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filters/filter_chain.h"
#include "filters/retry_policy.h"
#include "filters/upstream_policy.h"
#include "http/message.h"
#include "metrics/service_series.h"
#include "net/address.h"
#include "net/tls_context.h"
#include "proxy/mirror.h"
#include "proxy/route_table.h"

namespace icaht::proxy {

struct UpstreamConfig {
  net::Address address;
  uint32_t weight = 1;
  // Active health checks' verdict when the config was built (later verdicts
  // arrive as SetUpstreamHealthCommand).
  bool healthy = true;
  // Outlier detection's verdict when the config was built (later ones arrive
  // as SetEjectedCommand).
  bool ejected = false;
  std::string text;  // the address as the record wrote it (logs)
  // TLS to this instance (null: plain HTTP), and the name it is verified
  // against and sent as SNI (the record's server_name, else the host).
  std::shared_ptr<const net::TlsClientContext> tls;
  std::string tls_server_name;
};

// The record's load_balancer (proxy/balancer.h).
enum class LbPolicy : uint8_t { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev };

// What the hashing policies hash (the record's hash_on).
struct HashOn {
  enum class Kind : uint8_t { kClientIp, kHeader, kCookie };
  Kind kind = Kind::kClientIp;
  std::string name;  // the header (lower case) or cookie
};

// Traffic splitting (issue 19): the record's subsets and routes and each
// instance's labels, by index (immutable; shared by the config's copies).
struct RouteSpecs {
  std::vector<filters::SubsetSpec> subsets;
  std::vector<filters::RouteSpec> routes;
  std::vector<filters::Labels> labels;
};

struct ServiceConfig {
  std::string name;
  uint16_t port = 0;
  net::Address bind;  // bind address with `port`
  std::vector<UpstreamConfig> upstreams;
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  HashOn hash_on;
  bool hash_on_set = false;  // the record names hash_on: weighted splits are sticky on it
  // The record's subsets and routes (null: none), compiled into route_table
  // on the shard that serves the config (ShardService::SetConfig), as the
  // chain; subset_series[i] counts subset i's requests (null: not counted).
  std::shared_ptr<const RouteSpecs> route_specs;
  std::unique_ptr<RouteTable> route_table;
  std::vector<metrics::SubsetSeries*> subset_series;
  // The record's retries; none: only the built-in retry of a failed connect
  // or a pooled connection closed unanswered.
  std::optional<filters::RetryPolicy> retries;
  // The record's mirror; none: off.
  std::optional<MirrorConfig> mirror_spec;
  // The record's circuit_breaker, for the whole service (each shard takes
  // its share: proxy/circuit_breaker.h); none: no limits.
  std::optional<filters::CircuitBreakerSpec> circuit_breaker;
  // The record's outlier_detection; the shards count attempts' outcomes for
  // it and apply the ejections the control thread decides.
  std::optional<filters::OutlierSpec> outlier;
  uint32_t connect_timeout_ms = 1000;
  uint32_t request_timeout_ms = 15000;  // header read, and upstream response
  uint32_t idle_timeout_ms = 60000;     // client keep-alive idle
  uint32_t total_timeout_ms = 0;        // the whole exchange (0: none)
  bool trust_timeout_header = false;    // x-icaht-timeout-ms replaces total_timeout_ms
  uint64_t max_body_bytes = 0;          // 0 = unlimited
  uint32_t drain_timeout_ms = 5000;     // grace for in-flight requests on removal
  bool access_log = true;               // the record's access_log
  // The record's tls: the port's TLS context (null: plain HTTP), shared by
  // every shard's copy and by the connections that started with it.
  std::shared_ptr<const net::TlsServerContext> tls;
  std::vector<std::string> allow_peers;  // URI SANs allowed to call (empty: any)
  std::string peer_header;               // lower case; "" = none
  http::Limits limits;
  // The filters' specs, built from the record once and shared by the
  // config's copies on every shard (issue 17: 10,000 services with every
  // feature on). Read them with filters(); change them only while building
  // the config, through mutable_filters(), which takes a copy of its own
  // first when another config holds the same specs.
  std::shared_ptr<filters::FilterSpecs> filter_specs;
  const filters::FilterSpecs& filters() const;
  filters::FilterSpecs& mutable_filters();
  // The service's series, shared by its configs on every shard (set by the
  // control thread; a shard makes its own when it is missing).
  std::shared_ptr<metrics::ServiceSeries> series;
  // Built from `filters` on the shard that serves this config, at its first
  // exchange there (ShardService::ChainFor: most of 10,000 services see no
  // request on most shards); shared by the config's exchanges, never rebuilt
  // per request.
  mutable std::unique_ptr<filters::FilterChain> chain;
  // Built from `mirror_spec` there too; its copies in flight end with it.
  std::unique_ptr<Mirror> mirror;
  // How local applications' calls through the egress listener are served
  // (proxy/egress_config.h): the same instances, in the same order (so they
  // share the service's balancer, health and breakers on the shard), with the
  // record's egress policy and a chain of its own. Null: they get this
  // config itself (the record's egress.via_ingress), or it is built by
  // make_egress at the first such call (ShardService::EgressConfig: most
  // services are never called through the egress, and a second config per
  // service and shard is most of an idle service's memory).
  mutable std::unique_ptr<ServiceConfig> egress;
  std::function<std::unique_ptr<ServiceConfig>(const ServiceConfig& ingress)> make_egress;
  // The egress listener's own config (no upstreams: each request is routed
  // to a service by name).
  bool egress_listener = false;
  // A service's config for calls through the egress listener (EgressConfigFor):
  // its routes choose subsets, rewrites and direct responses, but the egress
  // policy's timeouts and retries stay.
  bool egress_call = false;
};

// The service's rules for the TLS peer on the request: the peer_header
// (removed from what the client sent, set from its certificate) and
// allow_peers. False when the peer may not call.
bool ApplyPeerPolicy(const ServiceConfig& config, filters::RequestContext& ctx);

// Smooth weighted round-robin (as nginx): deterministic, spreads heavy
// upstreams evenly instead of in bursts. Per shard, per service.
class WeightedRoundRobin {
 public:
  void Reset(const std::vector<UpstreamConfig>& upstreams);
  // Index of the next upstream; `skip` (or -1) is avoided when others exist:
  // then (a retry) the rotation does not move.
  // With `out` (by index), instances marked true are left out; -1 when every
  // instance is.
  int Next(const std::vector<UpstreamConfig>& upstreams, int skip = -1,
           const std::vector<bool>* out = nullptr);

 private:
  std::vector<int64_t> current_;
};

}  // namespace icaht::proxy
