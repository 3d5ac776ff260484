#pragma once
// What a sidecar publishes in etcd for a fleet (issue 11), and the etcd v3
// JSON-gateway request bodies that write it. Pure: no sockets (the client
// that sends them runs on the control thread).
//
// Traefik's KV provider layout (rootKey "traefik"), and the records other
// sidecars' egress reads:
//
//   traefik/http/routers/<name>/rule                         shared
//   traefik/http/routers/<name>/service                      shared (= <name>)
//   traefik/http/routers/<name>/entryPoints/<i>, middlewares/<i>, priority   shared
//   traefik/http/services/<name>/loadBalancer/healthCheck/{path,interval,timeout}  shared
//   traefik/http/services/<name>/loadBalancer/servers/<host>/url   this host's, leased
//   icaht/services/<name>/<host>                             this host's, leased: the record
//
// <host> is the host's stable numeric id (--host-id): Traefik accepts
// non-contiguous server indices, so hosts never renumber each other. A host's
// own keys hang on its lease, so a dead host's servers vanish within the TTL.
// The shared keys are the same from every host of a service and carry no
// lease: a router must not vanish with whichever host wrote it last while
// others still serve it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry/service_record.h"

namespace icaht::discovery {

struct EtcdHost {
  uint32_t host_id = 0;
  std::string advertise_host;  // as in the Traefik URLs ("10.0.0.5", "[::1]")
  std::string scheme = "http";
};

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// This host's keys for `record` (to put under its lease).
std::vector<KeyValue> HostKeys(const registry::ServiceRecord& record, const EtcdHost& host);
// The router and service settings every host of `record` writes alike.
std::vector<KeyValue> SharedKeys(const registry::ServiceRecord& record);
// This host's keys for service `name` (deleted when it deregisters).
std::vector<std::string> HostKeyNames(std::string_view name, uint32_t host_id);

// POST /v3/kv/txn bodies: every put in one transaction (`lease` 0: none), and
// every delete in one.
std::string PutTxnBody(const std::vector<KeyValue>& leased, int64_t lease,
                       const std::vector<KeyValue>& plain);
std::string DeleteTxnBody(const std::vector<std::string>& keys);

// Standard base64 with padding (the gateway's encoding of keys and values).
std::string Base64Encode(std::string_view data);
// False when `text` is not base64.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace icaht::discovery
