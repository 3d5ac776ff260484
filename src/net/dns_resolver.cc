#include "net/dns_resolver.h"

#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/check.h"
#include "core/deferred.h"

namespace icaht::net {
namespace {

thread_local size_t t_live_watches = 0;

// A timer that is due right away: answers queued outside a dispatch (Resolve
// called from a test body) are delivered by the next RunOnce without waiting.
constexpr int64_t kNow = 0;

// ares_timeout() truncates to milliseconds: fire a little late rather than
// early (an early wake-up finds nothing to do and spins until the deadline).
constexpr int64_t kTimeoutSlackNs = 1'000'000;

// RFC 1035 2.3.4: 255 octets on the wire, so at most 253 characters written.
constexpr size_t kMaxNameLength = 253;

absl::Status AresError(std::string_view what, int status) {
  return absl::InternalError(absl::StrFormat("%s: %s", what, ares_strerror(status)));
}

// Maps a failed lookup to a canonical code the proxy can act on.
absl::Status LookupError(std::string_view host, int status) {
  std::string message = absl::StrFormat("DNS lookup of \"%s\": %s", host, ares_strerror(status));
  switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
      return absl::NotFoundError(message);
    case ARES_ETIMEOUT:
      return absl::DeadlineExceededError(message);
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
    case ARES_EBADFLAGS:
      return absl::InvalidArgumentError(message);
    case ARES_ENOMEM:
      return absl::ResourceExhaustedError(message);
    default:  // SERVFAIL, REFUSED, connection refused, malformed answers...
      return absl::UnavailableError(message);
  }
}

// The seconds an answer may be cached: its smallest TTL (CNAMEs included).
int64_t AnswerTtl(const ares_addrinfo* info) {
  int64_t ttl = INT64_MAX;
  for (const ares_addrinfo_node* node = info->nodes; node != nullptr; node = node->ai_next) {
    ttl = std::min<int64_t>(ttl, std::max(node->ai_ttl, 0));
  }
  for (const ares_addrinfo_cname* cname = info->cnames; cname != nullptr; cname = cname->next) {
    ttl = std::min<int64_t>(ttl, std::max(cname->ttl, 0));
  }
  return ttl == INT64_MAX ? 0 : ttl;
}

DnsResolver::Result WithPort(const std::vector<Address>& addresses, uint16_t port) {
  std::vector<Address> out = addresses;
  for (Address& address : out) address.set_port(port);
  return out;
}

// The cache key: DNS names compare case-insensitively (RFC 4343).
std::string CacheKey(std::string_view host) {
  std::string key(host);
  for (char& c : key) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return key;
}

// IP literals need no lookup. "localhost" is a name here (Address::FromIp
// takes it as 127.0.0.1): it comes from /etc/hosts like any other.
std::optional<Address> IpLiteral(std::string_view host, uint16_t port) {
  if (host.size() == 9 && CacheKey(host) == "localhost") return std::nullopt;
  absl::StatusOr<Address> address = Address::FromIp(host, port);
  if (!address.ok()) return std::nullopt;
  return *address;
}

}  // namespace

// One name in flight: c-ares's callback argument, shared by every lookup of
// the name that arrives before the answer.
struct DnsResolver::Lookup::Query {
  DnsResolver* resolver;
  std::string name;
  std::vector<Lookup*> waiters;
};

// The poll of one c-ares socket; see the lifetime idiom in the header.
class DnsResolver::Watch final : public core::Completion, public core::DeferredDeletable {
 public:
  Watch(DnsResolver* resolver, int fd) : resolver_(resolver), ring_(resolver->ring_), fd_(fd) {
    ++t_live_watches;
  }
  ~Watch() override { --t_live_watches; }

  // c-ares wants these events (POLLIN and/or POLLOUT, not none).
  void Want(uint32_t mask) {
    want_ = mask;
    if (poll_ == Poll::kNone) {
      if (!dispatching_) Arm();  // else Complete re-arms
    } else if (poll_ == Poll::kArmed && (armed_mask_ & mask) != mask) {
      // The armed poll misses an event now wanted (a TCP query to send):
      // cancel it, and Complete re-arms with the new mask.
      Remove();
    }
  }

  // The resolver lets go (c-ares closes the socket, or the resolver is
  // destroyed). Frees itself once no poll is armed. Called once.
  void Orphan() {
    resolver_ = nullptr;
    want_ = 0;
    if (poll_ == Poll::kArmed) Remove();
    MaybeRelease();
  }

