#pragma once
// What one finished exchange adds to its service's series on this shard
// (the metrics part of the log phase).

#include "filters/request_context.h"
#include "metrics/service_series.h"

namespace icaht::proxy {

// Into the service's series on `shard` (series is its block); the response
// code into `subset`'s instead when a route sent the request to one.
void RecordExchange(const filters::RequestContext& ctx, metrics::ShardSeries& series,
                    metrics::SubsetSeries* subset = nullptr, size_t shard = 0);

}  // namespace icaht::proxy
