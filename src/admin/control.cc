#include "admin/control.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "admin/admin_peers.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "net/stream.h"
#include "registry/service_record.h"
#include "registry/state_file.h"

namespace icaht::admin {
namespace {

// How long start-up waits for a predecessor that is still exiting (its state
// lock, its ops port): a killed daemon lets go within milliseconds, and a
// start-up that fails for good must still end within a second.
constexpr int kLockWaitMs = 400;
// Every signal the daemon acts on or must survive. Their default action would
// end the process at once (no drain, no final save); a package manager,
// logrotate or an operator may send any of them.
sigset_t HandledSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&mask, sig);
  return mask;
}

}  // namespace

void NotifySystemd(std::string_view state) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof addr.sun_path) return;
  memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
         offsetof(sockaddr_un, sun_path) + len);
  close(fd);
}

// Reads the handled signals (HandledSignals) from a signalfd through the
// control ring.
class Control::SignalRead final : public core::Completion {
 public:
  SignalRead(Control* control, core::Ring& ring, int fd)
      : control_(control), ring_(ring), fd_(fd) {}
  ~SignalRead() { close(fd_); }
  void Arm() {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_read(sqe, fd_, &info_, sizeof info_, 0);
    io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(this));
  }
  void Complete(int res, uint32_t) override {
    if (res == static_cast<int>(sizeof info_))
      control_->OnSignal(static_cast<int>(info_.ssi_signo));
    Arm();
  }

 private:
  Control* control_;
  core::Ring& ring_;
  int fd_;
  signalfd_siginfo info_{};
};

Control::Control(config::DaemonConfig config)
    : config_(std::move(config)),
      registry_(registry::PortAllocator(config_.port_range.lo, config_.port_range.hi,
                                        registry::HostPortProbe(config_.bind_address)),
                config_.bind_address),
      share_timer_([this] { CollectDemand(); }),
      outlier_timer_([this] { CollectOutliers(); }),
      ttl_timer_([this] { ExpireTtls(); }),
      bind_retry_timer_([this] { RetryBinds(); }),
      traefik_timer_([this] { WriteTraefikFile(); }) {}

Control::~Control() = default;

absl::Status Control::Start() {
  absl::Status status = Open();
  if (!status.ok()) AbortStart();
  return status;
}