  void Complete(int res, uint32_t) override {
    poll_ = Poll::kNone;
    dispatching_ = true;
    if (resolver_ != nullptr && res != -ECANCELED) {
      // A poll error (res < 0) is handed to c-ares as readability: its read
      // fails and it closes the socket.
      uint32_t events = res < 0 ? POLLIN : static_cast<uint32_t>(res);
      bool readable = (want_ & POLLIN) && (events & (POLLIN | POLLERR | POLLHUP));
      bool writable = (want_ & POLLOUT) && (events & (POLLOUT | POLLERR | POLLHUP));
      // May call back into Want() or Orphan() for this socket.
      resolver_->Process(readable ? fd_ : ARES_SOCKET_BAD, writable ? fd_ : ARES_SOCKET_BAD);
    }
    dispatching_ = false;
    if (resolver_ != nullptr && want_ != 0) Arm();
    MaybeRelease();
  }

 private:
  enum class Poll {
    kNone,      // no poll in the kernel: the Watch may be freed
    kArmed,     // a POLL_ADD is in flight
    kRemoving,  // ...and a POLL_REMOVE for it is queued: its CQE is still to come
  };

  void Arm() {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_poll_add(sqe, fd_, want_);
    io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(this));
    poll_ = Poll::kArmed;
    armed_mask_ = want_;
  }

  void Remove() {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_poll_remove(sqe,
                              reinterpret_cast<uint64_t>(static_cast<core::Completion*>(this)));
    core::Ring::SetIgnored(sqe);
    poll_ = Poll::kRemoving;
  }

  // Orphan() and Complete() both end here; only one of them sees the Watch
  // orphaned with no poll in flight and outside a dispatch.
  void MaybeRelease() {
    if (resolver_ == nullptr && poll_ == Poll::kNone && !dispatching_) core::DeferDelete(this);
  }

  DnsResolver* resolver_;  // null once orphaned
  core::Ring& ring_;
  int fd_;
  uint32_t want_ = 0;
  uint32_t armed_mask_ = 0;
  Poll poll_ = Poll::kNone;
  bool dispatching_ = false;  // inside Complete: Want() and Orphan() leave the rest to it
};

size_t DnsResolver::live_watches() { return t_live_watches; }

void DnsResolver::Lookup::Cancel() {
  if (resolver_ == nullptr) return;
  std::vector<Lookup*>& list = query_ != nullptr ? query_->waiters : resolver_->ready_;
  list.erase(std::find(list.begin(), list.end(), this));
  resolver_ = nullptr;
  query_ = nullptr;
  done_ = nullptr;
  result_.reset();
}

absl::StatusOr<std::unique_ptr<DnsResolver>> DnsResolver::Create(core::Ring& ring,
                                                                 DnsOptions options) {
  if (options.timeout_ms == 0 || options.tries == 0) {
    return absl::InvalidArgumentError("DNS timeout_ms and tries must be positive");
  }
  if (options.min_ttl_s > options.max_ttl_s) {
    return absl::InvalidArgumentError("DNS min_ttl_s must not exceed max_ttl_s");
  }
  if (options.max_entries == 0) {
    return absl::InvalidArgumentError("DNS max_entries must be positive");
  }
  std::unique_ptr<DnsResolver> resolver(new DnsResolver(ring, std::move(options)));
  absl::Status status = resolver->Init();
  if (!status.ok()) return status;
  return resolver;
}

DnsResolver::DnsResolver(core::Ring& ring, DnsOptions options)
    : ring_(ring), options_(std::move(options)) {}

