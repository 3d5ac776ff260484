#pragma once
// The configs behind the egress listener (proxy/egress_router.h): how a
// service is served to local callers, and the listener's own.

#include <memory>
#include <string>
#include <vector>

#include "proxy/service_config.h"
#include "registry/record_egress.h"
#include "registry/service_record.h"

namespace icaht::proxy {

// A service's config for local callers: `ingress`'s instances (same order,
// same TLS), balancing, breakers and outlier detection, with `egress`'s
// retries and timeouts in place of the record's where it sets them, and a
// chain of request ID (trusting the caller's: it is the same trace of work)
// and the service's tracing only: the edge policy (auth, CORS, rate limits,
// fault injection, local health endpoints) is for callers from outside.
std::unique_ptr<ServiceConfig> EgressConfigFor(const ServiceConfig& ingress,
                                               const registry::EgressSpec& egress);

// A service of other hosts of the fleet (discovery/remote_services.h) for
// local callers: `upstreams` are those hosts' ingress ports for it, and the
// policy comes from one host's published `record` as for a local service
// (its egress retries and timeouts, else its own; its balancing and breaker)
// but without outlier detection (no detector here watches remote services:
// the remote sidecar's passive health and the breaker still apply). Null
// `record` (one this build cannot read): the defaults.
std::unique_ptr<ServiceConfig> RemoteServiceConfig(const std::string& name,
                                                   std::vector<UpstreamConfig> upstreams,
                                                   const registry::ServiceRecord* record,
                                                   uint32_t drain_timeout_ms);

// The listener's own: its parsing limits and timeouts, no upstreams.
std::unique_ptr<ServiceConfig> EgressListenerConfig(const net::Address& listen);

}  // namespace icaht::proxy
