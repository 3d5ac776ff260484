#include "service_stats.h"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace icaht::ctl {
namespace {

constexpr std::string_view kRequests = "icaht_requests_total";
constexpr std::string_view kDuration = "icaht_request_duration_seconds";
constexpr std::string_view kDurationBucket = "icaht_request_duration_seconds_bucket";
constexpr std::string_view kConnections = "icaht_active_connections";
constexpr std::string_view kUpstreamUp = "icaht_upstream_up";

bool IsServerError(const std::string* code) {
  return code != nullptr && code->size() == 3 && (*code)[0] == '5';
}

// `after` - `before`, or `after` when the counter went down (a reset).
double Increase(double before, double after) { return after >= before ? after - before : after; }

// The interval's histogram: each bucket's increase, matched by bound.
std::vector<Bucket> BucketIncrease(const std::vector<Bucket>& before,
                                   const std::vector<Bucket>& after, bool reset) {
  std::vector<Bucket> out;
  out.reserve(after.size());
  for (const Bucket& b : after) {
    double earlier = 0;
    if (!reset) {
      auto it =
          std::find_if(before.begin(), before.end(), [&](const Bucket& x) { return x.le == b.le; });
      if (it != before.end()) earlier = it->count;
    }
    out.push_back({b.le, std::max(0.0, b.count - earlier)});
  }
  return out;
}

}  // namespace

ServiceCountersMap CountersByService(const std::vector<MetricFamily>& page) {
  ServiceCountersMap out;
  for (const MetricFamily& family : page) {
    bool requests = family.name == kRequests;
    bool duration = family.name == kDuration;
    bool connections = family.name == kConnections;
    bool upstream_up = family.name == kUpstreamUp;
    if (!requests && !duration && !connections && !upstream_up) continue;
    for (const MetricSample& sample : family.samples) {
      const std::string* service = sample.Label("service");
      if (service == nullptr) continue;
      ServiceCounters& c = out[*service];
      if (requests) {
        c.requests += sample.value;
        if (IsServerError(sample.Label("code"))) c.server_errors += sample.value;
      } else if (duration) {
        const std::string* le_text = sample.Label("le");
        std::optional<double> le = le_text ? ParseMetricValue(*le_text) : std::nullopt;
        if (sample.name == kDurationBucket && le) c.duration.push_back({*le, sample.value});
      } else if (connections) {
        c.active_connections = sample.value;
      } else {
        ++c.upstreams;
        if (sample.value == 1) ++c.upstreams_up;
      }
    }
  }
  for (auto& [name, c] : out) {
    std::sort(c.duration.begin(), c.duration.end(),
              [](const Bucket& a, const Bucket& b) { return a.le < b.le; });
  }
  return out;
}

std::optional<double> HistogramQuantile(double q, std::vector<Bucket> buckets) {
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.le < b.le; });
  if (buckets.size() < 2 || !std::isinf(buckets.back().le)) return std::nullopt;
  for (size_t i = 1; i < buckets.size(); ++i) {
    buckets[i].count = std::max(buckets[i].count, buckets[i - 1].count);
  }
  double total = buckets.back().count;
  if (total <= 0) return std::nullopt;
  double rank = q * total;
  size_t b = 0;
  while (b + 1 < buckets.size() && buckets[b].count < rank) ++b;
  if (b == buckets.size() - 1) return buckets[b - 1].le;
  if (b == 0 && buckets[0].le <= 0) return buckets[0].le;
  double start = 0;
  double end = buckets[b].le;
  double count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].le;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

std::vector<ServiceRates> RatesBetween(const ServiceCountersMap& before,
                                       const ServiceCountersMap& after, double seconds) {
  static const ServiceCounters kNone;
  std::vector<ServiceRates> out;
  out.reserve(after.size());
  for (const auto& [name, now] : after) {
    auto it = before.find(name);
    const ServiceCounters& then = it == before.end() ? kNone : it->second;
    bool reset = now.requests < then.requests;
    ServiceRates r;
    r.name = name;
    r.requests = Increase(then.requests, now.requests);
    double errors = reset ? now.server_errors : Increase(then.server_errors, now.server_errors);
    r.requests_per_second = r.requests / seconds;
    if (r.requests > 0) r.error_ratio = std::min(1.0, errors / r.requests);
    bool histogram_reset = reset || (!now.duration.empty() && !then.duration.empty() &&
                                     now.duration.back().count < then.duration.back().count);
    std::vector<Bucket> interval = BucketIncrease(then.duration, now.duration, histogram_reset);
    r.p50_seconds = HistogramQuantile(0.5, interval);
    r.p99_seconds = HistogramQuantile(0.99, interval);
    r.active_connections = now.active_connections;
    r.upstreams = now.upstreams;
    r.upstreams_up = now.upstreams_up;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace icaht::ctl
