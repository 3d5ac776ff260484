#include "proxy/shard_proxy.h"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "proxy/http_client.h"
#include "proxy/http_connection.h"

namespace icaht::proxy {
namespace {
// 1 MiB pipes halve the splice count of a 64 KiB pipe's; 64 of them stay
// below the default per-user pipe page budget (pipe-user-pages-soft).
constexpr size_t kMaxPipes = 32;
constexpr size_t kPipeBytes = 1 << 20;
// Pause after a listener met the fd limit. Short, so a freed descriptor is
// used soon; long enough that a daemon held at its limit stays idle.
constexpr int64_t kAcceptBackoffMs = 100;

std::atomic<int> g_fd_reserve{0};

uint64_t SoftFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return limit.rlim_cur;
}
}  // namespace

ShardService::ShardService(ShardProxy* proxy, std::unique_ptr<ServiceConfig> config)
    : proxy(proxy),
      notify_granted([this] { NotifyGranted(); }),
      accept_backoff([this] { this->proxy->ResumeAccept(this); }) {
  // The control thread gives every config of a service the same series; a
  // config built without one (tests) gets its own.
  series = config->series != nullptr
               ? config->series
               : std::make_shared<metrics::ServiceSeries>(config->name, proxy->index() + 1);
  SetConfig(std::move(config));
}

void ShardService::SetConfig(std::unique_ptr<ServiceConfig> next) {
  // The mirror is built here, the chain at the config's first exchange
  // (ChainFor), once per config on this shard, never per request.
  SetCache(*next);
  if (next->egress != nullptr) BuildEgress(*next->egress);
  BuildRoutes(*next);
  if (next->mirror_spec && next->mirror == nullptr) {
    next->mirror = std::make_unique<Mirror>(*next->mirror_spec, proxy, series, proxy->index());
  }
  balancer.Reset(next->lb_policy, next->upstreams);
  upstream_down.assign(next->upstreams.size(), false);
  upstream_active.assign(next->upstreams.size(), 0);
  const size_t n = next->upstreams.size();
  upstream_unhealthy.resize(n);
  upstream_ejected.resize(n);
  for (size_t i = 0; i < n; ++i) {
    upstream_unhealthy[i] = !next->upstreams[i].healthy;
    upstream_ejected[i] = next->upstreams[i].ejected;
  }
  // Outlier counts follow their instance's address across the swap (a record
  // update or key refresh must not forget failures in a row).
  std::vector<InstanceOutcomes> kept(next->outlier ? n : 0);
  for (size_t i = 0; i < kept.size() && config != nullptr; ++i) {
    for (size_t j = 0; j < outcomes.size() && j < config->upstreams.size(); ++j) {
      if (config->upstreams[j].address == next->upstreams[i].address) kept[i] = outcomes[j];
    }
  }
  outcomes = std::move(kept);
  if (next->circuit_breaker) {
    breaker.SetLimits(*next->circuit_breaker, std::max<size_t>(1, next->filters().shard_count));
  } else {
    breaker.Disable();
  }
  config = std::move(next);
  RecomputeOut();
  // New limits (or none) may let waiters in.
  GrantSlots(breaker.GrantNext());
}

void ShardService::ReleaseConnectionSlot() { GrantSlots(breaker.ReleaseConnection()); }

void ShardService::GrantSlots(CircuitBreaker::Waiter* first) {
  for (CircuitBreaker::Waiter* w = first; w != nullptr; w = breaker.GrantNext()) {
    granted.push_back(w);
  }
  if (!granted.empty()) notify_granted.Post();
  PublishBreakerGauges();
}

void ShardService::PublishBreakerGauges() {
  // Zeros need no block of their own (an idle service has none).
  if (breaker.requests() == 0 && breaker.pending() == 0 &&
      series->shard_if_made(proxy->index()) == nullptr) {
    return;
  }
  metrics::ShardSeries& s = series->shard(proxy->index());
  s.upstream_requests.Set(breaker.requests());
  s.upstream_pending.Set(breaker.pending());
}

