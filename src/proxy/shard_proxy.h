#pragma once
// Everything one shard serves: a listener per service port (SO_REUSEPORT,
// multishot accept), the connections accepted on them, and the upstream pool.
// Owned by and used only from the shard's thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "core/buf_ring.h"
#include "core/deferred.h"
#include "core/ring.h"
#include "filters/filter.h"
#include "filters/side_call.h"
#include "metrics/egress_series.h"
#include "metrics/service_series.h"
#include "net/dns_resolver.h"
#include "net/host_pattern.h"
#include "net/socket.h"
#include "proxy/balancer.h"
#include "proxy/circuit_breaker.h"
#include "proxy/egress_router.h"
#include "proxy/service_config.h"
#include "proxy/splice_pump.h"
#include "proxy/upstream_pool.h"
#include "tracing/span_buffer.h"

namespace icaht::proxy {

class AccessLog;
class HttpConnection;
class ShardProxy;

// One service as seen by one shard. It is also what the service's filters
// see of it (ServiceView): drain state and the instances' passive health.
struct ShardService final : public core::Completion, public filters::ServiceView {
  ShardService(ShardProxy* proxy, std::unique_ptr<ServiceConfig> config);
  void Complete(int res, uint32_t flags) override;  // multishot accept
  // Swaps in a new config (requests in flight keep theirs).
  void SetConfig(std::unique_ptr<ServiceConfig> next);
  // `c`'s filter chain (`c` is this service's config, current or replaced,
  // or its egress part), built at its first use on this shard.
  const filters::FilterChain& ChainFor(const ServiceConfig& c);
  // `c` is the current config or its egress part: the instances' state here
  // (balancer, passive health, counts) is its own.
  bool Current(const ServiceConfig* c) const {
    return c == config.get() || (config->egress != nullptr && c == config->egress.get());
  }
  // The config an egress call to this service runs with: its egress part,
  // or (egress.via_ingress) the config itself.
  std::shared_ptr<const ServiceConfig> EgressConfig();

  // Passive health: a connect that failed marks the instance down on this
  // shard until a connect succeeds. Ignored for a config that was replaced.
  void ReportUpstream(const ServiceConfig* from, int index, bool ok);
  // Circuit breaker connection slots (proxy/circuit_breaker.h): a slot given
  // back passes to the first waiter, told from a posted task; a waiter that
  // ends gives up its place or, if it was granted one meanwhile, the slot.
  void ReleaseConnectionSlot();
  void CancelSlotWait(CircuitBreaker::Waiter* waiter);
  // The breaker's counts into the service's gauges.
  void PublishBreakerGauges();
  bool draining() const override { return removing; }
  size_t upstream_count() const override { return config->upstreams.size(); }
  std::string upstream_address(size_t i) const override;
  // What the balancer uses (so below the panic threshold all are usable).
  bool upstream_usable(size_t i) const override { return !upstream_down[i] && !upstream_out[i]; }
  bool upstream_ejected_now(size_t i) const override { return upstream_ejected[i]; }
  const net::Address* plain_upstream(size_t i) const override {
    return config->upstreams[i].tls == nullptr ? &config->upstreams[i].address : nullptr;
  }
  void InvalidateCacheElsewhere(const std::vector<std::string>& keys) const override;
  void CacheChanged() const override { PublishCacheGauges(); }
  // Active health checks' verdict (from the control thread): instances
  // whose address is in `unhealthy` leave the rotation, the others return.
  void SetUnhealthy(const std::vector<net::Address>& unhealthy);
  // Outlier detection's verdict (from the control thread), the same way.
  void SetEjected(const std::vector<net::Address>& ejected);

  // How an attempt at instance `index` ended, for outlier detection (only
  // counted for the current config, and only when it has outlier_detection).
  enum class AttemptResult : uint8_t {
    kSuccess,       // a response below 500
    kServerError,   // 500, 501, 505..599
    kGatewayError,  // 502-504, connect failure, reset, timeout, bad response
  };
  void RecordAttempt(const ServiceConfig* from, int index, AttemptResult result);
  struct InstanceOutcomes {
    uint32_t attempts = 0;
    uint32_t successes = 0;
    uint32_t in_a_row_5xx = 0;
    uint32_t in_a_row_gateway = 0;
    uint32_t trips_5xx = 0;
    uint32_t trips_gateway = 0;
  };

 private:
  void GrantSlots(CircuitBreaker::Waiter* first);
  void RecomputeOut();
  void RecomputeSubsetOut();
  // Compiles `c`'s routes into its route table (once per config on this shard).
  void BuildRoutes(ServiceConfig& c);
  // The egress config's chain and routes.
  void BuildEgress(ServiceConfig& egress);
  void NotifyGranted();

