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
// The record's outlier_detection (semantics in admin/outlier_detector.h):
//
//   "outlier_detection": null   as when absent: no passive health
//   "outlier_detection": {"consecutive_5xx": 5, "consecutive_gateway_errors": 0,
//                         "success_rate_min_hosts": 5, "success_rate_request_volume": 100,
//                         "success_rate_stdev_factor": 1.9, "interval_s": 10,
//                         "base_ejection_s": 30, "max_ejection_s": 300,
//                         "max_ejection_percent": 10, "panic_threshold_percent": 50}
//              every member optional (Envoy's defaults, as shown); durations in
//              seconds with millisecond resolution (0.001..86400)
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

absl::Status ParseOutlierDetection(json::Value& value, const std::string& path,
                                   std::optional<filters::OutlierSpec>& out);
void WriteOutlierDetection(JsonWriter& writer, const std::optional<filters::OutlierSpec>& spec);

}  // namespace icaht::registry
