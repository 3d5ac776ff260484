#include "filters/rate_limit/rate_limit_filter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/hash/hash.h"
#include "core/check.h"
#include "core/timer_queue.h"

namespace icaht::filters {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
// Keys longer than this (header values can be 64 KiB) are stored as a prefix
// and a hash of the whole value, so that max_keys bounds the memory too.
constexpr size_t kMaxKeyBytes = 256;
constexpr size_t kHashHexDigits = 16;

void AppendUint(std::string& out, uint64_t value) {
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

// Whole seconds, rounded up, at least 1.
uint64_t CeilSeconds(int64_t ns) {
  return std::max<int64_t>(1, (ns + kNsPerSecond - 1) / kNsPerSecond);
}

// The quota and window of RateLimit-Policy: q requests per w seconds, w the
// shortest whole window in which at least one request accrues.
void AppendPolicyItem(std::string& out, const RateLimitSpec& spec) {
  double rate = spec.requests_per_second;
  uint64_t window = rate >= 1 ? 1 : static_cast<uint64_t>(std::ceil(1 / rate));
  uint64_t quota = static_cast<uint64_t>(std::floor(rate * static_cast<double>(window) + 1e-9));
  out.append("\"").append(spec.name).append("\";q=");
  AppendUint(out, quota);
  out.append(";w=");
  AppendUint(out, window);
}

// The request's key for `spec` in *key (pointing into ctx or `buffer`), or
// false when the request does not have one.
bool KeyOf(const RequestContext& ctx, const RateLimitSpec& spec, char (&buffer)[kMaxKeyBytes],
           std::string_view* key) {
  switch (spec.key) {
    case RateLimitKey::kService:
      *key = {};
      return true;
    case RateLimitKey::kClientIp:
      *key = ctx.client_ip;
      break;
    case RateLimitKey::kHeader: {
      const http::Header* header = ctx.FindRequestHeader(spec.key_name);
      if (header == nullptr) return false;
      *key = header->value;
      break;
    }
    case RateLimitKey::kClaim: {
      const std::string* claim = ctx.FindClaim(spec.key_name);
      if (claim == nullptr) return false;
      *key = *claim;
      break;
    }
  }
  if (key->empty()) return false;
  if (key->size() > kMaxKeyBytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t prefix = kMaxKeyBytes - 1 - kHashHexDigits;
    uint64_t hash = absl::Hash<std::string_view>{}(*key);
    std::copy_n(key->data(), prefix, buffer);
    buffer[prefix] = '#';
    for (size_t i = 0; i < kHashHexDigits; ++i) {
      buffer[prefix + 1 + i] = kHex[(hash >> (60 - 4 * i)) & 0xf];
    }
    *key = std::string_view(buffer, kMaxKeyBytes);
  }
  return true;
}

// Whole requests the bucket admits now (a full bucket smaller than one
// request still admits one).
uint64_t Available(const TokenBucket& bucket) {
  if (!bucket.CanTake(1)) return 0;
  return std::max<uint64_t>(1, static_cast<uint64_t>(bucket.tokens()));
}

}  // namespace

RateLimitFilter::RateLimitFilter(std::vector<RateLimitSpec> specs, Clock clock)
    : clock_(clock != nullptr ? clock : core::LoopNowNs) {
  ICAHT_CHECK(!specs.empty() && specs.size() <= kMaxRateLimits);
  limits_.reserve(specs.size());
  for (RateLimitSpec& spec : specs) {
    ICAHT_CHECK(spec.requests_per_second > 0 && spec.burst >= 1 && spec.max_keys >= 1);
    KeyedBuckets buckets(spec.requests_per_second, spec.burst, spec.max_keys);
    bool advertised = spec.enforce && spec.headers;
    std::string prefix = "\"" + spec.name + "\";r=";
    if (advertised) {
      if (!policy_.empty()) policy_.append(", ");
      AppendPolicyItem(policy_, spec);
    }
    limits_.push_back(Limit{std::move(spec), std::move(buckets), advertised, std::move(prefix)});
  }
}

Verdict RateLimitFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks&) {
  int64_t now = clock_();
  KeyedBuckets::Entry* entries[kMaxRateLimits] = {};
  char buffer[kMaxKeyBytes];
  bool refused = false;
  bool shadow_refused = false;
  bool advertised = false;
  for (size_t i = 0; i < limits_.size(); ++i) {
    Limit& limit = limits_[i];
    std::string_view key;
    if (!KeyOf(ctx, limit.spec, buffer, &key)) continue;
    KeyedBuckets::Entry& entry = limit.buckets.Attempt(key, now);
    entries[i] = &entry;
    advertised |= limit.advertised;
    if (!entry.bucket.CanTake(1)) {
      if (limit.spec.enforce) {
        refused = true;
      } else {
        shadow_refused = true;
      }
    }
  }
  if (refused) {
    ++refusals_;
    ctx.rate_limited = RequestContext::RateLimited::kRefused;
    Refuse(ctx, entries, now);
    return Verdict::kRespond;
  }
  for (size_t i = 0; i < limits_.size(); ++i) {
    if (entries[i] != nullptr && entries[i]->bucket.CanTake(1)) entries[i]->bucket.Consume(1);
  }
  if (shadow_refused) {
    ++shadow_refusals_;
    ctx.rate_limited = RequestContext::RateLimited::kShadow;
  }
  std::string& text = ctx.rate_limit_header;
  text.clear();
  if (advertised) {
    text.push_back('\n');  // not assign("\n"): GCC 12 warns wrongly (-Wrestrict, bug 105651)
    for (size_t i = 0; i < limits_.size(); ++i) {
      if (entries[i] != nullptr && limits_[i].advertised) AppendItem(ctx, i, *entries[i], now);
    }
  }
  return Verdict::kContinue;
}

