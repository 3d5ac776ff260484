#pragma once
// The service record: what a user registers (DESIGN.md "Service record").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/boxed.h"
#include "filters/auth_spec.h"
#include "filters/cache_spec.h"
#include "filters/cors.h"
#include "filters/fault.h"
#include "filters/health.h"
#include "filters/lua_filter.h"
#include "filters/plugin_filter.h"
#include "filters/rate_limit/rate_limit_spec.h"
#include "filters/request_id.h"
#include "filters/retry_policy.h"
#include "filters/route_spec.h"
#include "filters/upstream_policy.h"
#include "net/address.h"
#include "registry/json_writer.h"
#include "registry/record_egress.h"
#include "registry/record_mirror.h"
#include "registry/record_tls.h"
#include "tracing/trace_context.h"

namespace icaht::registry {

struct UpstreamSpec {
  std::string address;  // as the user wrote it ("127.0.0.1:8080")
  net::Address resolved;
  uint32_t weight = 1;               // 1..1000
  core::Boxed<UpstreamTlsSpec> tls;  // null: plain HTTP to this instance
  filters::Labels labels;            // what `subsets` select (registry/record_routes.h)

  friend bool operator==(const UpstreamSpec&, const UpstreamSpec&) = default;
};

// The name a TLS upstream is verified against and sent as SNI: its
// tls.server_name, else the host of its address as written.
std::string TlsServerName(const UpstreamSpec& upstream);

struct TimeoutSpec {
  uint32_t connect_ms = 1000;   // 1..600000
  uint32_t request_ms = 15000;  // 1..3600000; upstream response (and header read) deadline
  uint32_t idle_ms = 60000;     // 1..86400000; keep-alive idle
  // 0..3600000; 0 = none: the whole exchange, retries and the response body
  // included (not WebSocket tunnels), from its first byte.
  uint32_t total_ms = 0;
  // Honour a client's x-icaht-timeout-ms (1..3600000) in place of total_ms
  // (Envoy's x-envoy-upstream-rq-timeout-ms, for trusted callers).
  bool trust_header = false;

  friend bool operator==(const TimeoutSpec&, const TimeoutSpec&) = default;
};

// HTTP parsing limits per service (RFC 9112 leaves them to us; these match
// common proxies' defaults).
struct LimitSpec {
  uint32_t max_request_line = 8 * 1024;   // -> 414
  uint32_t max_header_bytes = 64 * 1024;  // whole head -> 431
  uint32_t max_headers = 100;             // -> 431

