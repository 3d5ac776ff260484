#pragma once
// The record's `cache` field (issue 16), as the cache filter uses it
// (filters/cache_filter.h); parsed and written by registry/record_cache.

#include <cstdint>
#include <string>
#include <vector>

namespace icaht::filters {

struct CacheSpec {
  // The service's cache on this host, in bytes; each shard holds an equal
  // share (max_bytes / shards), so one shard's entries never evict another's.
  uint64_t max_bytes = 16 << 20;
  // One stored response (head and body); a larger one streams through
  // without being stored (and splice still applies to it).
  uint64_t max_object_bytes = 1 << 20;
  // Heuristic freshness for responses with Last-Modified and no explicit
  // lifetime (RFC 9111 section 4.2.2): a percent of the time since
  // Last-Modified, capped at heuristic_max_s.
  bool heuristic = true;
  uint32_t heuristic_percent = 10;
  int64_t heuristic_max_s = 86400;
  // Request fields (lower case) whose values join the cache key, as if every
  // response named them in Vary.
  std::vector<std::string> key_headers;
  // The query string is left out of the key (/a?x=1 and /a share an entry).
  bool key_ignore_query = false;
  // The field that says how the cache answered (HIT, MISS, STALE,
  // REVALIDATED); "" adds none.
  std::string status_header = "x-cache";
  // How long a miss waits for another request's fetch of the same key
  // (request collapsing) before it goes to the upstream itself.
  uint32_t collapse_timeout_ms = 5000;

  friend bool operator==(const CacheSpec&, const CacheSpec&) = default;
};

}  // namespace icaht::filters