absl::Status DnsResolver::Init() {
  // ares_library_init is a no-op on Linux but is not thread-safe: once per process.
  static std::once_flag once;
  static int library_status = ARES_SUCCESS;
  std::call_once(once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) return AresError("c-ares library init", library_status);

  // c-ares (1.18) waits `timeout` for the first round over the servers and
  // doubles it each further round, so `tries` rounds over `n` servers take
  // n * timeout * (2^tries - 1). The per-try timeout is chosen so the whole
  // lookup ends within timeout_ms (one server, two tries: 100 + 200 ms for
  // 300 ms, as the silent-server test checks). The system's server count is known only
  // after reading resolv.conf: a first channel reads it, and the real one is
  // set up again with the right timeout when it differs from the guess.
  size_t servers = std::max<size_t>(options_.servers.size(), 1);
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t rounds = (uint64_t{1} << std::min<uint32_t>(options_.tries, 16)) - 1;
    uint64_t per_try = options_.timeout_ms / (servers * rounds);
    ares_options opts{};
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
               ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
    opts.flags = ARES_FLAG_NOSEARCH;
    opts.timeout = static_cast<int>(std::max<uint64_t>(per_try, 1));
    opts.tries = static_cast<int>(options_.tries);
    opts.ndomains = 0;  // no search domains: see Create()
    opts.domains = nullptr;
    char lookups[] = "fb";  // /etc/hosts, then DNS
    opts.lookups = lookups;
    opts.sock_state_cb = &DnsResolver::SocketStateCallback;
    opts.sock_state_cb_data = this;
    int status = ares_init_options(&channel_, &opts, mask);
    if (status != ARES_SUCCESS) {
      channel_ = nullptr;
      return AresError("c-ares init", status);
    }
    if (!options_.servers.empty()) {
      std::string csv = absl::StrJoin(options_.servers, ",");
      status = ares_set_servers_ports_csv(channel_, csv.c_str());
      if (status != ARES_SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrFormat("DNS servers \"%s\": %s (want IP:PORT)", csv, ares_strerror(status)));
      }
      return absl::OkStatus();
    }
    ares_addr_port_node* list = nullptr;
    size_t found = 0;
    if (ares_get_servers_ports(channel_, &list) == ARES_SUCCESS) {
      for (ares_addr_port_node* node = list; node != nullptr; node = node->next) ++found;
      ares_free_data(list);
    }
    if (found <= servers) break;
    servers = found;
    ares_destroy(channel_);
    channel_ = nullptr;
  }
  return absl::OkStatus();
}

DnsResolver::~DnsResolver() {
  destroying_ = true;
  // No `done` runs from here on; the Lookups may outlive us and stay inert.
  for (auto& [name, query] : queries_) {
    for (Lookup* lookup : query->waiters) lookup->resolver_ = nullptr, lookup->query_ = nullptr;
  }
  for (Lookup* lookup : ready_) lookup->resolver_ = nullptr;
  ready_.clear();
  // Ends the queries (their callbacks see ARES_EDESTRUCTION) and closes the
  // sockets, which orphans their watches.
  if (channel_ != nullptr) ares_destroy(channel_);
  for (auto& [fd, watch] : watches_) watch->Orphan();
  watches_.clear();
  queries_.clear();
}

std::optional<DnsResolver::Result> DnsResolver::Cached(std::string_view host, uint16_t port) {
  if (std::optional<Address> literal = IpLiteral(host, port)) {
    return Result(std::vector<Address>{*literal});
  }
  const Entry* entry = FreshEntry(CacheKey(host));
  if (entry == nullptr) return std::nullopt;
  ++stats_.cache_hits;
  if (!entry->error.ok()) return Result(entry->error);
  return WithPort(entry->addresses, port);
}

std::unique_ptr<DnsResolver::Lookup> DnsResolver::Resolve(std::string_view host, uint16_t port,
                                                          Done done) {
  std::unique_ptr<Lookup> lookup(new Lookup(this, port, std::move(done)));
  if (std::optional<Result> cached = Cached(host, port)) {
    QueueReady(lookup.get(), std::move(*cached));
    return lookup;
  }
  if (host.empty() || host.size() > kMaxNameLength) {
    QueueReady(lookup.get(),
               absl::InvalidArgumentError(absl::StrFormat(
                   "DNS lookup of a %d-character name: not a host name", host.size())));
    return lookup;
  }
  std::string key = CacheKey(host);
  auto [it, inserted] = queries_.try_emplace(key);
  if (!inserted) {
    ++stats_.joined;
    lookup->query_ = it->second.get();
    it->second->waiters.push_back(lookup.get());
    return lookup;
  }
  it->second = std::make_unique<Query>(Query{this, key, {lookup.get()}});
  Query* query = it->second.get();
  lookup->query_ = query;
  ++stats_.queries;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // Our own order (IPv4 first) instead of RFC 6724 sorting, which would
  // connect() probe sockets for every answer.
  hints.ai_flags = ARES_AI_NOSORT;
  // May call back right away (an /etc/hosts hit): `query` is gone then.
  ares_getaddrinfo(channel_, query->name.c_str(), nullptr, &hints, &DnsResolver::AddrinfoCallback,
                   query);
  ArmTimeout();
  return lookup;
}

