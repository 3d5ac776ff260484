#pragma once
// The record's settings for how a service's instances are protected (issue
// 12): circuit_breaker and outlier_detection. Plain data, validated by the
// registry (record_upstream_policy.h), enforced by the proxy
// (proxy/circuit_breaker.h, proxy/outlier_detector.h).

#include <cstdint>

namespace icaht::filters {

// Envoy's cluster thresholds and defaults. Limits for the whole service;
// each shard enforces its share (the limit divided by the shard count,
// rounded up).
struct CircuitBreakerSpec {
  uint32_t max_connections = 1024;  // exchanges holding an upstream connection
  uint32_t max_pending = 1024;      // exchanges queued for one (0: none wait)
  uint32_t max_requests = 1024;     // exchanges wanting the upstream (queued or not)
  uint32_t max_retries = 3;         // retries in flight
  friend bool operator==(const CircuitBreakerSpec&, const CircuitBreakerSpec&) = default;
};

}  // namespace icaht::filters