 public:
  ShardProxy* proxy;
  std::shared_ptr<const ServiceConfig> config;  // swapped on update; requests keep theirs
  // The service's metrics (the same for each of its configs); this shard
  // writes block proxy->index().
  std::shared_ptr<metrics::ServiceSeries> series;
  Balancer balancer;
  CircuitBreaker breaker;
  std::vector<CircuitBreaker::Waiter*> granted;  // slots given, owners not told yet
  core::DeferredTask notify_granted;
  bool notifying = false;                 // in NotifyGranted: not freed until it returns
  std::vector<bool> upstream_down;        // by index in config->upstreams
  std::vector<uint32_t> upstream_active;  // requests in flight on this shard (least_request)
  uint32_t retries_in_flight = 0;         // exchanges retrying on this shard (retry budget)
  uint32_t requests_in_flight = 0;        // exchanges of this service on this shard
  std::vector<bool> upstream_unhealthy;   // active checks: out of the rotation
  std::vector<bool> upstream_ejected;     // outlier detection: out of the rotation
  // What the balancer leaves out: unhealthy or ejected, unless so few are
  // left that the panic threshold puts all back (with outlier_detection).
  std::vector<bool> upstream_out;
  // Traffic splitting (shard_routes.cc): by subset of the config's route
  // table, upstream_out plus the instances the subset does not select; the
  // panic threshold applies within each subset.
  std::vector<std::vector<bool>> subset_out;
  // What the balancer leaves out for a request sent to `subset` (-1: none).
  const std::vector<bool>* OutFor(int subset) const {
    return subset < 0 ? &upstream_out : &subset_out[static_cast<size_t>(subset)];
  }
  std::vector<InstanceOutcomes> outcomes;  // by index, with outlier_detection
  net::Fd listener;
  bool accept_armed = false;
  // Accepting is paused (fd limit reached); accept_backoff re-arms it.
  bool accept_paused = false;
  bool removing = false;
  std::function<void()> on_listener_closed;  // runs once the port stops accepting
  absl::flat_hash_set<HttpConnection*> connections;
  std::unique_ptr<core::Timer> drain_timer;
  core::Timer accept_backoff;
  // The response cache's entries on this shard (with `cache` in the record):
  // kept across record updates with the same limits; a config's chain holds
  // the store it was built with.
  std::shared_ptr<cache::Store> cache;
  core::Boxed<filters::CacheSpec> cache_spec;  // what `cache` was made for
  // Its size into the service's gauges (after each exchange that used it).
  void PublishCacheGauges() const;
  // Keeps, replaces (other limits) or drops the store for the config.
  void SetCache(const ServiceConfig& next);
};

// Where one request on the egress listener goes (ShardProxy::RouteEgress).
struct EgressRoute {
  ShardService* service = nullptr;              // null: refused with `status` and `body`
  std::shared_ptr<const ServiceConfig> config;  // what the exchange runs with
  EgressTarget target;
  int status = 0;
  std::string body;
  metrics::EgressPair* metrics = nullptr;  // {caller, destination}
  // Not empty: the destination's name is being resolved; the connection
  // waits (ShardProxy::WaitForRoute) under this key and routes again.
  std::string pending;
};

// The egress listener's settings (the daemon's --egress-* flags).
struct EgressSettings {
  std::string suffix;  // ".icaht"; "" = none
  std::vector<net::HostPattern> allow;
  // External hosts: their name servers ("IP:PORT"; empty: the system's),
  // the TLS client for https ones (the system's trust store; null: none
  // allowed), and the series their exchanges write (not exported).
  std::vector<std::string> dns_servers;
  std::shared_ptr<const net::TlsClientContext> external_tls;
  std::shared_ptr<metrics::ServiceSeries> series;
  uint32_t drain_timeout_ms = 5000;
};

class ShardProxy final : public filters::SideCalls {
 public:
  // `tls_upstream_bufs`: the ring for upstream connections whose answers go
  // to a TLS client (upstream_bufs); none: `bufs` serves them too.
  ShardProxy(core::Ring& ring, core::BufRing& bufs, int index,
             core::BufRing* tls_upstream_bufs = nullptr);
  ~ShardProxy();

  // filters::SideCalls: an HttpClientCall on this shard's ring.
  filters::SideCall* StartSideCall(filters::SideCallRequest request, Done done) override;

  // Descriptors the shards leave free for the control thread (admin socket,
  // ops listener, state file): an accepted connection whose fd number reaches
  // RLIMIT_NOFILE minus this reserve is closed at once and the listener pauses,
  // as at EMFILE. Set by the control thread before the shards start.
  static void SetFdReserve(int fds);

