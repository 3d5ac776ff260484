// The fleet's services for the egress listener (issue 14; admin/control.h):
// the etcd watch's table of other hosts' services (admin/etcd_watcher.h)
// turned into listener-less service configs on every shard, whose instances
// are those hosts' ingress ports for the service.

#include "absl/strings/str_cat.h"
#include "admin/control.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "net/address.h"
#include "proxy/egress_config.h"
#include "proxy/shard.h"

namespace icaht::admin {

using metrics::Exposition;
using metrics::Type;

namespace {

// One service of other hosts, ready to be built into each shard's config.
struct RemoteSpec {
  std::string name;
  std::vector<proxy::UpstreamConfig> upstreams;
  std::optional<registry::ServiceRecord> record;  // the lowest host's, when readable
};

}  // namespace

absl::Status Control::CreateRemoteWatch() {
  // Only a daemon that serves egress and shares etcd with a fleet needs it.
  if (config_.etcd_endpoints.empty() || !config_.egress_listen) return absl::OkStatus();
  ICAHT_ASSIGN_OR_RETURN(
      remote_watch_,
      EtcdWatcher::Create(
          *ring_, *bufs_, config_.etcd_endpoints, config_.host_id.value_or(0),
          [this](const discovery::RemoteServices& table) { OnRemoteChange(table); }));
  // A rotated host certificate: every service of another host gets a config
  // with the new client context (new connections use it).
  tls_->set_on_host_change([this] {
    remote_sent_.clear();
    OnRemoteChange(remote_watch_->table());
  });
  return absl::OkStatus();
}

void Control::OnRemoteChange(const discovery::RemoteServices& table) {
  if (stopping_) return;
  std::vector<std::string> removed;
  for (const auto& [name, instances] : remote_sent_) {
    if (table.Find(name) == nullptr) removed.push_back(name);
  }
  for (const std::string& name : removed) remote_sent_.erase(name);
  auto specs = std::make_shared<std::vector<RemoteSpec>>();
  for (const auto& [name, instances] : table.services()) {
    auto [sent, added] = remote_sent_.try_emplace(name, instances);
    if (!added) {
      if (sent->second == instances) continue;
      sent->second = instances;
    }
    RemoteSpec& spec = specs->emplace_back();
    spec.name = name;
    for (const discovery::RemoteInstance& instance : instances) {
      absl::StatusOr<net::Address> address = net::Address::FromIp(instance.host, instance.port);
      if (!address.ok()) {
        ICAHT_LOG_LIMITED(kWarn, "egress: service '", name, "' on host ", instance.host_id, ": '",
                          instance.host,
                          "' is not an IP address (an --advertise-address host name is not "
                          "resolved for the egress yet): that host is left out");
        continue;
      }
      proxy::UpstreamConfig& upstream = spec.upstreams.emplace_back();
      upstream.address = *address;
      upstream.text = absl::StrCat(instance.scheme, "://", address->ToString());
      if (instance.scheme == "https") {
        // The other sidecar's port is TLS: mutual, with this host's identity,
        // verified against the fleet CA and the address it published.
        upstream.tls = tls_->HostClient();
        upstream.tls_server_name = instance.host;
        if (upstream.tls == nullptr) spec.upstreams.pop_back();
      }
    }
    absl::StatusOr<registry::ServiceRecord> record =
        registry::ParseServiceRecord(instances.front().record);
    if (record.ok()) {
      spec.record = *std::move(record);
    } else {
      ICAHT_LOG_LIMITED(kWarn, "egress: service '", name, "': host ", instances.front().host_id,
                        "'s record is not one this build reads (", record.status().message(),
                        "): its calls get the default egress policy");
    }
    if (spec.upstreams.empty()) {
      // Nowhere to send it: as if unknown.
      removed.push_back(name);
      specs->pop_back();
    }
  }
  if (specs->empty() && removed.empty()) return;
  const uint32_t drain_ms = config_.drain_timeout_ms;
  Broadcast(
      [this, specs, removed, drain_ms](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        std::vector<std::unique_ptr<proxy::ServiceConfig>> configs;
        for (const RemoteSpec& spec : *specs) {
          auto config = proxy::RemoteServiceConfig(spec.name, spec.upstreams,
                                                   spec.record ? &*spec.record : nullptr, drain_ms);
          config->series = remote_series_;
          config->mutable_filters().shard_count = shards_.size();
          configs.push_back(std::move(config));
        }
        return new proxy::SetRemoteServicesCommand(shard, std::move(configs), removed,
                                                   std::move(d));
      },
      [](absl::Status) {});
}

void Control::WriteRemoteMetrics(Exposition& out) const {
  if (remote_watch_ == nullptr) return;
  const EtcdWatcher& w = *remote_watch_;
  out.Single("icaht_etcd_watch_up", Type::kGauge,
             "1 while the watch on the fleet's services is established on a listed table.",
             w.up() ? 1.0 : 0.0);
  out.Single("icaht_etcd_watch_revision", Type::kGauge,
             "The etcd revision the table of other hosts' services is current to.",
             static_cast<double>(w.revision()));
  out.Single("icaht_etcd_watch_events_total", Type::kCounter,
             "Watch events applied to the table of other hosts' services.", w.events());
  out.Single("icaht_etcd_watch_relists_total", Type::kCounter,
             "Full reads of the fleet's services (the first and each after a failure).",
             w.relists());
  out.Single("icaht_etcd_watch_errors_total", Type::kCounter,
             "Watch failures: calls refused or timed out, streams ended, watches canceled.",
             w.errors());
  size_t instances = 0;
  for (const auto& [name, list] : remote_sent_) instances += list.size();
  out.Single("icaht_remote_services", Type::kGauge,
             "Services of other hosts the egress can reach by name.",
             static_cast<uint64_t>(remote_sent_.size()));
  out.Single("icaht_remote_instances", Type::kGauge,
             "Instances (host ingress ports) of those services.", static_cast<uint64_t>(instances));
}

}  // namespace icaht::admin
