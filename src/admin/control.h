#pragma once
// The control thread: owns the authoritative registry, the admin socket, the
// ops listener, the shards and shutdown. Runs on the thread that calls Run()
// (the main thread) with its own ring; talks to shards only by MSG_RING.

#include <sys/types.h>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "admin/auth_keys.h"
#include "admin/control_http.h"
#include "admin/etcd_publisher.h"
#include "admin/etcd_watcher.h"
#include "admin/health_checker.h"
#include "admin/outlier_detector.h"
#include "admin/state_store.h"
#include "admin/tls_store.h"
#include "admin/trace_exporter.h"
#include "admin/watchdog.h"
#include "config/daemon_config.h"
#include "core/buf_ring.h"
#include "core/ring.h"
#include "discovery/traefik.h"
#include "filters/rate_limit/share_coordinator.h"
#include "metrics/exposition.h"
#include "metrics/service_series.h"
#include "proxy/shard.h"
#include "registry/registry.h"

namespace icaht::admin {

// Tells systemd (Type=notify) our state, if it asked (NOTIFY_SOCKET): one
// datagram of "NAME=value" lines.
void NotifySystemd(std::string_view state);

class Control {
 public:
  explicit Control(config::DaemonConfig config);
  ~Control();

  // Sets up the ring, shards, listeners and static services. Fails with a
  // message for the user (io_uring refused, another daemon running, admin
  // socket or ops port taken, ...), having stopped whatever it started: the
  // caller can exit at once.
  absl::Status Start();
  // Serves until SIGTERM, SIGINT or SIGQUIT, then drains and returns.
  // SIGHUP, SIGUSR1 and SIGUSR2 are logged and ignored.
  void Run();

 private:
  class SignalRead;

  absl::Status Open();
  // Undoes a failed Open(): stops the shards (joined) and the listeners.
  void AbortStart();
  // Binds `address` (the ops or egress listener), retrying a moment while
  // our predecessor's listener dies.
  absl::StatusOr<net::Fd> ListenRetrying(const net::Address& address);
  // Opens the egress listener (--egress-listen) on every shard
  // (egress_setup.cc); an error names the flag.
  absl::Status StartEgress();
  void WriteEgressMetrics(metrics::Exposition& out) const;
  std::string egress_address_ = "off";  // the egress listener's bound address
  // Other hosts' services for the egress (remote_egress.cc): with
  // --etcd-endpoints and an egress listener, a watch on the fleet's records
  // whose changes reach every shard as listener-less services.
  absl::Status CreateRemoteWatch();
  void OnRemoteChange(const discovery::RemoteServices& table);
  void WriteRemoteMetrics(metrics::Exposition& out) const;
  std::unique_ptr<EtcdWatcher> remote_watch_;
  // What the shards were last sent, by service name.
  absl::flat_hash_map<std::string, discovery::RemoteServices::Instances> remote_sent_;
  std::shared_ptr<metrics::ServiceSeries> remote_series_;  // shared, not exported
  // Aborts the admin and ops connections and waits (bounded) for their streams.
  void CloseControlConnections();
  // Unlinks the admin socket file if it is still the one we bound.
  void RemoveAdminSocket();

  // Admin API.
  void HandleAdmin(const ControlRequest& request, Responder* responder);
  void HandleOps(const ControlRequest& request, Responder* responder);
  // The configured bounds for one of the control listeners.
  ControlLimits Limits(std::string name) const;
  void Register(std::string body, Responder* responder);
  void Replace(std::string name, std::string body, Responder* responder);
  void Deregister(std::string name, Responder* responder);
  void Heartbeat(const std::string& name, Responder* responder);
  // DELETE /v1/services/{name}/cache[?path=/uri]: the response cache's
  // entries (all, or one URI's) on every shard.
  void PurgeCache(const std::string& name, const std::string& query, Responder* responder);

  // Registry changes run one at a time, in arrival order, so each sees the
  // result of the previous one and shards apply them in the same order.
  void Enqueue(std::function<void(std::function<void()> done)> change);
  void RunNextChange();

  // Sends every shard its own command; `done` gets the first error, if any,
  // after all shards answered.
  using CommandFactory =
      std::function<proxy::ShardCommand*(proxy::Shard*, proxy::ShardCommand::Done)>;
  void Broadcast(const CommandFactory& make, std::function<void(absl::Status)> done);
  // Metrics (metrics_page.cc): a service's series, made at its first config
  // and kept across updates; dropped when it is deregistered or its
  // registration failed; the /metrics page.
  std::shared_ptr<metrics::ServiceSeries> SeriesFor(const std::string& name);
  void DropSeriesIfUnregistered(const std::string& name);
  enum class RegistryOp : uint8_t { kRegister, kUpdate, kDeregister, kCount };
  void CountChange(RegistryOp op) { ++registry_changes_[static_cast<size_t>(op)]; }
  std::string RenderMetrics(metrics::Format format) const;
  // The access log (access_log_sink.cc): opened at start, each shard gets a
  // descriptor of it, SIGUSR1 reopens it.
  absl::Status OpenAccessLog();
  void SendAccessLog();
  void ReopenAccessLog();