absl::Status Control::Open() {
  // Signals are read through a signalfd; block them before any thread starts
  // so every thread inherits the mask.
  sigset_t mask = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // What can fail for a reason the user must fix (the state directory, another
  // daemon, a taken port) is tried before any shard thread exists; a failure
  // after that (a static service) stops the shards again (AbortStart).
  std::error_code ec;
  std::filesystem::create_directories(config_.state_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("state directory ", config_.state_dir, ": ", ec.message()));
  }
  ICAHT_ASSIGN_OR_RETURN(state_lock_, registry::LockStateDir(config_.state_dir, kLockWaitMs));

  absl::StatusOr<std::unique_ptr<core::Ring>> ring = core::Ring::Create(256);
  if (!ring.ok()) return ring.status();
  ring_ = std::move(*ring);
  store_ = std::make_unique<StateStore>(*ring_, config_.state_dir);
  absl::StatusOr<std::unique_ptr<core::BufRing>> bufs = core::BufRing::Create(*ring_, 0, 64, 16384);
  if (!bufs.ok()) return bufs.status();
  bufs_ = std::move(*bufs);
  ring_->set_before_submit(&net::Stream::FlushQueued);
  health_ = std::make_unique<HealthChecker>(
      *ring_, *bufs_,
      HealthChecker::Callbacks{
          .on_change =
              [this](const std::string& name, uint16_t port, std::vector<net::Address> unhealthy) {
                OnHealthChange(name, port, std::move(unhealthy));
              },
          .on_deregister = [this](const std::string& name) { Deregister(name, nullptr); },
          .upstream_tls = [this](
                              const std::string& name, const net::Address& address,
                              proxy::ClientCallSpec* spec) { SetUpstreamTls(name, address, spec); },
      });
  keys_ = std::make_unique<AuthKeyStore>(*ring_, *bufs_,
                                         [this](const std::string& name) { RefreshService(name); });
  HostIdentity host{config_.tls_cert, config_.tls_key, config_.tls_ca};
  ICAHT_RETURN_IF_ERROR(host.Check());
  tls_ = std::make_unique<TlsStore>(*ring_, std::move(host),
                                    [this](const std::string& name) { RefreshService(name); });
  tls_->set_lookup([this](const std::string& name) { return registry_.Find(name); });

  absl::StatusOr<net::Fd> admin_fd =
      net::ListenUnix(config_.admin_socket, 0660,
                      config_.admin_group ? static_cast<int>(*config_.admin_group) : -1);
  if (!admin_fd.ok()) {
    return absl::Status(admin_fd.status().code(),
                        absl::StrCat("admin socket: ", admin_fd.status().message()));
  }
  struct stat st;
  if (stat(config_.admin_socket.c_str(), &st) == 0) admin_socket_id_ = {st.st_dev, st.st_ino};
  absl::StatusOr<net::Fd> ops_fd = ListenRetrying(config_.ops_listen);
  if (!ops_fd.ok()) {
    return absl::Status(ops_fd.status().code(),
                        absl::StrCat("ops listener: ", ops_fd.status().message()));
  }

  ICAHT_RETURN_IF_ERROR(OpenAccessLog());

  // Shards go on the CPUs we may run on (taskset, cgroup cpusets), in order.
  std::vector<int> cpus;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(-1);  // unknown: leave placement to the kernel
  // Each shard holds a listener per service: use the whole fd allowance.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  // Keep descriptors for this thread when service traffic exhausts the rest,
  // so the admin socket and ops /health still answer: the shards stop short of
  // the limit by this much (a computed budget rather than nginx's spare fd
  // released at EMFILE: that spare goes to whichever thread's accept runs
  // first, and the shards retry accepting every 100 ms). What this thread
  // holds is bounded by the two listeners' caps (every connection, even one
  // closing, is counted) plus a few short-lived ones (port probe, state file).
  proxy::ShardProxy::SetFdReserve(2 * static_cast<int>(config_.control_max_connections) + 16);
  if (!config_.trace_endpoint.empty()) {
    ICAHT_ASSIGN_OR_RETURN(
        traces_, TraceExporter::Create(*ring_, *bufs_, config_.trace_endpoint,
                                       [this](auto done) { CollectSpans(std::move(done)); }));
  }
  if (!config_.etcd_endpoints.empty()) {
    ICAHT_ASSIGN_OR_RETURN(
        etcd_, EtcdPublisher::Create(
                   *ring_, *bufs_, config_.etcd_endpoints,
                   {.host_id = config_.host_id.value_or(0), .advertise_host = AdvertiseHost()},
                   config_.etcd_lease_ttl_s,
                   [this](const std::string& name) { return registry_.Find(name); },
                   [this] {
                     std::vector<std::string> names;
                     for (const registry::ServiceRecord* record : registry_.List()) {
                       names.push_back(record->name);
                     }
                     return names;
                   }));
  }
  const size_t span_capacity = traces_ != nullptr ? kShardSpanCapacity : 0;
  for (uint32_t i = 0; i < config_.shards; ++i) {
    absl::StatusOr<std::unique_ptr<proxy::Shard>> shard =
        proxy::Shard::Start(static_cast<int>(i), cpus[i % cpus.size()], span_capacity);
    if (!shard.ok()) return shard.status();
    shards_.push_back(std::move(*shard));
  }
  std::vector<proxy::Shard*> all;
  for (const auto& shard : shards_) all.push_back(shard.get());
  Broadcast(  // before any service: the shards take messages in order
      [&all](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::SetSiblingsCommand(shard, all, std::move(d));
      },
      [](absl::Status) {});
  SendAccessLog();
  ICAHT_RETURN_IF_ERROR(StartEgress());
  if (traces_ != nullptr) traces_->Start();

  // Admin calls answer 503 until the static and restored services are all in:
  // a list from the middle would look like lost registrations.
  starting_ = true;
  AdminPeerPolicy policy{.daemon_uid = geteuid(),
                         .daemon_gid = getegid(),
                         .allow_uids = config_.admin_allow_uids,
                         .allow_gids = config_.admin_allow_gids};
  if (config_.admin_group) policy.admin_group = static_cast<gid_t>(*config_.admin_group);
  admin_ = std::make_unique<ControlHttpServer>(
      *ring_, *bufs_, std::move(*admin_fd),
      [this](const ControlRequest& request, Responder* responder) {
        HandleAdmin(request, responder);
      },
      Limits("admin socket"),
      [policy](int fd) -> std::string {
        std::string refusal = CheckAdminPeer(fd, policy);
        if (!refusal.empty()) ICAHT_LOG_LIMITED(kWarn, "admin socket: refused ", refusal);
        return refusal;
      });
  admin_->Start();
  ops_ = std::make_unique<ControlHttpServer>(
      *ring_, *bufs_, std::move(*ops_fd),
      [this](const ControlRequest& request, Responder* responder) {
        HandleOps(request, responder);
      },
      Limits("ops listener"));
  ops_->Start();

  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return absl::InternalError("signalfd failed");
  signals_ = std::make_unique<SignalRead>(this, *ring_, sfd);
  signals_->Arm();

  // Static services go through the same path as admin registrations.
  absl::Status static_status;
  size_t pending = config_.services.size();
  for (registry::ServiceRecord& record : config_.services) {
    std::string name = record.name;
    static_names_.insert(name);
    Enqueue([this, record = std::move(record), name, &static_status,
             &pending](std::function<void()> done) mutable {
      Apply(std::move(record), [&, name, done](absl::StatusOr<registry::ServiceRecord> result) {
        if (!result.ok() && static_status.ok()) {
          static_status = absl::Status(
              result.status().code(),
              absl::StrCat("static service '", name, "': ", result.status().message()));
        }
        --pending;
        done();
      });
    });
  }
  while (pending > 0) ring_->RunOnce(100'000'000);
  if (!static_status.ok()) return static_status;
  Restore();
  starting_ = false;

  WriteTraefikFile();  // before READY=1: Traefik finds every service
  // etcd may be away: publishing starts now and never holds up READY=1.
  if (etcd_ != nullptr) etcd_->Start();
  if (remote_watch_ != nullptr) remote_watch_->Start();
  ready_ = true;
  NotifySystemd("READY=1\nSTATUS=serving");
  if (int64_t interval = Watchdog::IntervalFromEnv(); interval > 0) {
    watchdog_ = std::make_unique<Watchdog>(
        *ring_, shards_.size(), interval,
        [this](size_t i, std::function<void()> answered) {
          auto* ping = new proxy::PingShardCommand(shards_[i].get(),
                                                   [answered](const absl::Status&) { answered(); });
          ping->Post(*ring_, shards_[i]->ring_fd());
        },
        [](std::string_view state) { NotifySystemd(state); });
    watchdog_->Start();
  }
  ICAHT_LOG(kInfo, "serving: ", shards_.size(), " shards, admin socket ", config_.admin_socket,
            ", ops ", config_.ops_listen.ToString(), ", egress ", egress_address_, ", ",
            registry_.size(), " services");
  return absl::OkStatus();
}