void ShardService::NotifyGranted() {
  // One at a time from the front: a waiter told may end another still here,
  // or end its connection, the last of a service being removed (which then
  // waits for this loop to return before it is freed).
  notifying = true;
  while (!granted.empty()) {
    CircuitBreaker::Waiter* waiter = granted.front();
    granted.erase(granted.begin());
    waiter->OnConnectionSlot();
  }
  notifying = false;
  proxy->MaybeFreeService(this);  // may delete this: the last statement
}

void ShardService::CancelSlotWait(CircuitBreaker::Waiter* waiter) {
  auto it = std::find(granted.begin(), granted.end(), waiter);
  if (it == granted.end()) {
    breaker.CancelWait(waiter);
    return PublishBreakerGauges();
  }
  granted.erase(it);
  ReleaseConnectionSlot();
}

void ShardService::SetUnhealthy(const std::vector<net::Address>& unhealthy) {
  for (size_t i = 0; i < config->upstreams.size(); ++i) {
    const net::Address& address = config->upstreams[i].address;
    upstream_unhealthy[i] =
        std::find(unhealthy.begin(), unhealthy.end(), address) != unhealthy.end();
  }
  RecomputeOut();
}

void ShardService::SetEjected(const std::vector<net::Address>& ejected) {
  for (size_t i = 0; i < config->upstreams.size(); ++i) {
    const net::Address& address = config->upstreams[i].address;
    upstream_ejected[i] = std::find(ejected.begin(), ejected.end(), address) != ejected.end();
  }
  RecomputeOut();
}

void ShardService::RecomputeOut() {
  const size_t n = config->upstreams.size();
  upstream_out.assign(n, false);
  size_t usable = 0;
  for (size_t i = 0; i < n; ++i) {
    upstream_out[i] = upstream_unhealthy[i] || upstream_ejected[i];
    usable += upstream_out[i] ? 0 : 1;
  }
  // Panic: too few left to carry the load, so every instance is used again
  // (Envoy's healthy_panic_threshold; only with outlier_detection).
  if (config->outlier && usable * 100 < size_t{config->outlier->panic_threshold_percent} * n) {
    upstream_out.assign(n, false);
  }
  RecomputeSubsetOut();
}

void ShardService::RecordAttempt(const ServiceConfig* from, int index, AttemptResult result) {
  if (!Current(from) || index < 0 || static_cast<size_t>(index) >= outcomes.size()) return;
  const filters::OutlierSpec& spec = *config->outlier;
  InstanceOutcomes& o = outcomes[index];
  ++o.attempts;
  if (result == AttemptResult::kSuccess) {
    ++o.successes;
    o.in_a_row_5xx = o.in_a_row_gateway = 0;
    return;
  }
  // A trip is reported once per run of failures (the count starts over).
  if (++o.in_a_row_5xx == spec.consecutive_5xx) {
    ++o.trips_5xx;
    o.in_a_row_5xx = 0;
  }
  if (result == AttemptResult::kGatewayError) {
    if (++o.in_a_row_gateway == spec.consecutive_gateway_errors) {
      ++o.trips_gateway;
      o.in_a_row_gateway = 0;
    }
  } else {
    o.in_a_row_gateway = 0;
  }
}

void ShardService::ReportUpstream(const ServiceConfig* from, int index, bool ok) {
  if (!Current(from) || index < 0 || static_cast<size_t>(index) >= upstream_down.size()) {
    return;
  }
  upstream_down[index] = !ok;
}

std::string ShardService::upstream_address(size_t i) const {
  return config->upstreams[i].address.ToString();
}

void ShardProxy::SetFdReserve(int fds) { g_fd_reserve.store(fds, std::memory_order_relaxed); }

void ShardService::Complete(int res, uint32_t flags) { proxy->OnAccept(this, res, flags); }

