#pragma once
// Health and readiness of a service, answered on its own port by the proxy
// without touching an upstream (`health` in the service record):
//   GET|HEAD health.path (default /health)      200 while the proxy serves the
//                                                service, 503 while it drains
//   GET|HEAD health.ready_path (default /ready)  200 while at least one
//                                                instance is usable (not taken
//                                                out by a failed connect or by
//                                                active checks), else 503
// Both answer a small JSON body naming the service and its instances' states.
// A path set to "" is passed to the upstream like any other; other methods
// on these paths are too.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/filter.h"

namespace icaht::filters {

// Active health checks of the service's instances (`health.check`), run by
// the control thread: GET `path` on each instance every interval; an
// instance turns unhealthy after `unhealthy_threshold` failed checks in a
// row (a status outside expected_statuses, a timeout, a refused connect) and
// healthy again after `healthy_threshold` good ones. Instances start healthy.
struct HealthCheckSpec {
  bool enabled = false;
  std::string path = "/health";
  uint32_t interval_ms = 5000;     // 100..3600000
  uint32_t timeout_ms = 1000;      // 1..interval_ms
  uint32_t healthy_threshold = 2;  // 1..100
  uint32_t unhealthy_threshold = 3;
  // Inclusive ranges; default 200-399.
  std::vector<std::pair<uint16_t, uint16_t>> expected_statuses = {{200, 399}};

  bool Expects(int status) const {
    for (const auto& [low, high] : expected_statuses) {
      if (status >= low && status <= high) return true;
    }
    return false;
  }
  friend bool operator==(const HealthCheckSpec&, const HealthCheckSpec&) = default;
};

struct HealthSpec {
  std::string path = "/health";
  std::string ready_path = "/ready";
  HealthCheckSpec check;
  // With check: a service whose instances are all unhealthy for this long is
  // deregistered (0 = never).
  uint32_t deregister_after_s = 0;

  friend bool operator==(const HealthSpec&, const HealthSpec&) = default;
};

class HealthFilter final : public Filter {
 public:
  static bool Enabled(const HealthSpec& spec) {
    return !spec.path.empty() || !spec.ready_path.empty();
  }
  // `spec` is the chain's, which outlives it (kept by reference).
  HealthFilter(const HealthSpec& spec, std::string_view service, const ServiceView* view)
      : spec_(spec), service_(service), view_(view) {}
  HealthFilter(HealthSpec&& spec, std::string_view service, const ServiceView* view) = delete;
  std::string_view name() const override { return "health"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;

 private:
  void Answer(RequestContext& ctx, bool ok, std::string_view key, std::string_view value) const;

  const HealthSpec& spec_;
  std::string service_;
  const ServiceView* view_;
};

}  // namespace icaht::filters