absl::StatusOr<net::Fd> Control::ListenRetrying(const net::Address& address) {
  // EADDRINUSE may be our own predecessor: after a kill -9 its listeners live
  // on for a few milliseconds while the kernel tears down its io_uring (which
  // holds them). We hold the state lock, so a short retry is enough for that
  // and still ends well within a second for a port another program holds.
  int64_t deadline = core::NowNs() + int64_t{kLockWaitMs} * 1'000'000;
  while (true) {
    absl::StatusOr<net::Fd> fd = net::ListenTcp(address, {});
    if (fd.ok() || fd.status().code() != absl::StatusCode::kAlreadyExists ||
        core::NowNs() >= deadline) {
      return fd;
    }
    timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
  }
}

void Control::AbortStart() {
  // The caller prints the one line that says why; the shards' exit reports
  // (info) would only bury it.
  core::SetLogLevel(core::LogLevel::kError);
  if (admin_) admin_->Stop();
  if (ops_) ops_->Stop();
  if (!shards_.empty()) {
    // Nothing is queued (every start-up step ran to its end): stop the shards
    // directly and wait for them, so that the process can exit.
    size_t pending = shards_.size();
    Broadcast(
        [](proxy::Shard* shard, proxy::ShardCommand::Done d) {
          return new proxy::StopShardCommand(shard, std::move(d));
        },
        [&pending](absl::Status) { pending = 0; });
    while (pending > 0) ring_->RunOnce(100'000'000);
    for (auto& shard : shards_) shard->Join();
  }
  if (ring_) CloseControlConnections();
  RemoveAdminSocket();
}

void Control::RemoveAdminSocket() {
  // Only the file we bound: a daemon started after us on the same path (with
  // another state directory) may have replaced it.
  if (admin_socket_id_.first == 0 && admin_socket_id_.second == 0) return;
  struct stat st;
  if (stat(config_.admin_socket.c_str(), &st) == 0 && st.st_dev == admin_socket_id_.first &&
      st.st_ino == admin_socket_id_.second) {
    unlink(config_.admin_socket.c_str());
  }
  admin_socket_id_ = {0, 0};
}