ShardProxy::ShardProxy(core::Ring& ring, core::BufRing& bufs, int index,
                       core::BufRing* tls_upstream_bufs)
    : ring_(ring),
      bufs_(bufs),
      tls_upstream_bufs_(tls_upstream_bufs != nullptr ? *tls_upstream_bufs : bufs),
      index_(index),
      pool_(ring),
      pipes_(kMaxPipes, kPipeBytes),
      fd_limit_(SoftFdLimit()),
      sweep_removed_([this] {
        std::vector<ShardService*> removed(removed_.begin(), removed_.end());
        for (ShardService* service : removed) MaybeFreeService(service);
      }) {}

ShardProxy::~ShardProxy() {
  if (stats_.bytes_spliced + stats_.bytes_copied > 0) {
    ICAHT_LOG(kInfo, "shard ", index_, ": bodies: ", stats_.bytes_spliced, " bytes spliced, ",
              stats_.bytes_copied, " bytes copied");
  }
  if (stats_.accepts_at_fd_limit > 0) {
    ICAHT_LOG(kInfo, "shard ", index_, ": ", stats_.accepts_at_fd_limit,
              " accepts met the fd limit (", stats_.accepts_over_fd_budget,
              " connections closed unserved to keep the control thread's reserve)");
  }
  if (ring_.wait_rounds() > 0) {
    ICAHT_LOG(kInfo, "shard ", index_, ": ", ring_.completions(), " completions in ",
              ring_.wait_rounds(), " waits");
  }
  for (auto& [port, service] : services_) delete service;
  for (ShardService* service : removed_) delete service;
}

filters::SideCall* ShardProxy::StartSideCall(filters::SideCallRequest request, Done done) {
  ClientCallSpec spec;
  spec.address = request.address;
  spec.request = std::move(request.bytes);
  spec.method = request.method;
  spec.timeout_ms = request.timeout_ms;
  spec.max_body_bytes = request.max_body_bytes;
  spec.discard_body = request.discard_body;
  return HttpClientCall::Start(ring_, bufs_, std::move(spec), std::move(done));
}

absl::Status ShardProxy::Upsert(std::unique_ptr<ServiceConfig> config) {
  auto it = services_.find(config->port);
  if (it != services_.end()) {
    it->second->SetConfig(std::move(config));
    return absl::OkStatus();
  }
  net::Address bind = config->bind;
  bind.set_port(config->port);
  absl::StatusOr<net::Fd> listener = net::ListenTcp(bind, {.reuse_port = true});
  if (!listener.ok()) return listener.status();
  auto* service = new ShardService(this, std::move(config));
  service->listener = std::move(*listener);
  services_[service->config->port] = service;
  by_name_[service->config->name] = service;
  ArmAccept(service);
  return absl::OkStatus();
}

absl::Status ShardProxy::StartEgress(int fd, std::unique_ptr<ServiceConfig> config,
                                     EgressSettings settings, metrics::EgressSeries* series) {
  net::Fd listener(fd);
  if (egress_ != nullptr || services_.contains(config->port)) {
    return absl::AlreadyExistsError("the egress listener's port is in use on this shard");
  }
  egress_settings_ = std::move(settings);
  egress_series_ = series;
  egress_ = new ShardService(this, std::move(config));
  egress_->listener = std::move(listener);
  services_[egress_->config->port] = egress_;
  ArmAccept(egress_);
  return absl::OkStatus();
}

