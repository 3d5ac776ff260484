#pragma once
// Rate limits (`rate_limit` in the service record): token buckets per key,
// one or several limits per service, the same rate whatever the number of
// shards (shares.h), no lock on the request path.
//
// Request phase: each limit whose key the request has takes part (a request
// without the header or claim a limit is keyed on, or with an empty one, is
// not limited by that limit, as Envoy does with a missing descriptor). All
// limits are checked before any is consumed: a refused request consumes from
// none. A refusal by an enforcing limit answers 429 with Retry-After and a
// problem+json body (the draft's "quota-exceeded" problem type); a limit in
// shadow mode (`enforce: false`) only counts what it would have refused.
//
// Response phase: for every response to a request that advertised limits
// (`headers: true` and enforcing) applied to, the fields of
// draft-ietf-httpapi-ratelimit-headers-11 (structured fields, RFC 8941):
//   RateLimit-Policy: "default";q=100;w=1          per limit: quota q per w seconds
//   RateLimit: "default";r=42;t=1                  per applied limit
// where r is what this shard's bucket holds after the request (whole
// requests; a shard speaks only for its own share, so r never overstates) and
// t the seconds until r next grows (a full bucket: one token's refill time).
// Retry-After (integer seconds >= 1) is never earlier than any t it comes
// with (the draft's section 6).
//
// Per-request text lives in RequestContext::rate_limit_header; the filter
// itself is shared by the exchanges of its shard.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filters/filter.h"
#include "filters/rate_limit/keyed_buckets.h"
#include "filters/rate_limit/rate_limit_spec.h"
#include "filters/rate_limit/shares.h"

namespace icaht::filters {

class RateLimitFilter final : public Filter {
 public:
  // Monotonic nanoseconds; the shard's loop clock (core::LoopNowNs) unless a
  // test injects its own.
  using Clock = int64_t (*)();

  // `specs`: 1..kMaxRateLimits limits that passed the record's validation.
  // One shard until SetShardCount.
  explicit RateLimitFilter(std::vector<RateLimitSpec> specs, Clock clock = nullptr);

  std::string_view name() const override { return "rate_limit"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnResponseHead(RequestContext& ctx) override;

  // The share protocol (shares.h), called on this filter's shard between
  // requests: every kSharePeriodNs, the demand since the last report; the
  // coordinator's answer; and the number of shards (default share 1/n).
  DemandReport TakeDemandReport();
  void ApplyShares(const ShareUpdate& update);
  void SetShardCount(size_t n);

  // Requests answered 429, and requests let through only because the limits
  // that would have refused them are in shadow mode.
  uint64_t refusals() const { return refusals_; }
  uint64_t shadow_refusals() const { return shadow_refusals_; }

  size_t limit_count() const { return limits_.size(); }
  const KeyedBuckets& buckets(size_t limit) const { return limits_[limit].buckets; }
  // The RateLimit-Policy value ("" when no limit is advertised).
  const std::string& policy() const { return policy_; }

 private:
  struct Limit {
    RateLimitSpec spec;
    KeyedBuckets buckets;
    bool advertised;
    std::string item_prefix;  // "\"<name>\";r="
  };

  // Answers 429 for the limits in `entries` (nullptr: not applied).
  void Refuse(RequestContext& ctx, KeyedBuckets::Entry* const* entries, int64_t now_ns);
  // Appends the RateLimit item of limit `i` to ctx.rate_limit_header; returns its t.
  uint64_t AppendItem(RequestContext& ctx, size_t i, const KeyedBuckets::Entry& entry,
                      int64_t now_ns) const;

  std::vector<Limit> limits_;
  std::string policy_;
  Clock clock_;
  uint64_t refusals_ = 0;
  uint64_t shadow_refusals_ = 0;
};

}  // namespace icaht::filters
