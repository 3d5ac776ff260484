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
//   icaht/shared/<name>                                      shared: "these router keys are ours"
//
// <host> is the host's stable numeric id (--host-id): Traefik accepts
// non-contiguous server indices, so hosts never renumber each other. A host's
// own keys hang on its lease, so a dead host's servers vanish within the TTL.
// The shared keys are the same from every host of a service and carry no
// lease: a router must not vanish with whichever host wrote it last while
// others still serve it. They go when the last host leaves: deregistration
// deletes them in a transaction guarded by "no server key left", and a
// periodic sweep does the same for services whose last host died (the
// icaht/shared/ marker says which routers a sidecar wrote, so that routers an
// operator keeps in the same etcd are never touched).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/http_url.h"
#include "registry/json_reader.h"
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

// The marker (unleased) that says a sidecar published service `name`'s
// shared keys.
std::string MarkerKey(std::string_view name);
// Where service `name`'s shared keys live: every key under these prefixes is
// one (SharedKeys' keys, and stale ones an older record wrote).
std::vector<std::string> SharedPrefixes(std::string_view name);
// The prefix of every host's server key of service `name`.
std::string ServersPrefix(std::string_view name);
// The end of the range of keys starting with `prefix` (etcd's range_end).
std::string PrefixEnd(std::string_view prefix);

// POST /v3/kv/txn bodies. Puts (`lease` 0: none) and deletes of single keys
// in one transaction; `delete_keys` must not name a put key. With
// `unchanged_prefixes`, only if no key under them changed after `revision`
// (the revision they were read at): read-modify-write without losing another
// host's concurrent change.
std::string PutTxnBody(const std::vector<KeyValue>& leased, int64_t lease,
                       const std::vector<KeyValue>& plain,
                       const std::vector<std::string>& delete_keys = {},
                       const std::vector<std::string>& unchanged_prefixes = {},
                       int64_t revision = 0);
// Deletes this host's keys of service `name`, only if they are on `lease`
// (another host that took the same id keeps its own).
std::string DeleteHostKeysTxnBody(std::string_view name, uint32_t host_id, int64_t lease);
std::string DeleteTxnBody(const std::vector<std::string>& keys);
// Reads the keys under each prefix (keys only), in one transaction.
std::string RangeTxnBody(const std::vector<std::string>& prefixes);
// Counts the keys under each prefix, in one transaction.
std::string CountTxnBody(const std::vector<std::string>& prefixes);
// If no server of service `name` is left (from any host) and the router is a
// sidecar's (its marker exists): deletes its shared keys and marker,
// atomically with the check.
std::string UnpublishSharedTxnBody(std::string_view name);
// POST /v3/lease/grant, /v3/lease/keepalive and /v3/lease/revoke bodies.
std::string LeaseGrantBody(int64_t ttl_s);
std::string LeaseIdBody(int64_t lease);

// Answers of the gateway. A lease grant's ID; a keepalive's remaining TTL
// (0: the lease is gone); a range transaction's revision and keys (decoded),
// one list per range; a count transaction's counts.
struct RangeAnswer {
  int64_t revision = 0;
  std::vector<std::vector<std::string>> keys;
};
absl::StatusOr<int64_t> ParseLeaseGrant(std::string_view body);
absl::StatusOr<int64_t> ParseKeepalive(std::string_view body);
absl::StatusOr<RangeAnswer> ParseRangeTxn(std::string_view body);
absl::StatusOr<std::vector<int64_t>> ParseCountTxn(std::string_view body);
// Whether a transaction's compare held (its success branch ran).
bool TxnSucceeded(std::string_view body);
// An error answer ({"error":...,"code":N}): its gRPC code, if the body is one.
std::optional<int> ErrorCode(std::string_view body);
// gRPC NOT_FOUND: the lease a request named is gone.
inline constexpr int kGrpcNotFound = 5;

// A 64-bit integer of a gateway answer: a JSON string ("7587899270062434309",
// as the gateway writes them) or a number.
absl::StatusOr<int64_t> ReadGatewayInt64(registry::json::Value& value, std::string_view path);

// --etcd-endpoints as URLs (errors name the flag and the endpoint).
absl::StatusOr<std::vector<net::HttpUrl>> ParseEtcdEndpoints(
    const std::vector<std::string>& endpoints);

// Standard base64 with padding (the gateway's encoding of keys and values).
std::string Base64Encode(std::string_view data);
// False when `text` is not base64.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace icaht::discovery
