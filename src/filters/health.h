#pragma once
// Health and readiness of a service, answered on its own port by the proxy
// without touching an upstream (`health` in the service record):
//   GET|HEAD health.path (default /health)      200 while the proxy serves the
//                                                service, 503 while it drains
//   GET|HEAD health.ready_path (default /ready)  200 while at least one
//                                                instance is usable, else 503
// Both answer a small JSON body naming the service and its instances' states.
// A path set to "" is passed to the upstream like any other; other methods
// on these paths are too.

#include <string>
#include <string_view>

#include "filters/filter.h"

namespace icaht::filters {

struct HealthSpec {
  std::string path = "/health";
  std::string ready_path = "/ready";

  friend bool operator==(const HealthSpec&, const HealthSpec&) = default;
};

class HealthFilter final : public Filter {
 public:
  static bool Enabled(const HealthSpec& spec) {
    return !spec.path.empty() || !spec.ready_path.empty();
  }
  HealthFilter(HealthSpec spec, std::string_view service, const ServiceView* view)
      : spec_(std::move(spec)), service_(service), view_(view) {}
  std::string_view name() const override { return "health"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;

 private:
  void Answer(RequestContext& ctx, bool ok, std::string_view key, std::string_view value) const;

  HealthSpec spec_;
  std::string service_;
  const ServiceView* view_;
};

}  // namespace icaht::filters