uint64_t RateLimitFilter::AppendItem(RequestContext& ctx, size_t i,
                                     const KeyedBuckets::Entry& entry, int64_t now_ns) const {
  const TokenBucket& bucket = entry.bucket;
  uint64_t available = Available(bucket);
  // t: until one more whole request is available; for a full bucket, how
  // long one request takes to come back. With a request available that is
  // at most 1/rate, so at one request per second or more it is 1.
  uint64_t seconds = 1;
  if (available == 0) {
    seconds = CeilSeconds(bucket.TimeUntil(1, now_ns));
  } else if (bucket.rate() < 1) {
    int64_t wait_ns;
    if (bucket.tokens() >= bucket.capacity()) {
      wait_ns = static_cast<int64_t>(std::ceil(1e9 / bucket.rate()));
    } else {
      double next = std::floor(std::max(0.0, bucket.tokens())) + 1;
      wait_ns = bucket.TimeUntil(std::min(next, bucket.capacity()), now_ns);
    }
    seconds = CeilSeconds(wait_ns);
  }
  std::string& text = ctx.rate_limit_header;
  if (text.back() != '\n') text.append(", ");
  text.append(limits_[i].item_prefix);
  AppendUint(text, available);
  text.append(";t=");
  AppendUint(text, seconds);
  return seconds;
}

void RateLimitFilter::Refuse(RequestContext& ctx, KeyedBuckets::Entry* const* entries,
                             int64_t now_ns) {
  int64_t retry_ns = 0;
  for (size_t i = 0; i < limits_.size(); ++i) {
    const KeyedBuckets::Entry* entry = entries[i];
    if (entry == nullptr || !limits_[i].spec.enforce || entry->bucket.CanTake(1)) continue;
    retry_ns = std::max(retry_ns, entry->bucket.TimeUntil(1, now_ns));
  }
  // The RateLimit items go after the Retry-After digits, which are only
  // known once every item's t is.
  std::string& text = ctx.rate_limit_header;
  text.clear();
  text.push_back('\n');
  uint64_t retry_after = CeilSeconds(retry_ns);
  for (size_t i = 0; i < limits_.size(); ++i) {
    if (entries[i] == nullptr || !limits_[i].advertised) continue;
    retry_after = std::max(retry_after, AppendItem(ctx, i, *entries[i], now_ns));
  }
  std::string digits;
  AppendUint(digits, retry_after);
  text.insert(0, digits);

  LocalResponse& response = ctx.local_response;
  response.status = 429;
  response.content_type = "application/problem+json";
  response.body.assign(
      "{\"type\":\"https://iana.org/assignments/http-problem-types#quota-exceeded\","
      "\"title\":\"Too many requests: the rate limit was exceeded\"");
  bool first = true;
  for (size_t i = 0; i < limits_.size(); ++i) {
    const KeyedBuckets::Entry* entry = entries[i];
    if (entry == nullptr || !limits_[i].advertised || entry->bucket.CanTake(1)) continue;
    response.body.append(first ? ",\"violated-policies\":[\"" : ",\"");
    response.body.append(limits_[i].spec.name).append("\"");
    first = false;
  }
  if (!first) response.body.append("]");
  response.body.append("}\n");
}

void RateLimitFilter::OnResponseHead(RequestContext& ctx) {
  std::string_view text = ctx.rate_limit_header;
  if (text.empty()) return;
  std::string_view items = text.substr(1);  // allowed: no Retry-After part
  if (text.front() != '\n') {
    size_t newline = text.find('\n');
    ctx.response_edits.Add("Retry-After", text.substr(0, newline));
    items = text.substr(newline + 1);
  }
  if (!items.empty()) {
    ctx.response_edits.Add("RateLimit-Policy", policy_);
    ctx.response_edits.Add("RateLimit", items);
  }
}

DemandReport RateLimitFilter::TakeDemandReport() {
  int64_t now = clock_();
  DemandReport report;
  size_t watched = 0;
  for (const Limit& limit : limits_) watched += limit.buckets.watched();
  report.entries.reserve(watched);
  for (size_t i = 0; i < limits_.size(); ++i) {
    limits_[i].buckets.TakeDemand(static_cast<uint32_t>(i), now, &report.entries);
  }
  return report;
}

void RateLimitFilter::ApplyShares(const ShareUpdate& update) {
  int64_t now = clock_();
  for (const ShareEntry& entry : update.entries) {
    // An update computed for another configuration's limits is ignored.
    if (entry.limit >= limits_.size()) continue;
    limits_[entry.limit].buckets.ApplyShare(entry.key, entry.share, entry.grant_fill, now);
  }
}

void RateLimitFilter::SetShardCount(size_t n) {
  int64_t now = clock_();
  for (Limit& limit : limits_) limit.buckets.SetShardCount(n, now);
}

}  // namespace icaht::filters
