#pragma once
// The configs behind the egress listener (proxy/egress_router.h): how a
// service is served to local callers, and the listener's own.

#include <memory>

#include "proxy/service_config.h"
#include "registry/record_egress.h"

namespace icaht::proxy {

// A service's config for local callers: `ingress`'s instances (same order,
// same TLS), balancing, breakers and outlier detection, with `egress`'s
// retries and timeouts in place of the record's where it sets them, and a
// chain of request ID (trusting the caller's: it is the same trace of work)
// and the service's tracing only: the edge policy (auth, CORS, rate limits,
// fault injection, local health endpoints) is for callers from outside.
std::unique_ptr<ServiceConfig> EgressConfigFor(const ServiceConfig& ingress,
                                               const registry::EgressSpec& egress);

// The listener's own: its parsing limits and timeouts, no upstreams.
std::unique_ptr<ServiceConfig> EgressListenerConfig(const net::Address& listen);

}  // namespace icaht::proxy
