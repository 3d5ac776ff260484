#pragma once
// One rate limit of a service (`rate_limit` in the service record, an object
// or an array of them): a token bucket of `requests_per_second` refilling up
// to `burst`, one bucket per value of `key`. Parsed and written by
// registry/record_rate_limit.h; enforced by RateLimitFilter.

#include <cstdint>
#include <string>

namespace icaht::filters {

enum class RateLimitKey : uint8_t {
  kService,   // "service": one bucket for the whole service
  kClientIp,  // "client_ip": the connection's peer address
  kHeader,    // "header:<name>": the first field of that name
  kClaim,     // "claim:<name>": a claim an authentication filter verified
};

struct RateLimitSpec {
  // The policy's name in the RateLimit-Policy / RateLimit fields: 1..64 of
  // [A-Za-z0-9._-] (an sf-string that needs no escaping); unique per service.
  std::string name = "default";
  double requests_per_second = 1;  // > 0, <= 1e7; fractions allowed
  uint32_t burst = 1;              // >= 1; the parser defaults it to max(1, ceil(rate))
  RateLimitKey key = RateLimitKey::kService;
  std::string key_name;  // the header or claim name (kHeader, kClaim)
  // false: shadow mode, refusals are counted but not made (and the limit is
  // not advertised in the response fields).
  bool enforce = true;
  // Advertise the limit in RateLimit-Policy / RateLimit on every response it
  // applied to (Retry-After is sent on a 429 either way).
  bool headers = true;
  // Keys whose buckets a shard holds at most (evicting full ones first).
  uint32_t max_keys = 100000;

  friend bool operator==(const RateLimitSpec&, const RateLimitSpec&) = default;
};

// A service has at most this many limits (a request checks them all).
inline constexpr size_t kMaxRateLimits = 8;

}  // namespace icaht::filters
