// The /metrics page (ops listener and admin socket): every service's series
// summed over the shards (relaxed reads, no shard is stopped or asked), each
// upstream's health verdict, the registry's counts, the process and each
// shard's loop. Metric names and labels are the interface documented in
// README.md ("Metrics").

#include "admin/metrics_page.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "admin/control.h"
#include "filters/auth.h"
#include "filters/proxy_error.h"
#include "metrics/process.h"
#include "proxy/mirror.h"

namespace icaht::admin {
namespace {

using metrics::Exposition;
using metrics::Type;

// One service's blocks added up.
struct Totals {
  std::vector<std::pair<int, uint64_t>> codes;
  metrics::Histogram::Snapshot request_duration;
  metrics::Histogram::Snapshot upstream_duration;
  int64_t active_connections = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  std::array<uint64_t, metrics::kMaxKinds> errors{};
  std::array<uint64_t, metrics::kMaxKinds> auth_failures{};
  uint64_t rate_limited = 0;
  uint64_t rate_limit_shadow = 0;
  uint64_t retries = 0;
  uint64_t retry_overflow = 0;
  std::array<uint64_t, metrics::kMirrorResults> mirror{};
  std::array<uint64_t, 3> breaker_overflow{};
  int64_t upstream_requests = 0;
  int64_t upstream_pending = 0;
  uint64_t faults_delayed = 0;
  uint64_t faults_aborted = 0;
  std::array<uint64_t, 4> cache_requests{};
  int64_t cache_bytes = 0;
  int64_t cache_entries = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  uint64_t tls_handshake_failures = 0;
};

Totals Sum(const metrics::ServiceSeries& series) {
  Totals t;
  for (size_t i = 0; i < series.shard_count(); ++i) {
    const metrics::ShardSeries* made = series.shard_if_made(i);
    if (made == nullptr) continue;  // no traffic there yet
    const metrics::ShardSeries& s = *made;
    s.requests.ReadInto(&t.codes);
    s.request_duration.ReadInto(&t.request_duration);
    s.upstream_duration.ReadInto(&t.upstream_duration);
    t.active_connections += s.active_connections.Read();
    t.bytes_received += s.bytes_received.Read();
    t.bytes_sent += s.bytes_sent.Read();
    for (size_t k = 0; k < metrics::kMaxKinds; ++k) {
      t.errors[k] += s.errors[k].Read();
      t.auth_failures[k] += s.auth_failures[k].Read();
    }
    t.rate_limited += s.rate_limited.Read();
    t.rate_limit_shadow += s.rate_limit_shadow.Read();
    t.retries += s.upstream_retries.Read();
    t.retry_overflow += s.retry_overflow.Read();
    for (size_t r = 0; r < metrics::kMirrorResults; ++r) t.mirror[r] += s.mirror[r].Read();
    for (size_t r = 0; r < t.breaker_overflow.size(); ++r) {
      t.breaker_overflow[r] += s.breaker_overflow[r].Read();
    }
    t.upstream_requests += s.upstream_requests.Read();
    t.upstream_pending += s.upstream_pending.Read();
    t.faults_delayed += s.faults_delayed.Read();
    t.faults_aborted += s.faults_aborted.Read();
    for (size_t r = 0; r < t.cache_requests.size(); ++r) {
      t.cache_requests[r] += s.cache_requests[r].Read();
    }
    t.cache_bytes += s.cache_bytes.Read();
    t.cache_entries += s.cache_entries.Read();
    t.tls_handshakes += s.tls_handshakes.Read();
    t.tls_resumed += s.tls_resumed.Read();
    t.tls_handshake_failures += s.tls_handshake_failures.Read();
  }
  std::sort(t.codes.begin(), t.codes.end());
  return t;
}

std::string CodeLabel(int code) { return code < 0 ? "other" : absl::StrCat(code); }

// Error kinds by where they come from: the upstream's (icaht_upstream_errors_total)
// or the client's and the proxy's own (icaht_request_errors_total).
bool IsUpstream(size_t kind) {
  filters::ProxyError e;
  e.kind = static_cast<filters::ErrorKind>(kind);
  return e.source() == filters::ErrorSource::kUpstream;
}

std::string_view KindLabel(size_t kind) {
  filters::ProxyError e;
  e.kind = static_cast<filters::ErrorKind>(kind);
  return e.label();
}

constexpr size_t kErrorKinds = static_cast<size_t>(filters::ErrorKind::kDrained) + 1;
constexpr size_t kAuthFailures = static_cast<size_t>(filters::AuthFailure::kCount);

// A counter family with one sample per service, read from a Totals field.
struct PerService {
  std::string_view name;
  std::string_view help;
  uint64_t Totals::*field;
};
constexpr PerService kTrafficCounters[] = {
    {"icaht_bytes_received_total", "Bytes of requests (heads and bodies) read from clients.",
     &Totals::bytes_received},
    {"icaht_bytes_sent_total", "Bytes of answers (heads and bodies) sent to clients.",
     &Totals::bytes_sent},
    {"icaht_upstream_retries_total", "Upstream attempts after a request's first.",
     &Totals::retries},
    {"icaht_upstream_retry_overflow_total",
     "Retries the policy allowed but the retry budget refused.", &Totals::retry_overflow},
};
constexpr PerService kRateLimitCounters[] = {
    {"icaht_rate_limited_total", "Requests refused by a rate limit (429).", &Totals::rate_limited},
    {"icaht_rate_limit_shadow_total", "Requests a limit with enforce: false would have refused.",
     &Totals::rate_limit_shadow},
};

template <size_t N>
void PerServiceCounters(const std::vector<std::pair<const std::string*, Totals>>& services,
                        const PerService (&families)[N], Exposition& out) {
  for (const PerService& f : families) {
    out.Family(f.name, Type::kCounter, f.help);
    for (const auto& [name, t] : services) out.Sample(f.name, {{"service", *name}}, t.*f.field);
  }
}

// Each upstream of each registered service: 1 while it is in the rotation, 0
// while the active health checks keep it out (always 1 without checks). An
// address listed twice in a record is one instance: one sample.
void WriteUpstreamUp(const registry::Registry& registry, const HealthChecker& health,
                     Exposition& out) {
  out.Family("icaht_upstream_up", Type::kGauge,
             "Whether an upstream instance is in the rotation (0: out by health checks).");
  for (const registry::ServiceRecord* record : registry.List()) {
    const std::vector<registry::UpstreamSpec>& upstreams = record->upstreams;
    for (auto it = upstreams.begin(); it != upstreams.end(); ++it) {
      auto same = [&](const registry::UpstreamSpec& u) { return u.address == it->address; };
      if (std::any_of(upstreams.begin(), it, same)) continue;
      uint64_t up = health.Healthy(record->name, it->resolved) ? 1 : 0;
      out.Sample("icaht_upstream_up", {{"service", record->name}, {"upstream", it->address}}, up);
    }
  }
}

}  // namespace

std::shared_ptr<metrics::ServiceSeries> Control::SeriesFor(const std::string& name) {
  std::shared_ptr<metrics::ServiceSeries>& series = series_[name];
  if (series == nullptr) series = std::make_shared<metrics::ServiceSeries>(name, shards_.size());
  return series;
}

void Control::DropSeriesIfUnregistered(const std::string& name) {
  if (registry_.Find(name) == nullptr) series_.erase(name);
}

void Control::WriteEgressMetrics(metrics::Exposition& out) const {
  // Summed over the shards by {caller, destination}.
  struct Pair {
    std::vector<std::pair<int, uint64_t>> codes;
    metrics::Histogram::Snapshot duration;
  };
  std::map<std::pair<std::string, std::string>, Pair> pairs;
  for (const auto& shard : shards_) {
    shard->egress_series().ForEach([&](const metrics::EgressPair& p) {
      Pair& sum = pairs[{p.caller, p.destination}];
      p.requests.ReadInto(&sum.codes);
      p.duration.ReadInto(&sum.duration);
    });
  }
  out.Family("icaht_egress_requests_total", Type::kCounter,
             "Requests local applications made through the egress listener, by calling service "
             "(x-icaht-caller), destination and status code.");
  for (const auto& [key, sum] : pairs) {
    for (const auto& [code, n] : sum.codes) {
      out.Sample("icaht_egress_requests_total",
                 {{"service", key.first}, {"destination", key.second}, {"code", CodeLabel(code)}},
                 n);
    }
  }
  out.Family("icaht_egress_request_duration_seconds", Type::kHistogram,
             "Time from an egress request's first byte to the end of its answer.");
  for (const auto& [key, sum] : pairs) {
    out.Histogram("icaht_egress_request_duration_seconds",
                  {{"service", key.first}, {"destination", key.second}}, sum.duration);
  }
}

void WriteServiceMetrics(const std::vector<const metrics::ServiceSeries*>& list,
                         metrics::Exposition& out) {
  std::vector<std::pair<const std::string*, Totals>> services;
  services.reserve(list.size());
  for (const metrics::ServiceSeries* series : list)
    services.emplace_back(&series->name(), Sum(*series));

  out.Family("icaht_requests_total", Type::kCounter,
             "Requests answered, by service and status code (0: the client got no answer), and "
             "by subset for requests a route sent to one.");
  for (size_t i = 0; i < services.size(); ++i) {
    const std::string& name = *services[i].first;
    for (const auto& [code, n] : services[i].second.codes) {
      out.Sample("icaht_requests_total", {{"service", name}, {"code", CodeLabel(code)}}, n);
    }
    for (const auto& subset : list[i]->subsets()) {
      std::vector<std::pair<int, uint64_t>> codes;
      subset->ReadInto(&codes);
      std::sort(codes.begin(), codes.end());
      for (const auto& [code, n] : codes) {
        out.Sample("icaht_requests_total",
                   {{"service", name}, {"code", CodeLabel(code)}, {"subset", subset->name()}}, n);
      }
    }
  }
  out.Family("icaht_request_duration_seconds", Type::kHistogram,
             "Time from a request's first byte to the end of its answer.");
  for (const auto& [name, t] : services) {
    out.Histogram("icaht_request_duration_seconds", {{"service", *name}}, t.request_duration);
  }
  out.Family("icaht_upstream_request_duration_seconds", Type::kHistogram,
             "Time from the first upstream attempt to the end of the answer (forwarded requests).");
  for (const auto& [name, t] : services) {
    out.Histogram("icaht_upstream_request_duration_seconds", {{"service", *name}},
                  t.upstream_duration);
  }
  out.Family("icaht_active_connections", Type::kGauge, "Open client connections.");
  for (const auto& [name, t] : services) {
    out.Sample("icaht_active_connections", {{"service", *name}},
               static_cast<double>(t.active_connections));
  }
  PerServiceCounters(services, kTrafficCounters, out);
  for (bool upstream : {true, false}) {
    std::string_view family =
        upstream ? "icaht_upstream_errors_total" : "icaht_request_errors_total";
    out.Family(family, Type::kCounter,
               upstream ? "Exchanges that failed at the upstream, by kind."
                        : "Exchanges that failed at the client or in the proxy, by kind.");
    for (const auto& [name, t] : services) {
      for (size_t k = 1; k < kErrorKinds; ++k) {
        if (t.errors[k] == 0 || IsUpstream(k) != upstream) continue;
        out.Sample(family, {{"service", *name}, {"kind", KindLabel(k)}}, t.errors[k]);
      }
    }
  }
  out.Family("icaht_auth_failures_total", Type::kCounter, "Requests refused by auth, by reason.");
  for (const auto& [name, t] : services) {
    for (size_t r = 0; r < kAuthFailures; ++r) {
      if (t.auth_failures[r] == 0) continue;
      out.Sample("icaht_auth_failures_total",
                 {{"service", *name},
                  {"reason", filters::AuthFailureLabel(static_cast<filters::AuthFailure>(r))}},
                 t.auth_failures[r]);
    }
  }
  PerServiceCounters(services, kRateLimitCounters, out);
  out.Family("icaht_mirror_requests_total", Type::kCounter,
             "Requests the mirror sampled, by what became of the copy.");
  for (const auto& [name, t] : services) {
    for (size_t r = 0; r < metrics::kMirrorResults; ++r) {
      if (t.mirror[r] == 0) continue;
      std::string_view label = proxy::Mirror::ResultLabel(static_cast<proxy::Mirror::Result>(r));
      out.Sample("icaht_mirror_requests_total", {{"service", *name}, {"result", label}},
                 t.mirror[r]);
    }
  }
  out.Family("icaht_upstream_overflow_total", Type::kCounter,
             "Requests a circuit breaker answered 503 (requests, pending) or did not retry "
             "(retries).");
  constexpr std::string_view kOverflowReasons[] = {"requests", "pending", "retries"};
  for (const auto& [name, t] : services) {
    for (size_t r = 0; r < t.breaker_overflow.size(); ++r) {
      if (t.breaker_overflow[r] == 0) continue;
      out.Sample("icaht_upstream_overflow_total",
                 {{"service", *name}, {"reason", kOverflowReasons[r]}}, t.breaker_overflow[r]);
    }
  }
  out.Family("icaht_upstream_requests_active", Type::kGauge,
             "Requests that want the upstream (queued or not), with circuit breakers.");
  for (const auto& [name, t] : services) {
    out.Sample("icaht_upstream_requests_active", {{"service", *name}},
               static_cast<double>(t.upstream_requests));
  }
  out.Family("icaht_upstream_pending_requests", Type::kGauge,
             "Requests queued for an upstream connection (circuit_breaker.max_connections).");
  for (const auto& [name, t] : services) {
    out.Sample("icaht_upstream_pending_requests", {{"service", *name}},
               static_cast<double>(t.upstream_pending));
  }
  // Only services that had a fault injected (faults are a testing tool: most
  // services never have one).
  out.Family("icaht_faults_injected_total", Type::kCounter,
             "Faults the fault filter injected, by kind (a delayed request it then aborted "
             "counts in both).");
  for (const auto& [name, t] : services) {
    const std::pair<std::string_view, uint64_t> kinds[] = {{"delay", t.faults_delayed},
                                                           {"abort", t.faults_aborted}};
    for (const auto& [kind, n] : kinds) {
      if (n == 0) continue;
      out.Sample("icaht_faults_injected_total", {{"service", *name}, {"kind", kind}}, n);
    }
  }
  // Only services with a cache (those that ever looked one up).
  out.Family("icaht_cache_requests_total", Type::kCounter,
             "Requests the response cache looked up, by result (hit, miss, stale, revalidated).");
  for (const auto& [name, t] : services) {
    static constexpr std::array<std::string_view, 4> kResults = {"hit", "miss", "stale",
                                                                 "revalidated"};
    uint64_t any = 0;
    for (uint64_t n : t.cache_requests) any += n;
    if (any == 0) continue;
    for (size_t r = 0; r < kResults.size(); ++r) {
      out.Sample("icaht_cache_requests_total", {{"service", *name}, {"result", kResults[r]}},
                 t.cache_requests[r]);
    }
  }
  out.Family("icaht_cache_bytes", Type::kGauge,
             "Bytes of responses the cache holds (heads and bodies, over every shard).");
  for (const auto& [name, t] : services) {
    if (t.cache_entries == 0 && t.cache_bytes == 0) continue;
    out.Sample("icaht_cache_bytes", {{"service", *name}}, static_cast<double>(t.cache_bytes));
  }
  out.Family("icaht_cache_entries", Type::kGauge, "Responses the cache holds (over every shard).");
  for (const auto& [name, t] : services) {
    if (t.cache_entries == 0 && t.cache_bytes == 0) continue;
    out.Sample("icaht_cache_entries", {{"service", *name}}, static_cast<double>(t.cache_entries));
  }
  // Only services whose port speaks TLS (those that ever had a handshake).
  out.Family("icaht_tls_handshakes_total", Type::kCounter,
             "TLS handshakes completed on the service port, by whether the session was resumed.");
  for (const auto& [name, t] : services) {
    if (t.tls_handshakes == 0 && t.tls_handshake_failures == 0) continue;
    out.Sample("icaht_tls_handshakes_total", {{"service", *name}, {"resumed", "false"}},
               t.tls_handshakes - t.tls_resumed);
    out.Sample("icaht_tls_handshakes_total", {{"service", *name}, {"resumed", "true"}},
               t.tls_resumed);
  }
  out.Family("icaht_tls_handshake_errors_total", Type::kCounter,
             "TLS handshakes on the service port that failed (bad certificate, protocol, plain "
             "HTTP, or the client left).");
  for (const auto& [name, t] : services) {
    if (t.tls_handshakes == 0 && t.tls_handshake_failures == 0) continue;
    out.Sample("icaht_tls_handshake_errors_total", {{"service", *name}}, t.tls_handshake_failures);
  }
}

std::string Control::RenderMetrics(metrics::Format format) const {
  // Only registered services (a registration in flight has no series yet to show).
  std::vector<const metrics::ServiceSeries*> services;
  for (const auto& [name, series] : series_) {
    if (registry_.Find(name) != nullptr) services.push_back(series.get());
  }
  Exposition out(format, last_metrics_bytes_ + last_metrics_bytes_ / 8);
  WriteServiceMetrics(services, out);
  WriteUpstreamUp(registry_, *health_, out);
  WriteOutlierMetrics(out);

  out.Single("icaht_services", Type::kGauge, "Registered services.",
             static_cast<uint64_t>(registry_.size()));
  out.Family("icaht_registry_changes_total", Type::kCounter,
             "Registry changes made through the admin API (and expiries), by operation.");
  constexpr std::string_view kOps[] = {"register", "update", "deregister"};
  for (size_t i = 0; i < registry_changes_.size(); ++i) {
    out.Sample("icaht_registry_changes_total", {{"op", kOps[i]}}, registry_changes_[i]);
  }

  // Each shard's loop: a shard that stopped turning shows a stale timestamp
  // (a healthy idle one turns at least every second).
  int64_t mono_now = core::NowNs();
  double unix_now = static_cast<double>(core::WallClockNs()) * 1e-9;
  struct ShardFamily {
    std::string_view name;
    std::string_view help;
    const std::atomic<uint64_t> core::RingStats::*field;
  };
  const ShardFamily kShardFamilies[] = {
      {"icaht_shard_loops_total", "Event loop rounds.", &core::RingStats::loops},
      {"icaht_shard_ring_submissions_total", "io_uring submissions the kernel took.",
       &core::RingStats::submitted},
      {"icaht_shard_ring_completions_total", "io_uring completions reaped.",
       &core::RingStats::completions},
      {"icaht_shard_ring_waits_total", "Loop rounds that waited in the kernel.",
       &core::RingStats::waits},
  };
  for (const ShardFamily& f : kShardFamilies) {
    out.Family(f.name, Type::kCounter, f.help);
    for (const auto& shard : shards_) {
      std::string index = absl::StrCat(shard->index());
      out.Sample(f.name, {{"shard", index}},
                 (shard->ring_stats().*f.field).load(std::memory_order_relaxed));
    }
  }
  out.Family("icaht_shard_last_loop_timestamp_seconds", Type::kGauge,
             "When the shard's loop last finished a round (Unix time).");
  for (const auto& shard : shards_) {
    std::string index = absl::StrCat(shard->index());
    int64_t last = shard->ring_stats().last_loop_ns.load(std::memory_order_relaxed);
    double at = last == 0 ? 0 : unix_now - static_cast<double>(mono_now - last) * 1e-9;
    out.Sample("icaht_shard_last_loop_timestamp_seconds", {{"shard", index}}, at);
  }

  WriteEgressMetrics(out);

  uint64_t log_lines = 0, log_dropped = 0;
  for (const auto& shard : shards_) {
    log_lines += shard->access_log_stats().lines.Read();
    log_dropped += shard->access_log_stats().dropped.Read();
  }
  out.Single("icaht_access_log_lines_total", Type::kCounter, "Access log lines written.",
             log_lines);
  out.Single("icaht_access_log_dropped_total", Type::kCounter,
             "Access log lines dropped: the sink fell behind or failed.", log_dropped);

  // Spans (zero without --trace-endpoint: nothing is exported then).
  const TraceExporter* traces = traces_.get();
  out.Single("icaht_spans_exported_total", Type::kCounter, "Spans the trace collector accepted.",
             traces ? traces->exported() : 0);
  out.Single("icaht_spans_dropped_total", Type::kCounter,
             "Spans lost: a shard's buffer or the export queue was full, or the collector "
             "refused or stayed unreachable.",
             traces ? traces->dropped() : 0);
  out.Single("icaht_span_export_retries_total", Type::kCounter,
             "Span batches sent again after a failure.", traces ? traces->retries() : 0);

  // etcd (with --etcd-endpoints only: "down" would be a false alarm without).
  if (const EtcdPublisher* etcd = etcd_.get(); etcd != nullptr) {
    out.Single("icaht_etcd_up", Type::kGauge,
               "1 when this host holds its etcd lease and etcd answered the last call.",
               etcd->up() ? 1.0 : 0.0);
    out.Single("icaht_etcd_errors_total", Type::kCounter,
               "etcd calls that failed (unreachable, timed out, or an error answer).",
               etcd->errors());
    out.Single("icaht_etcd_transactions_total", Type::kCounter,
               "Service changes written to etcd (publications and removals).",
               etcd->transactions());
    out.Single("icaht_etcd_pending_services", Type::kGauge,
               "Services whose latest change is not in etcd yet.",
               static_cast<uint64_t>(etcd->pending()));
  }

  WriteRemoteMetrics(out);

  metrics::ProcessStats p = metrics::ReadProcessStats();
  out.Single("process_cpu_seconds_total", Type::kCounter, "User and system CPU time spent.",
             p.cpu_seconds);
  out.Single("process_resident_memory_bytes", Type::kGauge, "Resident memory size.",
             p.resident_bytes);
  out.Single("process_virtual_memory_bytes", Type::kGauge, "Virtual memory size.", p.virtual_bytes);
  out.Single("process_open_fds", Type::kGauge, "Open file descriptors.", p.open_fds);
  out.Single("process_max_fds", Type::kGauge, "The open file descriptor limit.", p.max_fds);
  out.Single("process_start_time_seconds", Type::kGauge, "Start time since the Unix epoch.",
             p.start_time_seconds);
  out.Single("process_threads", Type::kGauge, "OS threads (shards, control, helpers).", p.threads);
  std::string page = std::move(out).Finish();
  last_metrics_bytes_ = page.size();
  return page;
}

}  // namespace icaht::admin