  // Opens the listener for a new service or swaps the config of an existing
  // one (same port). Fails if the port cannot be bound on this shard.
  absl::Status Upsert(std::unique_ptr<ServiceConfig> config);
  // Rate limits across shards (filters/rate_limit/shares.h): each service's
  // demand since the last call, by port, and the coordinator's answer. The
  // config a report came from is named, so an answer for a replaced config
  // is dropped.
  struct DemandReports {
    std::vector<std::tuple<uint16_t, const void*, filters::DemandReport>> services;
  };
  DemandReports TakeDemandReports();
  // `service` built a chain with rate limits: TakeDemandReports looks at it
  // (only those: 10,000 services are not walked every 100 ms).
  void NoteRateLimited(ShardService* service) { rate_limited_.insert(service); }
  void ApplyShares(uint16_t port, const void* config, const filters::ShareUpdate& update);
  // Active health checks' verdict for the service on `port` (if it is here).
  void SetUnhealthy(uint16_t port, const std::vector<net::Address>& unhealthy);
  void SetEjected(uint16_t port, const std::vector<net::Address>& ejected);
  // Outlier detection: what each service with outlier_detection saw of its
  // instances since the last call (by port), counts reset.
  struct OutlierReport {
    uint16_t port;
    std::vector<std::pair<net::Address, ShardService::InstanceOutcomes>> instances;
  };
  std::vector<OutlierReport> TakeOutlierReports();
  // The response cache of the service on `port`: entries whose key starts
  // with `prefix` ("" = all) go; how many.
  size_t PurgeCache(uint16_t port, std::string_view prefix);
  // ...and these keys go (an unsafe method's invalidation on another shard).
  void InvalidateCache(uint16_t port, const std::vector<std::string>& keys);
  // How this shard reaches the others with such an invalidation (set once
  // the shards all run; unset: one shard).
  using CacheBroadcast =
      std::function<void(uint16_t port, std::shared_ptr<const std::vector<std::string>> keys)>;
  void set_cache_broadcast(CacheBroadcast broadcast) { cache_broadcast_ = std::move(broadcast); }
  void InvalidateCacheElsewhere(uint16_t port, const std::vector<std::string>& keys) {
    if (cache_broadcast_ && port != 0) {
      cache_broadcast_(port, std::make_shared<const std::vector<std::string>>(keys));
    }
  }
  // Opens the egress listener on this shard: `fd` (a descriptor of the
  // listening socket the control thread bound, now this shard's) with the
  // listener's config (proxy/egress_config.h).
  absl::Status StartEgress(int fd, std::unique_ptr<ServiceConfig> config, EgressSettings settings,
                           metrics::EgressSeries* series);
  // Services of other hosts, reached through the egress listener only (no
  // listener here): each of `upserts` is added or replaces its config (in
  // flight requests keep theirs); each of `removed` goes once its last
  // request ends.
  void SetRemote(std::vector<std::unique_ptr<ServiceConfig>> upserts,
                 const std::vector<std::string>& removed);
  size_t remote_count() const { return remote_.size(); }
  // Where a request on the egress listener goes: a service registered here,
  // else one of another host, or a refusal (an unknown service, a host not
  // allowed, CONNECT).
  EgressRoute RouteEgress(const http::RequestHead& head);
  // A connection whose route came back `pending` waits here for the name to
  // resolve (then HttpConnection::RouteReady); a connection that goes away
  // first cancels its wait.
  void WaitForRoute(const std::string& key, HttpConnection* connection);
  void CancelRouteWait(const std::string& key, HttpConnection* connection);
  size_t external_count() const { return external_.size(); }
  // After an egress exchange on a service being removed: frees it (from a
  // posted task) once nothing refers to it.
  void SweepRemovedLater() { sweep_removed_.Post(); }

  // Stops accepting on `port` and drains its connections (idle ones close
  // now, busy ones after their response or at the drain deadline).
  // `done` runs when the listener is closed, i.e. the port refuses here.
  void Remove(uint16_t port, std::function<void()> done);
  // Removes every service; `done` runs when every connection is gone.
  void Shutdown(std::function<void()> done);