EgressRoute ShardProxy::RouteEgress(const http::RequestHead& head) {
  EgressRoute route;
  // The caller names itself (x-icaht-caller); only a service of this host
  // counts as one, so the label set stays bounded.
  std::string_view caller = "unknown";
  for (const http::Header& h : head.headers) {
    if (!http::EqualsIgnoreCase(h.name, "x-icaht-caller")) continue;
    if (by_name_.contains(absl::string_view(h.value.data(), h.value.size()))) caller = h.value;
    break;
  }
  auto refuse = [&](int status, std::string_view code, std::string_view message,
                    std::string_view destination, std::string_view label) {
    route.status = status;
    route.body = EgressErrorBody(code, message, destination);
    if (egress_series_ != nullptr) route.metrics = &egress_series_->Find(caller, label);
    return std::move(route);
  };
  auto read = ReadEgressTarget(head, egress_settings_.suffix);
  if (auto* refusal = std::get_if<EgressRefusal>(&read)) {
    return refuse(refusal->status, refusal->code, refusal->message, "", "refused");
  }
  route.target = std::move(std::get<EgressTarget>(read));
  const EgressTarget& t = route.target;
  if (t.kind != EgressTarget::Kind::kExternal) {
    // This host's instances first: a service here is reached without a hop.
    ShardService* service = nullptr;
    if (auto it = by_name_.find(t.host); it != by_name_.end()) {
      service = it->second;
    } else if (auto remote = remote_.find(t.host); remote != remote_.end()) {
      service = remote->second;
    }
    if (service != nullptr) {
      route.service = service;
      route.config = service->EgressConfig();
      if (egress_series_ != nullptr) route.metrics = &egress_series_->Find(caller, t.host);
      return route;
    }
  }
  const bool allowed = net::AnyMatches(egress_settings_.allow, t.host, t.port);
  if (t.kind == EgressTarget::Kind::kService ||
      (t.kind == EgressTarget::Kind::kName && !allowed && t.host.find('.') == std::string::npos &&
       t.host.find(':') == std::string::npos)) {
    return refuse(502, "unknown_service",
                  "no service named '" + t.host + "' is registered on this host or in the fleet",
                  t.host, "unknown");
  }
  if (!allowed) {
    return refuse(403, "destination_not_allowed",
                  "'" + t.host + "' is not an allowed external destination (--egress-allow)",
                  t.host, "refused");
  }
  return RouteExternal(std::move(route), caller);
}

void ShardProxy::SetRemote(std::vector<std::unique_ptr<ServiceConfig>> upserts,
                           const std::vector<std::string>& removed) {
  for (const std::string& name : removed) {
    auto it = remote_.find(name);
    if (it == remote_.end()) continue;
    ShardService* service = it->second;
    remote_.erase(it);
    Retire(service);
  }
  for (std::unique_ptr<ServiceConfig>& config : upserts) {
    auto [it, added] = remote_.try_emplace(config->name, nullptr);
    if (added) {
      it->second = new ShardService(this, std::move(config));
    } else {
      it->second->SetConfig(std::move(config));
    }
  }
}

ShardProxy::DemandReports ShardProxy::TakeDemandReports() {
  DemandReports out;
  for (ShardService* service : rate_limited_) {
    // Its current config may have no chain yet (no request yet, no demand)
    // or no limits any more.
    const filters::FilterChain* chain = service->config->chain.get();
    filters::RateLimitFilter* limiter = chain != nullptr ? chain->rate_limit() : nullptr;
    if (limiter == nullptr) continue;
    filters::DemandReport report = limiter->TakeDemandReport();
    if (report.entries.empty()) continue;
    out.services.emplace_back(service->config->port, service->config.get(), std::move(report));
  }
  return out;
}

void ShardProxy::ApplyShares(uint16_t port, const void* config,
                             const filters::ShareUpdate& update) {
  auto it = services_.find(port);
  if (it == services_.end() || it->second->config.get() != config) return;
  // A config with no chain yet starts with an equal share when it is built.
  const filters::FilterChain* chain = it->second->config->chain.get();
  if (filters::RateLimitFilter* limiter = chain != nullptr ? chain->rate_limit() : nullptr) {
    limiter->ApplyShares(update);
  }
}

void ShardProxy::SetUnhealthy(uint16_t port, const std::vector<net::Address>& unhealthy) {
  auto it = services_.find(port);
  if (it != services_.end()) it->second->SetUnhealthy(unhealthy);
}

void ShardProxy::SetEjected(uint16_t port, const std::vector<net::Address>& ejected) {
  auto it = services_.find(port);
  if (it != services_.end()) it->second->SetEjected(ejected);
}

