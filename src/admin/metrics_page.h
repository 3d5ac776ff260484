#pragma once
// The per-service part of the /metrics page (metrics_page.cc): every
// family of each service in `services`, in that order, summed over shards.

#include <vector>

#include "metrics/exposition.h"
#include "metrics/service_series.h"

namespace icaht::admin {

void WriteServiceMetrics(const std::vector<const metrics::ServiceSeries*>& services,
                         metrics::Exposition& out);

}  // namespace icaht::admin