ControlLimits Control::Limits(std::string name) const {
  return ControlLimits{.name = std::move(name),
                       .max_connections = config_.control_max_connections,
                       .header_timeout_ms = config_.control_header_timeout_ms,
                       .idle_timeout_ms = config_.control_idle_timeout_ms};
}

void Control::Run() {
  while (!stopped_) ring_->RunOnce(1'000'000'000);
  CloseControlConnections();
  RemoveAdminSocket();
}

void Control::CloseControlConnections() {
  // Admin and ops connections still open: abort them and let them free.
  if (admin_) admin_->CloseConnections();
  if (ops_) ops_->CloseConnections();
  net::Stream::CloseAll();
  int64_t deadline = core::NowNs() + 1'000'000'000;
  while (net::Stream::live_count() > 0 && core::NowNs() < deadline) ring_->RunOnce(10'000'000);
}

std::vector<const registry::ServiceRecord*> Control::PersistedRecords() const {
  std::vector<const registry::ServiceRecord*> records;
  for (const registry::ServiceRecord* record : registry_.List()) {
    if (!static_names_.contains(record->name)) records.push_back(record);
  }
  return records;
}

void Control::WriteState() {
  if (persist_) store_->Compact(PersistedRecords());
}

void Control::MaybeCompact() {
  if (persist_ && store_->wants_compaction(registry_.size())) store_->Compact(PersistedRecords());
}

void Control::Restore() {
  absl::StatusOr<StateStore::Loaded> loaded = store_->Load();
  if (!loaded.ok()) {
    // The journal cannot be opened: serve without persistence rather than not
    // at all, loudly.
    ICAHT_LOG(kError, "registrations will not be saved: ", std::string(loaded.status().message()));
    return;
  }
  for (const std::string& problem : loaded->problems) ICAHT_LOG(kError, problem);
  registry::SavedServices& saved = loaded->saved;
  size_t refused = saved.refused.size();
  for (const registry::RefusedRecord& r : saved.refused) {
    ICAHT_LOG(kError, "not restoring saved services[", r.index, "]",
              r.name.empty() ? std::string() : absl::StrCat(" ('", r.name, "')"), ": ",
              std::string(r.reason.message()));
  }
  size_t pending = 0;
  size_t restored = 0;
  for (registry::ServiceRecord& record : saved.records) {
    if (static_names_.contains(record.name)) continue;  // the config file wins
    ++pending;
    Enqueue([this, record = std::move(record), &pending, &restored,
             &refused](std::function<void()> done) mutable {
      std::string name = record.name;
      RestoreOne(std::move(record), [&, name, done](absl::Status status) {
        if (status.ok()) {
          ++restored;
        } else {
          ++refused;
          ICAHT_LOG(kError, "not restoring saved service '", name,
                    "': ", std::string(status.message()));
        }
        --pending;
        done();
      });
    });
  }
  while (pending > 0) ring_->RunOnce(100'000'000);
  if (refused > 0) {
    // The snapshot written next drops the refused records and empties the
    // journal: keep both as they were.
    absl::StatusOr<std::string> aside = registry::SetAside(store_->snapshot_path(), /*move=*/false);
    absl::StatusOr<std::string> journal = store_->KeepJournalCopy();
    ICAHT_LOG(kError, refused, " saved registrations not restored; the saved files are kept as ",
              aside.ok() ? *aside : std::string(aside.status().message()), " and ",
              journal.ok() ? *journal : std::string(journal.status().message()));
  }
  // What is registered now, as one snapshot; the journal starts empty.
  persist_ = true;
  WriteState();
  if (restored > 0) {
    ICAHT_LOG(kInfo, "restored ", restored, " saved registrations",
              unbound_.empty() ? std::string()
                               : absl::StrCat(" (", unbound_.size(), " not serving yet)"));
  }
}

void Control::RestoreOne(registry::ServiceRecord record, std::function<void(absl::Status)> done) {
  // The saved port is kept even when another process holds it now (no probe):
  // the service stays registered and the port is bound when it frees up.
  if (absl::Status files = LoadFiles(record); !files.ok()) return done(files);
  absl::StatusOr<uint16_t> port = registry_.ReservePort(record, 0, /*restoring=*/true);
  if (!port.ok()) return done(port.status());
  record.port = *port;
  // Acknowledged once, kept: a loop saved by an older build (which let a new
  // service take a port another one sent to) is reported, not dropped.
  if (absl::Status loop = registry_.CheckNoSelfLoop(record); !loop.ok()) {
    ICAHT_LOG(kWarn, "restored service '", record.name, "': ", std::string(loop.message()));
  }
  auto shared = std::make_shared<const registry::ServiceRecord>(std::move(record));
  OpenOnShards(shared, [this, shared, done](absl::Status status) {
    CommitRecord(*shared);
    if (!status.ok()) {
      unbound_.insert(shared->name);
      ICAHT_LOG(kWarn, "service '", shared->name, "': ", std::string(status.message()),
                ": kept registered but not serving; binding port ", shared->port, " again every ",
                kBindRetryMs, " ms");
      ArmBindRetry();
    }
    done(absl::OkStatus());
  });
}

void Control::OpenOnShards(std::shared_ptr<const registry::ServiceRecord> record,
                           std::function<void(absl::Status)> done) {
  Broadcast(UpsertOnShards(record), [this, record, done](absl::Status status) {
    if (status.ok()) return done(status);
    // Some shard could not bind: undo on all of them (a port served by some
    // shards only would drop the connections the kernel gives the others).
    uint16_t port = record->port;
    Broadcast(
        [port](proxy::Shard* shard, proxy::ShardCommand::Done d) {
          return new proxy::RemoveServiceCommand(shard, port, std::move(d));
        },
        [status, done](absl::Status) { done(status); });
  });
}

void Control::CommitRecord(const registry::ServiceRecord& record) {
  if (record.ttl_s > 0) {
    last_heartbeat_ns_[record.name] = core::NowNs();
    if (!ttl_timer_.armed()) ring_->timers().Arm(&ttl_timer_, core::NowNs() + 1'000'000'000);
  }
  registry_.Commit(record);
  health_->Update(record);
  UpdateOutliers(record);
  if (!record.rate_limits.empty()) {
    rate_limited_.insert(record.name);
    ArmShareTimer();
  } else {
    rate_limited_.erase(record.name);
  }
  if (persist_ && !static_names_.contains(record.name)) {
    store_->Put(record);
    MaybeCompact();
  }
  TraefikChanged(record.name);
}

void Control::OnSignal(int sig) {
  switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
      ICAHT_LOG(kInfo, "signal ", sig, " (", strsignal(sig), "): draining and stopping");
      return BeginShutdown();
    case SIGHUP:
      ICAHT_LOG_LIMITED(kInfo, "SIGHUP: reloading the configuration");
      return Reload([](const absl::StatusOr<ReloadResult>&) {});  // Reload logs the outcome
    case SIGUSR1:
      return ReopenAccessLog();
    default:
      ICAHT_LOG_LIMITED(kWarn, "signal ", sig, " (", strsignal(sig),
                        "): not supported yet; ignored");
      return;
  }
}

void Control::BeginShutdown() {
  if (stopping_) return;
  stopping_ = true;
  ready_ = false;
  health_->Stop();
  keys_->Stop();
  tls_->Stop();
  ring_->timers().Cancel(&share_timer_);
  ring_->timers().Cancel(&outlier_timer_);
  ring_->timers().Cancel(&bind_retry_timer_);
  ring_->timers().Cancel(&ttl_timer_);
  NotifySystemd("STOPPING=1");
  if (etcd_ != nullptr) etcd_->Stop();  // Traefik stops routing here while we drain
  if (remote_watch_ != nullptr) remote_watch_->Stop();
  if (watchdog_) watchdog_->Stop();
  admin_->Stop();
  // Queued behind any change in flight, so no shard gets a message after it stopped.
  Enqueue([this](std::function<void()> done) {
    // The shards hand over the spans of their last exchanges as they stop.
    TraceExporter::Harvests spans;
    for (size_t i = 0; i < shards_.size(); ++i) {
      spans.push_back(std::make_shared<tracing::SpanBuffer::Harvest>());
    }
    Broadcast(
        [&spans](proxy::Shard* shard, proxy::ShardCommand::Done d) {
          return new proxy::StopShardCommand(shard, std::move(d), spans[shard->index()]);
        },
        [this, done, spans](absl::Status) {
          WriteState();
          for (auto& shard : shards_) shard->Join();
          auto finish = [this, done] {
            auto end = [this, done] {
              stopped_ = true;
              done();
            };
            if (etcd_ == nullptr) return end();
            etcd_->AfterStop(end);
          };
          if (traces_ == nullptr) return finish();
          traces_->Flush(spans, finish);
        });
  });
}

}  // namespace icaht::admin
