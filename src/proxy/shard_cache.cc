// The shard's side of the response cache (filters/cache_filter.h): each
// service's store, its gauges, and purges.

#include "proxy/shard_proxy.h"

namespace icaht::proxy {

void ShardService::PublishCacheGauges() const {
  // Zeros need no block of their own (an idle service has none).
  if ((cache == nullptr || cache->entries() == 0) &&
      series->shard_if_made(proxy->index()) == nullptr) {
    return;
  }
  metrics::ShardSeries& s = series->shard(proxy->index());
  s.cache_bytes.Set(cache != nullptr ? static_cast<int64_t>(cache->bytes()) : 0);
  s.cache_entries.Set(cache != nullptr ? static_cast<int64_t>(cache->entries()) : 0);
}

void ShardService::SetCache(const ServiceConfig& next) {
  if (const core::Boxed<filters::CacheSpec>& spec = next.filters().cache; !spec) {
    if (cache != nullptr) {
      cache.reset();
      cache_spec.reset();
      PublishCacheGauges();
    }
  } else {
    // Each shard holds an equal share of max_bytes; no object is larger.
    size_t share = spec->max_bytes / std::max<size_t>(next.filters().shard_count, 1);
    size_t object = std::min<size_t>(spec->max_object_bytes, share);
    // Entries keyed another way (key_headers, key_ignore_query) must not
    // answer under the new keys: a new store then.
    bool same_keys = cache_spec && cache_spec->key_headers == spec->key_headers &&
                     cache_spec->key_ignore_query == spec->key_ignore_query;
    if (cache == nullptr || cache->max_bytes() != share || cache->max_object_bytes() != object ||
        !same_keys) {
      cache = std::make_shared<cache::Store>(share, object);
      PublishCacheGauges();
    }
    cache_spec = spec;
  }
}

size_t ShardProxy::PurgeCache(uint16_t port, std::string_view prefix) {
  auto it = services_.find(port);
  if (it == services_.end() || it->second->cache == nullptr) return 0;
  size_t purged = it->second->cache->Purge(prefix);
  it->second->PublishCacheGauges();
  return purged;
}

void ShardService::InvalidateCacheElsewhere(const std::vector<std::string>& keys) const {
  proxy->InvalidateCacheElsewhere(config->port, keys);
}

void ShardProxy::InvalidateCache(uint16_t port, const std::vector<std::string>& keys) {
  auto it = services_.find(port);
  if (it == services_.end() || it->second->cache == nullptr) return;
  for (const std::string& key : keys) it->second->cache->Invalidate(key);
  it->second->PublishCacheGauges();
}

}  // namespace icaht::proxy