  // Reads the files the record names (keys, certificates): refused naming the
  // field when one cannot be used, and then nothing changes.
  absl::Status LoadFiles(const registry::ServiceRecord& record);
  // The TLS settings of `service`'s instance at `address` (health checks).
  void SetUpstreamTls(const std::string& service, const net::Address& address,
                      proxy::ClientCallSpec* spec);
  // A shard's config for `record`. With `shared_specs`: the first call makes
  // the filter specs and leaves them there, the next ones take them (one copy
  // for every shard).
  std::unique_ptr<proxy::ServiceConfig> MakeServiceConfig(
      const registry::ServiceRecord& record,
      std::shared_ptr<filters::FilterSpecs>* shared_specs = nullptr);
  // An UpsertServiceCommand per shard for `record`, their configs sharing one
  // copy of the filter specs (for Broadcast).
  CommandFactory UpsertOnShards(std::shared_ptr<const registry::ServiceRecord> record);
  // Registers a record through the same path as the admin API. A port the
  // allocator chose (record.port == 0) that a shard cannot bind because
  // another socket took it after the probe (EADDRINUSE) is rolled back and the
  // next free port tried, up to kAutoPortAttempts ports; a port the caller
  // asked for is never swapped for another.
  void Apply(registry::ServiceRecord record,
             std::function<void(absl::StatusOr<registry::ServiceRecord>)> done);
  // One attempt of Apply; `after` is the chosen port the previous attempt
  // could not bind (0 on the first attempt).
  void ApplyAttempt(registry::ServiceRecord record, int attempt, uint16_t after,
                    std::function<void(absl::StatusOr<registry::ServiceRecord>)> done);

  // Durable registrations (state_store.h): CommitRecord and Deregister append
  // each change of an admin-registered service to the journal; an answer
  // that acknowledges a change is sent once the journal is synced.
  void AnswerWhenDurable(Responder* responder, ControlResponse response);
  // The records the snapshot holds (admin-registered ones: static services
  // come from the config file).
  std::vector<const registry::ServiceRecord*> PersistedRecords() const;
  // Folds the journal into a snapshot: at start, at shutdown, and when the
  // journal grew long.
  void WriteState();
  void MaybeCompact();
  // Re-registers what the state file holds (after a restart), record by
  // record: a record that cannot be read or registered is logged and left out
  // (the file is kept aside, timestamped), the others are restored. Admin
  // calls answer 503 until it is done (starting_).
  void Restore();
  // Registers one saved record. A port the shards cannot bind (another process
  // holds it) does not refuse it: it is committed as not serving (unbound_)
  // and bound by RetryBinds. `done` gets an error only for a refused record.
  void RestoreOne(registry::ServiceRecord record, std::function<void(absl::Status)> done);
  // Opens (or updates) `record` on every shard; when a shard refuses, removes
  // the port from every shard again before `done` gets the refusal.
  void OpenOnShards(std::shared_ptr<const registry::ServiceRecord> record,
                    std::function<void(absl::Status)> done);
  void ArmBindRetry();
  // How often a restored service whose port another process holds tries to
  // bind it again.
  static constexpr int64_t kBindRetryMs = 1000;
  void RetryBinds();
  // Stores a record the shards accepted (or a not-serving one): heartbeat
  // clock, registry, state file.
  void CommitRecord(const registry::ServiceRecord& record);
  // A record as the admin API's GET shows it: ToJson plus "serving".
  std::string ApiJson(const registry::ServiceRecord& record) const;
  // Active health checks changed an instance's verdict: tell every shard.
  void OnHealthChange(const std::string& name, uint16_t port, std::vector<net::Address> unhealthy);
  // Outlier detection (outlier_state.cc): a detector per service that has
  // outlier_detection, fed every kOutlierPollNs with what the shards saw, its
  // ejections sent to every shard (in order with the registry's changes).
  void UpdateOutliers(const registry::ServiceRecord& record);
  void CollectOutliers();
  using OutlierReports =
      std::vector<std::shared_ptr<std::vector<proxy::ShardProxy::OutlierReport>>>;  // by shard
  void ApplyOutliers(OutlierReports reports);
  void ArmOutlierTimer();
  bool OutlierEjected(const std::string& name, const net::Address& address) const;
  void WriteOutlierMetrics(metrics::Exposition& out) const;
  static constexpr int64_t kOutlierPollNs = 100'000'000;
  // A service's keys changed (file reloaded, URL fetched): its shards get a
  // fresh config carrying them.
  void RefreshService(const std::string& name);
  // Rate limits across shards, every filters::kSharePeriodNs while a service
  // has limits: each shard's demand reports, merged per service by a
  // ShareCoordinator, answered with each shard's shares.
  void CollectDemand();
  void ApplyShares(std::vector<std::shared_ptr<proxy::ShardProxy::DemandReports>> reports);
  void ArmShareTimer();
  // Tracing: every shard's finished spans, for the exporter.
  void CollectSpans(std::function<void(TraceExporter::Harvests)> done);
  // Spans a shard holds between two collections (one second apart); more are
  // dropped and counted.
  static constexpr size_t kShardSpanCapacity = 4096;
  // Traefik (traefik_output.cc): the dynamic configuration for GET /traefik,
  // and --traefik-file rewritten (coalesced, kTraefikDelayMs) after changes.
  std::string TraefikConfig(discovery::TraefikFormat format) const;
  // The host in the URLs Traefik routes to: --advertise-address, else the
  // bind address (a wildcard one: loopback); IPv6 in brackets.
  std::string AdvertiseHost() const;
  // Service `name` changed (registered, updated, deregistered): the Traefik
  // file and etcd follow.
  void TraefikChanged(const std::string& name);
  void WriteTraefikFile();
  // Reload (reload.cc): SIGHUP and POST /v1/reload.
  struct ReloadResult {
    std::vector<std::string> added, updated, removed;
    size_t unchanged = 0;
    std::vector<std::string> failed;          // "name: the answer"
    std::vector<std::string> restart_needed;  // settings that differ but need a restart
    std::string ToJson() const;
  };
  void Reload(std::function<void(absl::StatusOr<ReloadResult>)> done);
  void OnSignal(int sig);
  void BeginShutdown();
  void ExpireTtls();

