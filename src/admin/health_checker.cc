#include "admin/health_checker.h"

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "proxy/http_client.h"

namespace icaht::admin {

HealthChecker::HealthChecker(core::Ring& ring, core::BufRing& bufs, Callbacks callbacks)
    : ring_(ring), bufs_(bufs), callbacks_(std::move(callbacks)) {}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::CancelTarget(Target* target) {
  if (target->call != nullptr) {
    target->call->Cancel();
    target->call = nullptr;
  }
  target->timer.reset();
}

void HealthChecker::Update(const registry::ServiceRecord& record) {
  const filters::HealthSpec& health = record.health;
  if (!health.check.enabled) return Remove(record.name);
  std::unique_ptr<Service>& slot = services_[record.name];
  std::vector<std::unique_ptr<Target>> old;
  if (slot == nullptr) {
    slot = std::make_unique<Service>();
    slot->name = record.name;
  } else {
    old = std::move(slot->targets);
  }
  Service* service = slot.get();
  bool spec_changed = service->spec != health.check;
  service->port = record.port;
  service->spec = health.check;
  service->deregister_after_s = health.deregister_after_s;
  service->deregister_reported = false;
  for (const registry::UpstreamSpec& upstream : record.upstreams) {
    std::unique_ptr<Target> target;
    for (auto& candidate : old) {
      if (candidate != nullptr && candidate->address == upstream.resolved) {
        target = std::move(candidate);
        break;
      }
    }
    bool fresh = target == nullptr;
    if (fresh) {
      target = std::make_unique<Target>();
      target->service = service;
      target->address = upstream.resolved;
      target->address_text = upstream.resolved.ToString();
    }
    Target* raw = target.get();
    if (fresh || spec_changed) {
      // First check now; a changed spec restarts the rhythm.
      CancelTarget(raw);
      raw->timer = std::make_unique<core::Timer>([this, raw] { Check(raw); });
      ring_.timers().Arm(raw->timer.get(), core::NowNs());
    }
    service->targets.push_back(std::move(target));
  }
  for (auto& gone : old) {
    if (gone != nullptr) CancelTarget(gone.get());
  }
  Report(service);
}

void HealthChecker::Remove(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return;
  for (auto& target : it->second->targets) CancelTarget(target.get());
  services_.erase(it);
}

void HealthChecker::Stop() {
  for (auto& [name, service] : services_) {
    for (auto& target : service->targets) CancelTarget(target.get());
  }
  services_.clear();
}

bool HealthChecker::Healthy(const std::string& service, const net::Address& address) const {
  auto it = services_.find(service);
  if (it == services_.end()) return true;
  for (const auto& target : it->second->targets) {
    if (target->address == address) return target->healthy;
  }
  return true;
}

void HealthChecker::Check(Target* target) {
  const filters::HealthCheckSpec& spec = target->service->spec;
  ++checks_run_;
  proxy::ClientCallSpec call;
  call.address = target->address;
  call.request = proxy::BuildClientRequest("GET", spec.path, target->address_text,
                                           "User-Agent: icaht-sidecar/health-check\r\n");
  call.timeout_ms = spec.timeout_ms;
  call.max_body_bytes = 64 * 1024;
  if (callbacks_.upstream_tls) {
    callbacks_.upstream_tls(target->service->name, target->address, &call);
  }
  target->call = proxy::HttpClientCall::Start(
      ring_, bufs_, std::move(call), [this, target](absl::StatusOr<http::ClientResponse> r) {
        target->call = nullptr;
        const filters::HealthCheckSpec& spec = target->service->spec;
        if (!r.ok()) return OnResult(target, false, std::string(r.status().message()));
        if (!spec.Expects(r->status)) {
          return OnResult(target, false, absl::StrCat("status ", r->status));
        }
        OnResult(target, true, "");
      });
}

void HealthChecker::OnResult(Target* target, bool ok, const std::string& detail) {
  Service* service = target->service;
  const filters::HealthCheckSpec& spec = service->spec;
  bool was = target->healthy;
  if (ok) {
    target->failures = 0;
    if (++target->successes >= spec.healthy_threshold) target->healthy = true;
  } else {
    target->successes = 0;
    if (++target->failures >= spec.unhealthy_threshold) target->healthy = false;
  }
  if (target->healthy != was) {
    if (target->healthy) {
      ICAHT_LOG(kInfo, "service '", service->name, "': instance ", target->address_text,
                " is healthy again (", target->successes, " good checks)");
    } else {
      ICAHT_LOG(kWarn, "service '", service->name, "': instance ", target->address_text,
                " is unhealthy (", target->failures, " failed checks, last: ", detail,
                "): out of the rotation");
    }
  }
  ring_.timers().Arm(target->timer.get(), core::NowNs() + int64_t{spec.interval_ms} * 1'000'000);
  if (target->healthy != was) return Report(service);
  // Deregistration counts from when the last instance went down.
  if (service->all_down_since_ns != 0 && service->deregister_after_s > 0 &&
      !service->deregister_reported &&
      core::NowNs() - service->all_down_since_ns >=
          int64_t{service->deregister_after_s} * 1'000'000'000) {
    service->deregister_reported = true;
    ICAHT_LOG(kWarn, "service '", service->name, "': no healthy instance for ",
              service->deregister_after_s, " s (health.deregister_after_s): deregistering");
    if (callbacks_.on_deregister) callbacks_.on_deregister(service->name);
  }
}

void HealthChecker::Report(Service* service) {
  std::vector<net::Address> unhealthy;
  for (const auto& target : service->targets) {
    if (!target->healthy) unhealthy.push_back(target->address);
  }
  bool all_down = !service->targets.empty() && unhealthy.size() == service->targets.size();
  if (!all_down) {
    service->all_down_since_ns = 0;
  } else if (service->all_down_since_ns == 0) {
    service->all_down_since_ns = core::NowNs();
  }
  if (callbacks_.on_change)
    callbacks_.on_change(service->name, service->port, std::move(unhealthy));
}

}  // namespace icaht::admin
