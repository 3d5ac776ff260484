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

// Passive health (Envoy's outlier_detection): instances that fail are taken
// out of the rotation for a while, on every shard.
struct OutlierSpec {
  uint32_t consecutive_5xx = 5;             // 5xx answers (and gateway errors) in a row; 0: off
  uint32_t consecutive_gateway_errors = 0;  // connect failures, resets, timeouts, 502-504; 0: off
  // Success-rate ejection, each interval: among instances with at least
  // request_volume requests, when at least min_hosts have that many, those
  // below mean - stdev_factor * stdev are ejected. min_hosts 0: off.
  uint32_t success_rate_min_hosts = 5;
  uint32_t success_rate_request_volume = 100;
  double success_rate_stdev_factor = 1.9;
  uint32_t interval_ms = 10'000;
  // An ejection lasts base * (its number of recent ejections), at most max.
  uint32_t base_ejection_ms = 30'000;
  uint32_t max_ejection_ms = 300'000;
  uint32_t max_ejection_percent = 10;  // at least one instance may always be ejected (if > 0)
  // Below this share of usable instances, all are used again (Envoy's
  // healthy_panic_threshold); 0: never.
  uint32_t panic_threshold_percent = 50;
  friend bool operator==(const OutlierSpec&, const OutlierSpec&) = default;
};

}  // namespace icaht::filters
