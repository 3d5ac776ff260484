// The shard's side of the response cache (filters/cache_filter.h): each
// service's store, its gauges, and purges.

#include "proxy/shard_proxy.h"

namespace icaht::proxy {

void ShardService::PublishCacheGauges() {
  metrics::ShardSeries& s = series->shard(proxy->index());
  s.cache_bytes.Set(cache != nullptr ? static_cast<int64_t>(cache->bytes()) : 0);
  s.cache_entries.Set(cache != nullptr ? static_cast<int64_t>(cache->entries()) : 0);
}

void ShardService::SetCache(const ServiceConfig& next) {
  if (const std::optional<filters::CacheSpec>& spec = next.filters.cache; !spec) {
    if (cache != nullptr) {
      cache.reset();
      PublishCacheGauges();
    }
  } else {
    // Each shard holds an equal share of max_bytes.
    size_t share = spec->max_bytes / std::max<size_t>(next.filters.shard_count, 1);
    if (cache == nullptr || cache->max_bytes() != share ||
        cache->max_object_bytes() != spec->max_object_bytes) {
      cache = std::make_shared<cache::Store>(share, spec->max_object_bytes);
      PublishCacheGauges();
    }
  }
}

size_t ShardProxy::PurgeCache(uint16_t port, std::string_view prefix) {
  auto it = services_.find(port);
  if (it == services_.end() || it->second->cache == nullptr) return 0;
  size_t purged = it->second->cache->Purge(prefix);
  it->second->PublishCacheGauges();
  return purged;
}

}  // namespace icaht::proxy
