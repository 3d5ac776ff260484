#pragma once
// The record's circuit_breaker (semantics in proxy/circuit_breaker.h):
//
//   "circuit_breaker": null   as when absent: no limits
//   "circuit_breaker": {"max_connections": 1024, "max_pending": 1024,
//                       "max_requests": 1024, "max_retries": 3}
//              every member optional (Envoy's defaults, as shown);
//              max_connections and max_requests 1..1000000, max_pending and
//              max_retries 0..1000000
//
// Errors name the field ("field 'circuit_breaker.max_pending': ...").

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "filters/upstream_policy.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

absl::Status ParseCircuitBreaker(json::Value& value, const std::string& path,
                                 std::optional<filters::CircuitBreakerSpec>& out);
// Null when unset, else every member.
void WriteCircuitBreaker(JsonWriter& writer,
                         const std::optional<filters::CircuitBreakerSpec>& spec);

}  // namespace icaht::registry
