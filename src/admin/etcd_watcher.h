#pragma once
// Reads the services other hosts publish in etcd (control thread): the
// egress's table of remote instances (discovery/remote_services.h), kept
// current through the etcd v3 JSON gateway with the daemon's own HTTP client.
//
// It lists icaht/services/ (keys and values) once, then watches the prefix
// from the listed revision + 1 on one long-lived streaming POST /v3/watch
// (grpc-gateway writes each watch message as one JSON object and a newline,
// in a chunked body). Each piece of the stream that arrives is applied whole
// and, if the table changed, reported with one on_change call: a burst of
// events in one message (or one read) is one call; nothing is held back in
// time.
//
// On any failure — a call refused or timed out, the stream ending, a watch
// canceled (compaction, an error message), a malformed message — it drops
// the stream, moves to the next endpoint (each endpoint once at once, then
// backing off 250 ms doubling to 5 s per round, with jitter), lists again
// and watches again. The last table is served meanwhile: on_change is never
// called because etcd is away, only when a new list or an event says the
// services changed (a list that finds etcd empty is news, and is reported).
//
// Watchdog: the gateway sends nothing on a quiet watch, and a dead peer or a
// member cut off from its cluster can leave a stream open and silent. After
// kWatchdog of silence (10 s; set_watchdog_ms for tests) it asks for the
// prefix's key count with a linearizable range: a failure (no leader, no
// answer within the call timeout) fails over as above; a count that differs
// from the keys the watch has delivered, with nothing arriving on the watch
// meanwhile, or a revision behind the table's, lists and watches again.
// This is cheaper than a periodic re-list (a count reads no values) and also
// notices a partitioned member, which a silent watch never would.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/buf_ring.h"
#include "core/random.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "discovery/remote_services.h"
#include "net/http_url.h"
#include "proxy/http_client.h"

namespace icaht::admin {

class EtcdWatcher {
 public:
  // Called on the control thread with the whole table after it changed (and
  // once after the first list, even if empty). It must not destroy the
  // watcher; it may call Stop().
  using OnChange = std::function<void(const discovery::RemoteServices&)>;

  // `endpoints` as --etcd-endpoints validated them ("http://IP:PORT");
  // `own_host_id`: this host's --host-id, whose keys are not served.
  static absl::StatusOr<std::unique_ptr<EtcdWatcher>> Create(
      core::Ring& ring, core::BufRing& bufs, const std::vector<std::string>& endpoints,
      uint32_t own_host_id, OnChange on_change);
  ~EtcdWatcher();

  // Lists and starts watching. Once.
  void Start();
  // Ends every call and timer at once; no on_change after it. For shutdown
  // (nothing to hand back to etcd).
  void Stop();

  // A watch is established on a listed table, and nothing failed since.
  bool up() const { return up_; }
  // The etcd revision the table is current to.
  int64_t revision() const { return table_.revision(); }
  const discovery::RemoteServices& table() const { return table_; }

  // Counters (for metrics): watch events applied; lists done (the first and
  // every re-list); failures (calls, streams, cancels, watchdog findings);
  // watchdog count checks that found the watch current.
  uint64_t events() const { return events_; }
  uint64_t relists() const { return relists_; }
  uint64_t errors() const { return errors_; }
  uint64_t probes() const { return probes_; }

  // Tests: a shorter watchdog. Before Start.
  void set_watchdog_ms(uint32_t ms) { watchdog_ns_ = int64_t{ms} * 1'000'000; }

 private:
  using Done = std::function<void(absl::StatusOr<http::ClientResponse>)>;

  EtcdWatcher(core::Ring& ring, core::BufRing& bufs, std::vector<net::HttpUrl> endpoints,
              uint32_t own_host_id, OnChange on_change);

  // POSTs `body` to `path` on the current endpoint; `slot` holds the call
  // until it ends (reset before `done` runs).
  void Post(proxy::HttpClientCall** slot, std::string_view path, std::string body, Done done,
            proxy::ClientCallSpec spec = {});
  void List();
  void Watch();
  void OnWatchData(const http::ClientResponse& head, std::string_view data);
  // One message of the stream; false when it ended the watch (Fail ran).
  bool OnWatchMessage(std::string_view line, bool* changed);
  void OnWatchdog();
  void Probe();
  // Drops every call, counts and logs `what`, and lists again after the
  // backoff on the next endpoint.
  void Fail(const std::string& what);
  void CancelCalls();
  void Report();

  core::Ring& ring_;
  core::BufRing& bufs_;
  std::vector<net::HttpUrl> endpoints_;
  size_t endpoint_ = 0;
  OnChange on_change_;
  core::FastRandom random_;
  discovery::RemoteServices table_;

  proxy::HttpClientCall* list_call_ = nullptr;
  proxy::HttpClientCall* watch_call_ = nullptr;
  proxy::HttpClientCall* probe_call_ = nullptr;
  core::Timer retry_timer_;
  core::Timer watchdog_;
  int64_t watchdog_ns_;
  int64_t last_data_ns_ = 0;   // when the watch last sent anything
  uint64_t watch_pieces_ = 0;  // pieces of the stream received (the probe's "meanwhile")
  std::string line_;           // an incomplete message of the stream
  std::string error_body_;     // the start of a non-200 watch answer

  bool started_ = false;
  bool stopped_ = false;
  bool listed_ = false;  // on_change ran once
  bool up_ = false;
  int failures_ = 0;  // in a row
  int64_t up_since_ns_ = 0;
  int64_t failure_logged_ns_ = 0;

  uint64_t events_ = 0;
  uint64_t relists_ = 0;
  uint64_t errors_ = 0;
  uint64_t probes_ = 0;
};

}  // namespace icaht::admin
