#pragma once
// Active health checks (`health.check` in a service record), run on the
// control thread's ring: every interval, GET the check path on each instance
// with the small client (proxy::HttpClientCall). Verdicts follow Envoy's and
// Traefik's: consecutive failures take an instance out, consecutive successes
// bring it back; instances start healthy. A verdict change is reported once
// (the control thread tells every shard); a service whose instances are all
// unhealthy for health.deregister_after_s is reported for deregistration.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "net/address.h"
#include "registry/service_record.h"

namespace icaht::proxy {
class HttpClientCall;
struct ClientCallSpec;
}  // namespace icaht::proxy

namespace icaht::admin {

class HealthChecker {
 public:
  struct Callbacks {
    // The instances of `service` (on `port`) now out of the rotation.
    std::function<void(const std::string& service, uint16_t port,
                       std::vector<net::Address> unhealthy)>
        on_change;
    // Every instance of `service` has been unhealthy for deregister_after_s.
    std::function<void(const std::string& service)> on_deregister;
    // Sets the TLS settings (spec->tls, ->server_name) a check of `service`'s
    // instance at `address` uses, when that instance speaks TLS (optional).
    std::function<void(const std::string& service, const net::Address& address,
                       proxy::ClientCallSpec* spec)>
        upstream_tls;
  };

  HealthChecker(core::Ring& ring, core::BufRing& bufs, Callbacks callbacks);
  ~HealthChecker();

  // Starts, changes or stops the checks for record.name. An instance whose
  // address stays keeps its state; new ones start healthy.
  void Update(const registry::ServiceRecord& record);
  void Remove(const std::string& name);
  // Cancels every check (shutdown).
  void Stop();

  // Whether the instance at `address` of `service` is in the rotation (true
  // for services without checks and for unknown addresses).
  bool Healthy(const std::string& service, const net::Address& address) const;
  size_t checks_run() const { return checks_run_; }

 private:
  struct Service;
  struct Target {
    Service* service = nullptr;
    net::Address address;
    std::string address_text;
    bool healthy = true;
    uint32_t successes = 0;  // in a row
    uint32_t failures = 0;   // in a row
    proxy::HttpClientCall* call = nullptr;
    std::unique_ptr<core::Timer> timer;
  };
  struct Service {
    std::string name;
    uint16_t port = 0;
    filters::HealthCheckSpec spec;
    uint32_t deregister_after_s = 0;
    std::vector<std::unique_ptr<Target>> targets;
    int64_t all_down_since_ns = 0;  // 0: some instance is healthy
    bool deregister_reported = false;
  };

  void Check(Target* target);
  void OnResult(Target* target, bool ok, const std::string& detail);
  void Report(Service* service);
  static void CancelTarget(Target* target);

  core::Ring& ring_;
  core::BufRing& bufs_;
  Callbacks callbacks_;
  absl::flat_hash_map<std::string, std::unique_ptr<Service>> services_;
  size_t checks_run_ = 0;
};

}  // namespace icaht::admin
