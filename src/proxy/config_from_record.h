#pragma once
// What a shard serves for one registered service, built from its record on
// the control thread (one copy per shard; they share the immutable parts).

#include <memory>

#include "net/address.h"
#include "proxy/service_config.h"
#include "registry/service_record.h"

namespace icaht::proxy {

// `bind`: the daemon's service bind address (its port is replaced by the
// record's); `drain_timeout_ms`: the daemon's grace for in-flight requests.
// `specs`: the filters' specs, when made already (shared by the configs of
// several shards); null: the record's, a copy of its own.
std::unique_ptr<ServiceConfig> ServiceConfigFromRecord(
    const registry::ServiceRecord& record, const net::Address& bind, uint32_t drain_timeout_ms,
    std::shared_ptr<filters::FilterSpecs> specs = nullptr);
// The record's filter specs (auth keys, plugin libraries and the shard count
// are the control thread's to add).
std::shared_ptr<filters::FilterSpecs> FilterSpecsFromRecord(const registry::ServiceRecord& record);

}  // namespace icaht::proxy