const DnsResolver::Entry* DnsResolver::FreshEntry(const std::string& key) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return nullptr;
  if (it->second.expires_ns <= Now()) {
    cache_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void DnsResolver::Store(const std::string& key, Entry entry) {
  if (entry.expires_ns <= Now()) {
    cache_.erase(key);
    return;
  }
  if (cache_.size() >= options_.max_entries && !cache_.contains(key)) {
    // Full: drop what has expired; if nothing has, the entry that would
    // expire first (the least valuable to keep). O(entries), only when full.
    int64_t now = Now();
    absl::erase_if(cache_, [now](const auto& kv) { return kv.second.expires_ns <= now; });
    if (cache_.size() >= options_.max_entries) {
      auto soonest = std::min_element(
          cache_.begin(), cache_.end(),
          [](const auto& a, const auto& b) { return a.second.expires_ns < b.second.expires_ns; });
      cache_.erase(soonest);
    }
  }
  cache_.insert_or_assign(key, std::move(entry));
}

void DnsResolver::QueueReady(Lookup* lookup, Result result) {
  lookup->query_ = nullptr;
  lookup->result_ = std::move(result);
  ready_.push_back(lookup);
  ring_.timers().Arm(&deliver_timer_, kNow);
}

void DnsResolver::DeliverReady() {
  // One at a time from the front: a `done` may cancel lookups still queued
  // (destroying their owner) or queue new ones.
  while (!ready_.empty()) {
    Lookup* lookup = ready_.front();
    ready_.erase(ready_.begin());
    lookup->resolver_ = nullptr;
    Done done = std::move(lookup->done_);
    Result result = std::move(*lookup->result_);
    lookup->result_.reset();
    done(std::move(result));  // may destroy `lookup`
  }
}

void DnsResolver::AddrinfoCallback(void* arg, int status, int, ares_addrinfo* info) {
  auto* query = static_cast<Query*>(arg);
  query->resolver->Finish(query, status, info);
  if (info != nullptr) ares_freeaddrinfo(info);
}

void DnsResolver::Finish(Query* query, int status, ares_addrinfo* info) {
  if (destroying_) return;  // the destructor frees the query
  Entry entry;
  int64_t now = Now();
  if (status == ARES_SUCCESS && info != nullptr && info->nodes != nullptr) {
    for (const ares_addrinfo_node* node = info->nodes; node != nullptr; node = node->ai_next) {
      Address address = Address::FromSockaddr(node->ai_addr, node->ai_addrlen);
      if (address.valid()) entry.addresses.push_back(address);
    }
    std::stable_partition(entry.addresses.begin(), entry.addresses.end(),
                          [](const Address& a) { return a.family() == AF_INET; });
    int64_t ttl = std::clamp<int64_t>(AnswerTtl(info), options_.min_ttl_s, options_.max_ttl_s);
    entry.expires_ns = now + ttl * 1'000'000'000;
  }
  if (entry.addresses.empty()) {
    ++stats_.failures;
    if (status == ARES_SUCCESS) status = ARES_ENODATA;
    entry.error = LookupError(query->name, status);
    // Only "this name has no address" is a fact worth remembering; a time-out
    // or a server failure is retried by the next lookup.
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
      entry.expires_ns = now + int64_t{options_.negative_ttl_s} * 1'000'000'000;
    }
  }
  for (Lookup* lookup : query->waiters) {
    QueueReady(lookup,
               entry.error.ok() ? WithPort(entry.addresses, lookup->port_) : Result(entry.error));
  }
  Store(query->name, std::move(entry));
  queries_.erase(queries_.find(query->name));  // frees `query`
}

void DnsResolver::Process(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  ArmTimeout();
}

void DnsResolver::ArmTimeout() {
  timeval tv{};
  timeval* next = ares_timeout(channel_, nullptr, &tv);
  if (next == nullptr) {
    ring_.timers().Cancel(&timeout_timer_);
    return;
  }
  int64_t in_ns = int64_t{next->tv_sec} * 1'000'000'000 + int64_t{next->tv_usec} * 1000;
  ring_.timers().Arm(&timeout_timer_, core::NowNs() + in_ns + kTimeoutSlackNs);
}

void DnsResolver::SocketStateCallback(void* data, int fd, int readable, int writable) {
  static_cast<DnsResolver*>(data)->OnSocketState(fd, readable != 0, writable != 0);
}

void DnsResolver::OnSocketState(int fd, bool readable, bool writable) {
  uint32_t mask = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);
  auto it = watches_.find(fd);
  if (mask == 0) {
    // c-ares is about to close the socket.
    if (it == watches_.end()) return;
    Watch* watch = it->second;
    watches_.erase(it);
    watch->Orphan();
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, new Watch(this, fd)).first;
  it->second->Want(mask);
}

}  // namespace icaht::net
