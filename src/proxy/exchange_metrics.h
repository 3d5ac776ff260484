#pragma once
// What one finished exchange adds to its service's series on this shard
// (the metrics part of the log phase).

#include "filters/request_context.h"
#include "metrics/service_series.h"

namespace icaht::proxy {

void RecordExchange(const filters::RequestContext& ctx, metrics::ShardSeries& series);

}  // namespace icaht::proxy
