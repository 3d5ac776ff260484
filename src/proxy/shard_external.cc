// External hosts of the egress listener (ShardProxy, shard_proxy.h): an
// allowed host name is resolved on the shard's ring, off the request path of
// every other connection, and served as a listener-less service whose
// instances are its addresses, so balancing over them, passive health and
// the built-in retry of a failed connect apply as for any service.
//
// An answer is used without asking again for kFreshNs; after that, the
// resolver's cache (which honours the records' TTL) answers, or a lookup
// starts in the background while requests keep going to the last addresses
// (Envoy's DNS cache does the same). Only the first request for a name, or
// one after a failed answer, waits for the lookup.

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "proxy/http_connection.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {
namespace {
constexpr int64_t kFreshNs = 1'000'000'000;
// Destinations kept per shard; past this, one that is idle makes room.
constexpr size_t kMaxExternal = 512;

// An external host's config: its addresses, the default timeouts, and a
// chain of request ID only (the caller's kept, as on every egress call).
std::unique_ptr<ServiceConfig> ExternalConfig(std::string name,
                                              std::vector<UpstreamConfig> upstreams,
                                              const EgressSettings& settings) {
  auto config = std::make_unique<ServiceConfig>();
  config->name = std::move(name);
  config->upstreams = std::move(upstreams);
  config->trust_timeout_header = true;
  config->drain_timeout_ms = settings.drain_timeout_ms;
  config->mutable_filters().health = filters::HealthSpec{.path = "", .ready_path = ""};
  config->mutable_filters().request_id.enabled = true;
  config->mutable_filters().request_id.trust_incoming = true;
  config->series = settings.series;
  return config;
}
}  // namespace

EgressRoute ShardProxy::RouteExternal(EgressRoute route, std::string_view caller) {
  const EgressTarget& t = route.target;
  auto refuse = [&](int status, std::string_view code, std::string message) {
    route.status = status;
    route.body = EgressErrorBody(code, message, t.host);
    if (egress_series_ != nullptr) route.metrics = &egress_series_->Find(caller, t.host);
    return std::move(route);
  };
  if (t.https && egress_settings_.external_tls == nullptr) {
    return refuse(502, "external_unavailable", "no TLS client for external hosts");
  }
  if (dns_ == nullptr) {
    auto dns = net::DnsResolver::Create(ring_, {.servers = egress_settings_.dns_servers});
    if (!dns.ok()) {
      ICAHT_LOG_LIMITED(kError, "egress: no DNS resolver: ", dns.status().message());
      return refuse(502, "external_unavailable",
                    absl::StrCat("no DNS resolver: ", dns.status().message()));
    }
    dns_ = *std::move(dns);
  }
  std::string key = absl::StrCat(t.https ? "https://" : "http://", t.host, ":", t.port);
  External* e = FindOrAddExternal(key, t);
  if (e == nullptr) {
    return refuse(503, "too_many_destinations",
                  "every external destination this shard keeps is in use");
  }
  const int64_t now = core::LoopNowNs();
  if (now >= e->fresh_until_ns) {
    if (std::optional<net::DnsResolver::Result> cached = dns_->Cached(t.host, t.port)) {
      ApplyLookup(*e, *cached);
    } else if (e->service == nullptr) {
      if (e->lookup == nullptr) StartLookup(*e);
      route.pending = std::move(key);
      return route;
    } else if (e->lookup == nullptr) {
      StartLookup(*e);  // refresh; the last addresses serve meanwhile
    }
  }
  if (e->service == nullptr) {
    return refuse(502, "destination_unresolved",
                  absl::StrCat("cannot resolve '", t.host, "': ", e->error.message()));
  }
  route.service = e->service;
  route.config = e->service->config;
  if (egress_series_ != nullptr) route.metrics = &egress_series_->Find(caller, t.host);
  return route;
}

ShardProxy::External* ShardProxy::FindOrAddExternal(const std::string& key,
                                                    const EgressTarget& target) {
  if (auto it = external_.find(key); it != external_.end()) return it->second.get();
  if (external_.size() >= kMaxExternal) {
    auto idle = std::find_if(external_.begin(), external_.end(), [](const auto& entry) {
      const External& e = *entry.second;
      return e.waiting.empty() && e.lookup == nullptr &&
             (e.service == nullptr || e.service->requests_in_flight == 0);
    });
    if (idle == external_.end()) return nullptr;
    if (idle->second->service != nullptr) Retire(idle->second->service);
    external_.erase(idle);
  }
  auto external = std::make_unique<External>();
  external->host = target.host;
  external->port = target.port;
  external->https = target.https;
  return external_.emplace(key, std::move(external)).first->second.get();
}

void ShardProxy::StartLookup(External& external) {
  External* e = &external;
  e->lookup = dns_->Resolve(e->host, e->port, [this, e](net::DnsResolver::Result result) {
    std::unique_ptr<net::DnsResolver::Lookup> done = std::move(e->lookup);
    ApplyLookup(*e, result);
    std::vector<HttpConnection*> waiting = std::move(e->waiting);
    e->waiting.clear();
    for (HttpConnection* connection : waiting) connection->RouteReady();
  });
}

void ShardProxy::ApplyLookup(External& e, const net::DnsResolver::Result& result) {
  e.fresh_until_ns = core::LoopNowNs() + kFreshNs;
  if (!result.ok()) {
    e.error = result.status();
    // A name that is gone is gone; a server that failed to answer leaves the
    // last addresses in use.
    if (e.service != nullptr && absl::IsNotFound(e.error)) {
      Retire(e.service);
      e.service = nullptr;
      e.addresses.clear();
    }
    if (e.service == nullptr) {
      ICAHT_LOG_LIMITED(kInfo, "egress: cannot resolve '", e.host, "': ", e.error.message());
    }
    return;
  }
  e.error = absl::OkStatus();
  if (e.service != nullptr && *result == e.addresses) return;
  e.addresses = *result;
  std::vector<UpstreamConfig> upstreams;
  for (const net::Address& address : e.addresses) {
    UpstreamConfig& upstream = upstreams.emplace_back();
    upstream.address = address;
    upstream.text = absl::StrCat(e.https ? "https://" : "http://", address.ToString());
    if (e.https) {
      upstream.tls = egress_settings_.external_tls;
      upstream.tls_server_name = e.host;  // SNI, and the name its certificate must carry
    }
  }
  if (shutting_down_) return;
  std::string name = e.port == (e.https ? 443 : 80) ? e.host : absl::StrCat(e.host, ":", e.port);
  auto config = ExternalConfig(std::move(name), std::move(upstreams), egress_settings_);
  if (e.service == nullptr) {
    e.service = new ShardService(this, std::move(config));
  } else {
    e.service->SetConfig(std::move(config));
  }
}

void ShardProxy::WaitForRoute(const std::string& key, HttpConnection* connection) {
  auto it = external_.find(key);
  if (it == external_.end()) return connection->RouteReady();  // gone meanwhile: route again
  it->second->waiting.push_back(connection);
}

void ShardProxy::CancelRouteWait(const std::string& key, HttpConnection* connection) {
  auto it = external_.find(key);
  if (it == external_.end()) return;
  std::vector<HttpConnection*>& waiting = it->second->waiting;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), connection), waiting.end());
}

}  // namespace icaht::proxy