  friend bool operator==(const LimitSpec&, const LimitSpec&) = default;
};

struct ServiceRecord {
  std::string name;                     // see IsValidServiceName
  std::string version;                  // free text, <= 64 bytes
  std::vector<UpstreamSpec> upstreams;  // 1..64 entries
  // Traffic splitting (registry/record_routes.h): none by default, when every
  // request goes to the whole set of upstreams.
  std::vector<filters::SubsetSpec> subsets;
  std::vector<filters::RouteSpec> routes;
  uint16_t port = 0;       // 0 = allocate from the port range
  std::string route_rule;  // "" = PathPrefix(`/<name>`); ParseServiceRecord fills it in
  // The Traefik router's optional settings (route.entry_points, .middlewares,
  // .priority): names as Traefik knows them ("websecure", "auth@file").
  std::vector<std::string> route_entry_points;
  std::vector<std::string> route_middlewares;
  int32_t route_priority = 0;  // 0: Traefik's default (the rule's length)
  uint32_t ttl_s = 0;          // 0..86400; 0 = no TTL
  TimeoutSpec timeouts;
  // round_robin, least_request, random, ring_hash or maglev (proxy/balancer.h).
  std::string load_balancer = "round_robin";
  // What ring_hash and maglev hash: "client_ip", "header:<lower-case name>" or
  // "cookie:<name>"; "" (null) = client_ip for those, refused with others.
  std::string hash_on;
  std::optional<filters::RetryPolicy> retries;                 // null: only the built-in retries
  std::optional<filters::CircuitBreakerSpec> circuit_breaker;  // null: no limits
  std::optional<filters::OutlierSpec> outlier_detection;       // null: no passive health
  core::Boxed<MirrorSpec> mirror;                              // null: no request shadowing
  uint64_t max_body_bytes = 0;  // 0 = unlimited (-> 413 when exceeded)
  LimitSpec limits;
  filters::RequestIdSpec request_id;                // off unless the record names it
  filters::HealthSpec health;                       // /health and /ready on by default
  std::vector<filters::EndpointSpec> endpoints;     // per-endpoint authorization
  filters::AuthSpec auth;                           // authentication methods (none by default)
  filters::CorsSpec cors;                           // off unless the record names it
  std::vector<filters::RateLimitSpec> rate_limits;  // `rate_limit`: none by default
  core::Boxed<filters::FaultSpec> fault;            // off unless the record names it
  core::Boxed<filters::CacheSpec> cache;            // off unless the record names it
  std::optional<tracing::TracingSpec> tracing;      // off unless the record names it
  bool access_log = true;  // lines in the daemon's access log (when it has one)
  // Native plugins, in order (registry/record_plugins.h); none by default.
  std::vector<filters::PluginSpec> plugins;
  core::Boxed<filters::LuaSpec> lua;  // a Lua script (registry/record_lua.h); none by default
  core::Boxed<TlsSpec> tls;           // null: the port speaks plain HTTP
  EgressSpec egress;                  // calls from local applications (egress listener)

  friend bool operator==(const ServiceRecord&, const ServiceRecord&) = default;
};

// 1..63 characters of [a-z0-9._-], the first one a letter or a digit: safe in
// a URL path, a metric label, a file name and a Traefik router name.
bool IsValidServiceName(std::string_view name);

// "PathPrefix(`/<name>`)": the route a record gets when it names none.
std::string DefaultRouteRule(std::string_view name);
// record.route_rule, or the default when it is empty.
std::string EffectiveRouteRule(const ServiceRecord& record);

// Parses and validates a record from JSON text (one object, nothing after
// it). Errors are InvalidArgument and always name the field:
//   "field 'upstreams[1].weight': must be an integer 1..1000"
//   "field 'name': required"      "unknown field 'foo'"
//   "field 'plugins[0].path': must be an absolute path"   "invalid JSON at byte 12 (line 1, column
//   13): ..."
// On success route_rule is never empty (the default is filled in), so
// ParseServiceRecord(ToJson(r)) == r for every parsed r. "serving" (a boolean
// GET adds, see the admin API) is accepted and ignored: it is not part of the
// record.
absl::StatusOr<ServiceRecord> ParseServiceRecord(std::string_view json);

// Serializes to the canonical JSON form (the one GET returns), with every
// defaulted field spelled out, in this order (subsets and routes follow
// upstreams, and the route's optional settings its rule, only when set):
// {"name":"orders","version":"","upstreams":[{"address":"127.0.0.1:8080","weight":1}],
//  "port":7001,"route":{"rule":"PathPrefix(`/orders`)"},"ttl_s":0,
//  "timeouts":{"connect_ms":1000,"request_ms":15000,"idle_ms":60000,"total_ms":0,"trust_header":false},
//  "load_balancer":"round_robin","hash_on":null,"retries":null,"circuit_breaker":null,
//  "outlier_detection":null,"mirror":null,"max_body_bytes":0,"limits":{...},
//  "request_id":null,"health":{...},"endpoints":[],"auth":null,"cors":null,"rate_limit":[],
//  "fault":null,"cache":null,"tracing":null,"access_log":true,"tls":null,"egress":{...}}
// ("plugins" and "lua" follow access_log only when the record has them.)
std::string ToJson(const ServiceRecord& record);
// The same, written as the next value of `writer` (e.g. inside a list).
void WriteJson(JsonWriter& writer, const ServiceRecord& record);

}  // namespace icaht::registry