  config::DaemonConfig config_;
  net::Fd state_lock_;  // held for the process's life (registry::LockStateDir)
  std::pair<dev_t, ino_t> admin_socket_id_{0, 0};  // the socket file we bound
  std::unique_ptr<core::Ring> ring_;
  std::unique_ptr<core::BufRing> bufs_;
  std::vector<std::unique_ptr<proxy::Shard>> shards_;
  registry::Registry registry_;
  std::unique_ptr<ControlHttpServer> admin_;
  std::unique_ptr<ControlHttpServer> ops_;
  std::unique_ptr<SignalRead> signals_;
  net::Fd access_log_fd_;  // the control thread's copy (shards get dups)
  std::unique_ptr<HealthChecker> health_;
  std::unique_ptr<AuthKeyStore> keys_;
  std::unique_ptr<TlsStore> tls_;
  std::unique_ptr<TraceExporter> traces_;  // with --trace-endpoint
  std::unique_ptr<EtcdPublisher> etcd_;    // with --etcd-endpoints
  std::unique_ptr<Watchdog> watchdog_;     // when systemd asked for one (WatchdogSec=)
  struct RateShare {
    std::unique_ptr<filters::ShareCoordinator> coordinator;
    std::vector<const void*> configs;  // by shard: the config its report came from
    int idle_periods = 0;
  };
  absl::flat_hash_map<uint16_t, RateShare> rate_shares_;  // by service port
  // Services whose record has rate limits: the share rounds run while there
  // is one (looked up here, not by walking 10,000 records every 100 ms).
  absl::flat_hash_set<std::string> rate_limited_;
  std::map<std::string, std::shared_ptr<metrics::ServiceSeries>> series_;  // sorted: the page
  // The last /metrics page's size: the next one is written into a string of
  // that capacity (pages of megabytes with 1,000 services). Control thread only.
  mutable size_t last_metrics_bytes_ = 0;
  std::array<uint64_t, static_cast<size_t>(RegistryOp::kCount)> registry_changes_{};
  core::Timer share_timer_;
  bool share_round_running_ = false;
  struct Outliers {
    uint16_t port = 0;
    std::unique_ptr<OutlierDetector> detector;
  };
  std::map<std::string, Outliers> outliers_;  // by service name (sorted: the metrics page)
  core::Timer outlier_timer_;
  bool outlier_round_running_ = false;
  std::deque<std::function<void(std::function<void()>)>> changes_;
  bool change_running_ = false;
  absl::flat_hash_map<std::string, int64_t> last_heartbeat_ns_;
  absl::flat_hash_set<std::string> static_names_;  // from the config file: not persisted
  std::unique_ptr<StateStore> store_;
  bool persist_ = false;  // off until the saved state has been read
  core::Timer ttl_timer_;
  // Registered services whose port the shards could not bind at restore.
  absl::flat_hash_set<std::string> unbound_;
  core::Timer bind_retry_timer_;
  bool starting_ = false;  // static services and the restore are not all in yet
  bool reloading_ = false;
  core::Timer traefik_timer_;
  bool ready_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
};

}  // namespace icaht::admin
