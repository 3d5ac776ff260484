#pragma once
// Traefik's dynamic configuration for this host's services (DESIGN.md
// "Integration"): one router per service (its route rule, and the optional
// entry points, middlewares and priority of its record's `route`), and one
// service whose load balancer holds the proxy's advertised URL, health-checked
// on the proxy's ready path. The same tree is served by the ops listener's
// /traefik (Traefik's HTTP provider, JSON) and written by --traefik-file (the
// file provider, which reads YAML or TOML files only: YAML). Deterministic: keys
// in a fixed order, services sorted by name, so Traefik sees no change unless
// there is one. Valid against SchemaStore's traefik-v3-file-provider schema.

#include <string>
#include <string_view>
#include <vector>

#include "registry/service_record.h"

namespace icaht::discovery {

struct TraefikOptions {
  std::string advertise_host;  // in the servers' URLs: "10.0.0.5", "[::1]", "node1.example"
  std::string scheme = "http";
};

enum class TraefikFormat { kJson, kYaml };

// `records` sorted by name (Registry::List order).
std::string TraefikDynamicConfig(const std::vector<const registry::ServiceRecord*>& records,
                                 const TraefikOptions& options, TraefikFormat format);

}  // namespace icaht::discovery
