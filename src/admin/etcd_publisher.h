#pragma once
// Publishes this host's services in etcd (control thread): Traefik's KV
// layout and the fleet's service records (discovery/etcd_layout.h), through
// the etcd v3 JSON gateway with the daemon's own HTTP client, one request in
// flight at a time.
//
// This host's keys hang on a lease of --etcd-lease-ttl-s, renewed every third
// of it (a keepalive goes before any other call that is due, and a retry
// never waits past the lease's last safe moment): a host that dies loses its
// servers within the TTL. Each change of a service is one transaction, after
// a read of its shared keys: stale ones an older record wrote are deleted in
// it, and it applies only if no other host changed them since the read (else
// read again). A router under the service's name that no sidecar wrote (no
// icaht/shared/ marker) is left alone and the service not published, with an
// error. Deregistration deletes this host's keys (those on its own lease
// only), then the shared ones in a transaction guarded by "no server of any
// host left, and the router is a sidecar's". Every 3 TTLs a sweep does the
// same for the services whose last host died. etcd being down or slow never
// holds up anything else: changes queue (one entry per service, the latest
// record wins, deregistrations first), calls are retried with backoff over
// the endpoints in turn, a change etcd refuses goes to the back of the queue,
// the state shows in icaht_etcd_* metrics and a log line; once etcd answers
// again (or a lost lease is granted anew) the host's whole state is published
// again.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/buf_ring.h"
#include "core/deferred.h"
#include "core/random.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "discovery/etcd_layout.h"
#include "net/http_url.h"
#include "proxy/http_client.h"
#include "registry/service_record.h"

namespace icaht::admin {

class EtcdPublisher {
 public:
  // The record to publish for `name`, or nullptr when it is not registered.
  using Lookup = std::function<const registry::ServiceRecord*(const std::string& name)>;
  // Every registered service's name.
  using Names = std::function<std::vector<std::string>()>;

  // `endpoints` as --etcd-endpoints validated them.
  static absl::StatusOr<std::unique_ptr<EtcdPublisher>> Create(
      core::Ring& ring, core::BufRing& bufs, const std::vector<std::string>& endpoints,
      discovery::EtcdHost host, uint32_t lease_ttl_s, Lookup lookup, Names names);
  ~EtcdPublisher();

  // Grants the lease and publishes every service.
  void Start();
  // Service `name` was registered, updated or deregistered.
  void Changed(const std::string& name);
  // Shutdown: revokes the lease (this host's keys go at once, so that Traefik
  // stops routing here while the connections drain; the shared ones stay
  // for the other hosts, or until a sweep finds no host serving them), within
  // a bounded time.
  void Stop();
  // Calls `done` once Stop's revoke is over (at once if it is).
  void AfterStop(std::function<void()> done);

  // The last call succeeded and a lease is held.
  bool up() const { return up_; }
  uint64_t errors() const { return errors_; }
  uint64_t transactions() const { return transactions_; }
  // Services whose change is not in etcd yet.
  size_t pending() const { return dirty_.size() + (current_.empty() ? 0 : 1); }

 private:
  EtcdPublisher(core::Ring& ring, core::BufRing& bufs, std::vector<net::HttpUrl> endpoints,
                discovery::EtcdHost host, uint32_t lease_ttl_s, Lookup lookup, Names names);

  // Runs the next step: grant, keepalive, a service's change, a sweep step;
  // or arms the timer for the next keepalive or sweep.
  void Step();
  // POSTs `body` to `path` on the current endpoint. A transport failure or an
  // error answer goes to Fail (a lost lease to LeaseLost); a 200 to `on_ok`,
  // whose error also goes to Fail.
  void Call(std::string_view path, std::string body,
            std::function<absl::Status(std::string_view body)> on_ok);
  // `answered`: etcd refused the request (an HTTP error), as opposed to not
  // answering.
  void Fail(const std::string& what, bool answered = false);
  void LeaseLost();
  void Succeeded();
  // Queues every registered service and every one published since start.
  void QueueAll();
  void Publish(const std::string& name);
  void Unpublish(const std::string& name);
  void Finished();  // the current service's change is in etcd
  // The current change's second transaction (after its read), sent by Step
  // once no keepalive is due.
  void SendPending();
  void SweepList();
  void SweepCount();
  void SweepOrphan();
  // Shutdown's revoke of the lease, on the current endpoint.
  void Revoke();
  void FinishStop();

  core::Ring& ring_;
  core::BufRing& bufs_;
  std::vector<net::HttpUrl> endpoints_;
  size_t endpoint_ = 0;  // the one calls go to; the next after a failure
  discovery::EtcdHost host_;
  int64_t lease_ttl_s_;
  uint32_t call_timeout_ms_;
  Lookup lookup_;
  Names names_;
  core::FastRandom random_;

  proxy::HttpClientCall* call_ = nullptr;
  core::Timer timer_;
  int64_t lease_ = 0;
  int64_t lease_expires_ns_ = 0;  // as of the last grant or keepalive
  int64_t next_keepalive_ns_ = 0;
  int64_t next_sweep_ns_ = 0;
  bool resync_ = false;  // after a failure: check the lease, then publish everything again
  int failures_ = 0;     // in a row
  int64_t failure_logged_ns_ = 0;
  int64_t retry_at_ns_ = 0;

  std::deque<std::string> dirty_;
  absl::flat_hash_set<std::string> queued_;  // dirty_'s names
  std::string current_;                      // the change in progress
  enum class Pending : uint8_t { kNone, kPut, kUnpublishShared };
  Pending pending_ = Pending::kNone;
  std::string pending_body_;
  bool item_call_ = false;                      // the call in flight is a step of current_
  absl::flat_hash_set<std::string> published_;  // shared keys written by this process
  // The sweep in progress: marker names still to count, orphans to remove.
  std::vector<std::string> sweep_candidates_;
  std::deque<std::string> orphans_;

  bool up_ = false;
  uint64_t errors_ = 0;
  uint64_t transactions_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  size_t revoke_tries_ = 0;
  std::function<void()> stop_done_;
  core::Timer stop_deadline_;
  core::DeferredTask stop_notify_;
};

}  // namespace icaht::admin
