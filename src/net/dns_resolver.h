#pragma once
// A non-blocking DNS resolver with a TTL cache, one per ring (per shard), for
// the egress proxy: names are resolved off the data path, without blocking
// getaddrinfo, an extra thread or a lock.
//
// c-ares does the DNS work and is driven by the ring: its socket-state
// callback says which sockets to watch, each watched socket gets a one-shot
// IORING_OP_POLL_ADD (re-armed after every event), a completion runs
// ares_process_fd, and one ring timer follows ares_timeout() for retransmits
// and time-outs.
//
// Lifetime idiom (the same as Stream's "free when the kernel holds no op"):
// each watched socket has its own heap Watch, the Completion its polls carry.
// When c-ares closes the socket, or the resolver is destroyed, the Watch is
// orphaned: it no longer points at the resolver, a POLL_REMOVE is queued for
// an armed poll, and the Watch frees itself (DeferDelete) when its last CQE
// (usually -ECANCELED) arrives. So the resolver may go away at any time on its
// thread; the ring must keep running until live_watches() is 0 (a shard does
// this while it drains) or the orphans leak.
//
// Owned by one shard thread: every call on that thread, no locks.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "net/address.h"

struct ares_channeldata;
struct ares_addrinfo;

namespace icaht::net {

struct DnsOptions {
  // "IP:PORT" or "[IPv6]:PORT" name servers instead of /etc/resolv.conf's
  // (tests); empty = the system's configuration.
  std::vector<std::string> servers;
  uint32_t timeout_ms = 2000;  // per lookup, all tries and servers together
  uint32_t tries = 2;          // per server
  // The answer's TTL (the smallest of its records) is clamped to this range.
  uint32_t min_ttl_s = 0;
  uint32_t max_ttl_s = 300;
  uint32_t negative_ttl_s = 5;  // NXDOMAIN / no address records are cached this long
  size_t max_entries = 4096;    // cache bound; when full, the soonest-expiring entry goes
  // Clock for cache expiry (nanoseconds, monotonic); tests inject one.
  // Default: core::LoopNowNs.
  std::function<int64_t()> clock;
};

class DnsResolver {
 public:
  // Addresses with the requested port set, IPv4 first (then IPv6), or
  // NotFound (no such name, or no A/AAAA records), DeadlineExceeded (no
  // answer within timeout_ms), Unavailable (server failure or refusal),
  // InvalidArgument (a malformed name).
  using Result = absl::StatusOr<std::vector<Address>>;
  using Done = std::function<void(Result)>;

  // A lookup in progress. Destroying it (or Cancel) means `done` will not
  // run; after `done` ran it is inert. It may outlive the resolver.
  class Lookup {
   public:
    ~Lookup() { Cancel(); }
    Lookup(const Lookup&) = delete;
    Lookup& operator=(const Lookup&) = delete;
    void Cancel();

   private:
    friend class DnsResolver;
    struct Query;
    Lookup(DnsResolver* resolver, uint16_t port, Done done)
        : resolver_(resolver), port_(port), done_(std::move(done)) {}

    DnsResolver* resolver_;   // null once done, cancelled or the resolver is gone
    Query* query_ = nullptr;  // the shared query it waits for, or null when ready
    uint16_t port_;
    Done done_;
    std::optional<Result> result_;  // set when ready (queued in ready_)
  };

  struct Stats {
    uint64_t queries = 0;     // lookups sent to c-ares (hosts file, then DNS)
    uint64_t cache_hits = 0;  // answered from the cache (Cached or Resolve)
    uint64_t joined = 0;      // lookups that shared a query already in flight
    uint64_t failures = 0;    // queries that ended with an error
  };

  // Reads /etc/resolv.conf (unless options.servers is set). Call on the
  // ring's thread. Lookups consult /etc/hosts first, then DNS ("fb"); search
  // domains are never applied: an allowed name is resolved as written, so
  // "api.example.com" can never turn into "api.example.com.corp".
  // c-ares 1.18 reads /etc/hosts (a small page-cache read) at the start of
  // every lookup that the cache does not answer, and gives its answers TTL 0:
  // they are cached only for min_ttl_s. It closes its sockets once no query
  // is left, so each burst of lookups uses a fresh UDP socket and source port.
  static absl::StatusOr<std::unique_ptr<DnsResolver>> Create(core::Ring& ring, DnsOptions options);
  // Drops every lookup (no `done` runs) and orphans the socket watches (see
  // the lifetime idiom above). Not from inside one of its own `done`s.
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // The synchronous fast path: an IP literal ("10.0.0.1", "::1", "[::1]"),
  // or a name with a fresh cache entry, positive or negative. nullopt means a
  // lookup is needed (Resolve).
  std::optional<Result> Cached(std::string_view host, uint16_t port);

  // Starts (or joins) a lookup of `host`. `done` runs later from the ring's
  // dispatch, never inside Resolve, and may start lookups or destroy its
  // Lookup. IP literals and cached names are answered on the next dispatch
  // without a query; concurrent lookups of one name share one query.
  [[nodiscard]] std::unique_ptr<Lookup> Resolve(std::string_view host, uint16_t port, Done done);

  const Stats& stats() const { return stats_; }
  size_t cache_size() const { return cache_.size(); }
  // Watches (socket polls) alive on the calling thread, orphans included.
  static size_t live_watches();

 private:
  class Watch;
  struct Entry {
    std::vector<Address> addresses;  // port 0; empty when `error` is set
    absl::Status error;
    int64_t expires_ns = 0;
  };
  using Query = Lookup::Query;

  DnsResolver(core::Ring& ring, DnsOptions options);
  int64_t Now() const { return options_.clock ? options_.clock() : core::LoopNowNs(); }
  absl::Status Init();
  const Entry* FreshEntry(const std::string& key);
  void Store(const std::string& key, Entry entry);
  void QueueReady(Lookup* lookup, Result result);
  void DeliverReady();
  void Finish(Query* query, int status, ares_addrinfo* info);
  void Process(int read_fd, int write_fd);
  void ArmTimeout();
  void OnSocketState(int fd, bool readable, bool writable);
  static void SocketStateCallback(void* data, int fd, int readable, int writable);
  static void AddrinfoCallback(void* arg, int status, int timeouts, ares_addrinfo* info);

  core::Ring& ring_;
  DnsOptions options_;
  ares_channeldata* channel_ = nullptr;
  bool destroying_ = false;
  absl::flat_hash_map<std::string, Entry> cache_;
  absl::flat_hash_map<std::string, std::unique_ptr<Query>> queries_;  // in flight, by name
  absl::flat_hash_map<int, Watch*> watches_;                          // by fd
  std::vector<Lookup*> ready_;  // answered, `done` not run yet (FIFO)
  core::Timer timeout_timer_{[this] { Process(-1, -1); }};
  core::Timer deliver_timer_{[this] { DeliverReady(); }};
  Stats stats_;
};

}  // namespace icaht::net