  core::Ring& ring() { return ring_; }
  core::BufRing& bufs() { return bufs_; }
  // Where a new upstream connection receives: answers that a TLS client's
  // encryption consumes at once use a small ring of their own, which stays in
  // the cache; the rest use the shard's ring, whose buffers can be lent to the
  // client's send (Stream::SendFrom, same ring only).
  core::BufRing& upstream_bufs(bool tls_client) { return tls_client ? tls_upstream_bufs_ : bufs_; }
  UpstreamPool& pool() { return pool_; }
  PipePool& pipes() { return pipes_; }
  struct Stats {
    uint64_t bytes_spliced = 0;  // body bytes (both directions) moved by splice
    uint64_t bytes_copied = 0;   // Content-Length response body bytes copied
    // Accepts that met the fd limit (each pauses its listener): EMFILE/ENFILE,
    // or a connection closed unserved because it would have used the control
    // thread's reserve (accepts_over_fd_budget counts those alone).
    uint64_t accepts_at_fd_limit = 0;
    uint64_t accepts_over_fd_budget = 0;
  };
  Stats& stats() { return stats_; }
  int index() const { return index_; }
  // The shard's access log (nullptr: none, e.g. in tests).
  AccessLog* access_log() { return access_log_; }
  void set_access_log(AccessLog* log) { access_log_ = log; }
  // Sampled exchanges' server spans, until the control thread takes them.
  tracing::SpanBuffer& spans() { return spans_; }
  void set_span_capacity(size_t capacity) { spans_ = tracing::SpanBuffer(capacity); }
  size_t service_count() const { return services_.size(); }

  // Called by a connection when it is finished (it deletes itself after).
  void ConnectionClosed(HttpConnection* connection, ShardService* service);
  // Frees a removed service once nothing refers to it any more.
  void MaybeFreeService(ShardService* service);
  void OnAccept(ShardService* service, int res, uint32_t flags);
  void ResumeAccept(ShardService* service);  // accept_backoff fired

  // Whether the accepted descriptor `fd` eats into the control thread's
  // reserve (see SetFdReserve). Upstream sockets are not held to it: a
  // request that got in may finish.
  bool OverFdBudget(int fd);

 private:
  void ArmAccept(ShardService* service);
  // Stops accepting on `service` for kAcceptBackoffMs (nginx's accept
  // backoff): at the fd limit an armed accept fails at once, so re-arming
  // right away spins.
  void PauseAccept(ShardService* service);
  void CheckShutdownDone();
  // Takes a listener-less service (remote, external) out of use: it is freed
  // once its last request ends.
  void Retire(ShardService* service);

  // External hosts of the egress (shard_external.cc): one listener-less
  // service per scheme, host and port, whose instances are the name's
  // addresses, resolved on this shard's ring (net/dns_resolver.h).
  struct External {
    std::string host;
    uint16_t port = 0;
    bool https = false;
    ShardService* service = nullptr;      // null until an answer gave addresses
    std::vector<net::Address> addresses;  // what `service` was built with
    absl::Status error;                   // the last answer's failure
    int64_t fresh_until_ns = 0;           // the answer is used without asking again
    std::unique_ptr<net::DnsResolver::Lookup> lookup;
    std::vector<HttpConnection*> waiting;
  };
  EgressRoute RouteExternal(EgressRoute route, std::string_view caller);
  External* FindOrAddExternal(const std::string& key, const EgressTarget& target);
  void StartLookup(External& external);
  void ApplyLookup(External& external, const net::DnsResolver::Result& result);

  core::Ring& ring_;
  core::BufRing& bufs_;
  core::BufRing& tls_upstream_bufs_;
  int index_;
  UpstreamPool pool_;
  PipePool pipes_;
  Stats stats_;
  AccessLog* access_log_ = nullptr;
  tracing::SpanBuffer spans_;
  uint64_t fd_limit_ = 0;  // RLIMIT_NOFILE soft limit, re-read when it matters
  absl::flat_hash_map<uint16_t, ShardService*> services_;    // by port, live ones
  absl::flat_hash_map<std::string, ShardService*> by_name_;  // the same, by name
  absl::flat_hash_set<ShardService*> rate_limited_;          // live ones, see NoteRateLimited
  absl::flat_hash_map<std::string, ShardService*> remote_;   // other hosts' services, by name
  ShardService* egress_ = nullptr;                           // the egress listener (in services_)
  EgressSettings egress_settings_;
  std::unique_ptr<net::DnsResolver> dns_;  // made at the first external request
  bool shutting_down_ = false;
  absl::flat_hash_map<std::string, std::unique_ptr<External>> external_;  // "https://host:port"
  metrics::EgressSeries* egress_series_ = nullptr;
  core::DeferredTask sweep_removed_;
  absl::flat_hash_set<ShardService*> removed_;  // draining, listener closing
  std::function<void()> shutdown_done_;
  CacheBroadcast cache_broadcast_;
};

}  // namespace icaht::proxy
