#pragma once
// What a shard serves for one registered service, built from its record on
// the control thread (one copy per shard; shards never share it).

#include <memory>

#include "net/address.h"
#include "proxy/service_config.h"
#include "registry/service_record.h"

namespace icaht::proxy {

// `bind`: the daemon's service bind address (its port is replaced by the
// record's); `drain_timeout_ms`: the daemon's grace for in-flight requests.
std::unique_ptr<ServiceConfig> ServiceConfigFromRecord(const registry::ServiceRecord& record,
                                                       const net::Address& bind,
                                                       uint32_t drain_timeout_ms);

}  // namespace icaht::proxy
