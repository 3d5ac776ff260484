#pragma once

// The numbers `icahtctl top` shows for each service, from two scrapes of the daemon's
// /metrics: what the service's counters did between them, and its gauges at the second.
// The families read (README "Metrics"): icaht_requests_total{service,code},
// icaht_request_duration_seconds{service} (histogram), icaht_active_connections{service},
// icaht_upstream_up{service,upstream}.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metrics_text.h"

namespace icaht::ctl {

// One histogram bucket: observations <= le, cumulative as in name_bucket{le="..."}.
struct Bucket {
  double le = 0;
  double count = 0;
};

// One service at one scrape.
struct ServiceCounters {
  double requests = 0;           // icaht_requests_total over every code
  double server_errors = 0;      // ... over the 5xx codes
  std::vector<Bucket> duration;  // icaht_request_duration_seconds, sorted by le
  double active_connections = 0;
  int upstreams = 0;     // icaht_upstream_up samples
  int upstreams_up = 0;  // ... of them 1
};

using ServiceCountersMap = std::map<std::string, ServiceCounters>;  // by service name

// Every service that has a sample in one of the families above.
ServiceCountersMap CountersByService(const std::vector<MetricFamily>& page);

// The q-quantile (0 <= q <= 1) of a cumulative histogram as Prometheus' histogram_quantile
// computes it: the bucket holding rank q * count, linearly interpolated within it (the first
// bucket starting at 0); a rank in the +Inf bucket gives the highest finite bound. nullopt
// without observations or without a +Inf bucket. Counts that dip below an earlier bucket's
// (buckets read at slightly different times) are taken as that bucket's.
std::optional<double> HistogramQuantile(double q, std::vector<Bucket> buckets);

// One row of `top`: a service over one interval.
struct ServiceRates {
  std::string name;
  double requests = 0;  // answered in the interval
  double requests_per_second = 0;
  std::optional<double> error_ratio;  // 5xx share of the interval's requests; none without any
  std::optional<double> p50_seconds;  // request duration quantiles over the interval
  std::optional<double> p99_seconds;
  double active_connections = 0;  // at the end of the interval
  int upstreams = 0;
  int upstreams_up = 0;
};

// The services of `after`, each with what its counters did since `before`, `seconds` (> 0)
// earlier. A service missing from `before` counts from zero (it registered in between), and
// so does one whose counters went down (the daemon restarted, or the service was deregistered
// and registered again), as Prometheus' rate() takes a counter reset.
std::vector<ServiceRates> RatesBetween(const ServiceCountersMap& before,
                                       const ServiceCountersMap& after, double seconds);

}  // namespace icaht::ctl