std::vector<ShardProxy::OutlierReport> ShardProxy::TakeOutlierReports() {
  std::vector<OutlierReport> out;
  for (auto& [port, service] : services_) {
    if (service->outcomes.empty()) continue;
    OutlierReport report{port, {}};
    for (size_t i = 0; i < service->outcomes.size(); ++i) {
      ShardService::InstanceOutcomes& o = service->outcomes[i];
      if (o.attempts == 0) continue;
      report.instances.emplace_back(service->config->upstreams[i].address, o);
      // The runs in a row go on across reports; the rest starts over.
      o.attempts = o.successes = o.trips_5xx = o.trips_gateway = 0;
    }
    if (!report.instances.empty()) out.push_back(std::move(report));
  }
  return out;
}

void ShardProxy::ArmAccept(ShardService* service) {
  // The kernel takes the fd limit for this accept from RLIMIT_NOFILE now, at
  // prep time: judge the budget against the same value.
  fd_limit_ = SoftFdLimit();
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_multishot_accept(sqe, service->listener.get(), nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(service));
  service->accept_armed = true;
}

void ShardProxy::OnAccept(ShardService* service, int res, uint32_t flags) {
  bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) service->accept_armed = false;
  if (res >= 0 && OverFdBudget(res)) {
    // Serving it would leave the admin socket and the ops listener without a
    // descriptor: refuse it (the client sees a close, not a hang) and pause.
    close(res);
    ++stats_.accepts_over_fd_budget;
    ICAHT_LOG_LIMITED(kWarn, "shard ", index_, ": port ", service->config->port,
                      ": descriptors nearly exhausted (fd limit ", fd_limit_,
                      ", reserve for the admin socket and ops listener): closing new connections "
                      "and pausing accepts for ",
                      kAcceptBackoffMs, " ms");
    PauseAccept(service);
  } else if (res >= 0) {
    if (service->removing) {
      // Accepted in the instant before the cancel took effect: serve it, then close.
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    std::string ip = "unknown";
    if (getpeername(res, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
      ip = net::Address::FromSockaddr(reinterpret_cast<sockaddr*>(&peer), len).HostString();
    }
    net::SetNoDelay(res);
    auto* connection = new HttpConnection(this, service, res, std::move(ip));
    service->connections.insert(connection);
    service->series->shard(index_).active_connections.Add(1);
    connection->Start();
    if (service->removing) connection->Drain();
  } else if ((res == -EMFILE || res == -ENFILE) && !service->removing) {
    fd_limit_ = SoftFdLimit();  // lowered under us (prlimit) or raised since
    ICAHT_LOG_LIMITED(kWarn, "shard ", index_, ": accept on port ", service->config->port,
                      " failed: ", strerror(-res), " (fd limit ", fd_limit_,
                      "): pausing accepts for ", kAcceptBackoffMs, " ms");
    PauseAccept(service);
  } else if (res != -ECANCELED && !service->removing) {
    ICAHT_LOG_LIMITED(kWarn, "shard ", index_, ": accept on port ", service->config->port,
                      " failed: ", strerror(-res));
  }
  if (!service->accept_armed) {
    if (service->removing) {
      service->listener.Reset();
      if (service->on_listener_closed) {
        auto done = std::move(service->on_listener_closed);
        service->on_listener_closed = nullptr;
        done();
      }
      MaybeFreeService(service);
    } else if (!service->accept_paused) {
      ArmAccept(service);  // multishot ended: re-arm
    }
  }
}

bool ShardProxy::OverFdBudget(int fd) {
  uint64_t reserve = static_cast<uint64_t>(g_fd_reserve.load(std::memory_order_relaxed));
  if (reserve == 0) return false;
  // Descriptors are allocated lowest-first, so `fd` being N means 0..N-1 are
  // all in use: a cheap lower bound on the process's count, no syscall.
  auto over = [&] {
    return static_cast<uint64_t>(fd) + std::min(reserve, fd_limit_ / 4) >= fd_limit_;
  };
  if (!over()) return false;
  fd_limit_ = SoftFdLimit();  // may have been raised (prlimit) since we read it
  return over();
}

void ShardProxy::PauseAccept(ShardService* service) {
  ++stats_.accepts_at_fd_limit;
  if (service->accept_paused) return;
  service->accept_paused = true;
  if (service->accept_armed) {
    // The multishot accept is still armed (an over-budget connection): stop
    // it; its last completion (-ECANCELED) finds the listener paused.
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel(sqe, static_cast<core::Completion*>(service), 0);
    core::Ring::SetIgnored(sqe);
  }
  ring_.timers().Arm(&service->accept_backoff, core::NowNs() + kAcceptBackoffMs * 1'000'000);
}

void ShardProxy::ResumeAccept(ShardService* service) {
  service->accept_paused = false;
  if (!service->removing && !service->accept_armed) ArmAccept(service);
}

void ShardProxy::Remove(uint16_t port, std::function<void()> done) {
  auto it = services_.find(port);
  if (it == services_.end()) {
    done();
    return;
  }
  ShardService* service = it->second;
  services_.erase(it);
  rate_limited_.erase(service);
  if (auto named = by_name_.find(service->config->name);
      named != by_name_.end() && named->second == service) {
    by_name_.erase(named);
  }
  if (service == egress_) egress_ = nullptr;
  removed_.insert(service);
  service->removing = true;
  ring_.timers().Cancel(&service->accept_backoff);
  service->on_listener_closed = std::move(done);
  if (service->accept_armed) {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel(sqe, static_cast<core::Completion*>(service), 0);
    core::Ring::SetIgnored(sqe);
    io_uring_submit(ring_.raw());  // the admin call waits on this
  } else {
    service->listener.Reset();
    auto cb = std::move(service->on_listener_closed);
    service->on_listener_closed = nullptr;
    cb();
  }
  // Idle keep-alive connections close now; busy ones after their response.
  std::vector<HttpConnection*> connections(service->connections.begin(),
                                           service->connections.end());
  for (HttpConnection* connection : connections) connection->Drain();
  if (!service->connections.empty()) {
    service->drain_timer = std::make_unique<core::Timer>([service] {
      std::vector<HttpConnection*> left(service->connections.begin(), service->connections.end());
      for (HttpConnection* connection : left) connection->Abort();
    });
    ring_.timers().Arm(service->drain_timer.get(),
                       core::NowNs() + int64_t{service->config->drain_timeout_ms} * 1'000'000);
  }
  MaybeFreeService(service);
}

void ShardProxy::ConnectionClosed(HttpConnection* connection, ShardService* service) {
  service->connections.erase(connection);
  service->series->shard(index_).active_connections.Add(-1);
  if (service->removing) MaybeFreeService(service);
}

void ShardProxy::Retire(ShardService* service) {
  service->removing = true;
  removed_.insert(service);
  MaybeFreeService(service);
}

void ShardProxy::MaybeFreeService(ShardService* service) {
  // Egress exchanges are not among its connections: they count in
  // requests_in_flight (and sweep again when they end).
  if (!service->removing || service->accept_armed || !service->connections.empty() ||
      service->notifying || service->requests_in_flight != 0) {
    return;
  }
  removed_.erase(service);
  rate_limited_.erase(service);
  delete service;
  CheckShutdownDone();
}

void ShardProxy::Shutdown(std::function<void()> done) {
  shutdown_done_ = std::move(done);
  shutting_down_ = true;
  std::vector<uint16_t> ports;
  for (auto& [port, service] : services_) ports.push_back(port);
  for (uint16_t port : ports) Remove(port, [] {});
  std::vector<std::string> remote;
  for (auto& [name, service] : remote_) remote.push_back(name);
  SetRemote({}, remote);
  for (auto& [key, external] : external_) {
    if (external->service != nullptr) Retire(external->service);
    external->service = nullptr;
  }
  CheckShutdownDone();
}

void ShardProxy::CheckShutdownDone() {
  if (!shutdown_done_ || !services_.empty() || !removed_.empty()) return;
  pool_.CloseAll();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace icaht::proxy
