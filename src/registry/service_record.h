#pragma once
// The service record: what a user registers (DESIGN.md "Service record").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/address.h"

namespace icaht::registry {

struct UpstreamSpec {
  std::string address;  // as the user wrote it ("127.0.0.1:8080")
  net::Address resolved;
  uint32_t weight = 1;  // 1..1000
};

struct TimeoutSpec {
  uint32_t connect_ms = 1000;
  uint32_t request_ms = 15000;  // upstream response (and header read) deadline
  uint32_t idle_ms = 60000;     // keep-alive idle
};

struct ServiceRecord {
  std::string name;  // [a-z0-9]([a-z0-9-_.]{0,62}) -- see ValidateName
  std::string version;
  std::vector<UpstreamSpec> upstreams;  // at least one
  uint16_t port = 0;                    // 0 = allocate from the port range
  std::string route_rule;               // "" = PathPrefix(`/<name>`)
  uint32_t ttl_s = 0;                   // 0 = no TTL
  TimeoutSpec timeouts;
  std::string load_balancer = "round_robin";
  uint64_t max_body_bytes = 0;  // 0 = unlimited (-> 413 when exceeded)
};

// Parses and validates a record from JSON text. Errors are
// InvalidArgument("field 'upstreams[1].weight': must be 1..1000") style: they
// always name the field. Unknown fields are refused; design fields that this
// build does not implement yet are refused with "not supported yet".
absl::StatusOr<ServiceRecord> ParseServiceRecord(std::string_view json);

// Serializes to the canonical JSON form (the one GET returns), with every
// defaulted field spelled out.
std::string ToJson(const ServiceRecord& record);

}  // namespace icaht::registry
