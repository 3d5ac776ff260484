#pragma once
// One service's series: a block per shard, each written only by its shard
// (metric.h), summed at scrape. Allocated by the control thread when the
// service is registered (shared with the shards' configs, so a connection
// still draining after a deregistration writes into memory that lives) and
// dropped from the scrape when it is deregistered.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/metric.h"

namespace icaht::metrics {

// Response codes a service answered, in the order first seen: a few slots
// scanned per request instead of a 500-entry table per service and shard.
// Code 0 is an exchange that ended with no answer (the client was cut or
// went away); codes past the slots count under code "other".
class CodeCounters {
 public:
  static constexpr size_t kSlots = 16;
  void Add(int code);
  // Adds this block's counts to `out` (code -> count; -1 is "other").
  void ReadInto(std::vector<std::pair<int, uint64_t>>* out) const;

 private:
  std::array<std::atomic<uint16_t>, kSlots> codes_{};  // code + 1 (0: free)
  std::array<Counter, kSlots> counts_;
  Counter other_;
};

// Enough for every ErrorKind and AuthFailure value (checked where they are
// counted).
inline constexpr size_t kMaxKinds = 32;
inline constexpr size_t kMirrorResults = 4;

struct alignas(64) ShardSeries {
  CodeCounters requests;
  Histogram request_duration;
  Histogram upstream_duration;
  Gauge active_connections;
  Counter bytes_received;
  Counter bytes_sent;
  std::array<Counter, kMaxKinds> errors;  // by ProxyError kind
  std::array<Counter, kMaxKinds> auth_failures;
  Counter rate_limited;
  Counter rate_limit_shadow;  // would have been refused (enforce: false)
  Counter upstream_retries;   // attempts after the first
  Counter retry_overflow;     // retries the budget did not allow
  // Mirror copies by result: sent, failed, dropped, too_large (proxy::Mirror::Result).
  std::array<Counter, kMirrorResults> mirror;
  // Circuit breaker overflows by reason (RequestContext::Overflow - 1):
  // requests, pending, retries.
  std::array<Counter, 3> breaker_overflow;
  // With circuit breakers: the service's exchanges that want the upstream,
  // and those of them queued for a connection.
  Gauge upstream_requests;
  Gauge upstream_pending;
  Counter faults_delayed;  // requests the fault filter delayed
  Counter faults_aborted;  // requests the fault filter answered with its abort
  // The response cache (with `cache`): lookups by result (filters::CacheResult
  // - 1: hit, miss, stale, revalidated), and what this shard's store holds.
  std::array<Counter, 4> cache_requests;
  Gauge cache_bytes;
  Gauge cache_entries;
  // TLS on the service port: handshakes completed (and of them, resumed),
  // and handshakes that failed (a client gone mid-handshake included).
  Counter tls_handshakes;
  Counter tls_resumed;
  Counter tls_handshake_failures;
};

// One subset's requests by code (traffic splitting, issue 19): a block per
// shard, as the service's.
class SubsetSeries {
 public:
  SubsetSeries(std::string name, size_t shards);
  const std::string& name() const { return name_; }
  CodeCounters& shard(size_t i) { return shards_[i]->requests; }
  void ReadInto(std::vector<std::pair<int, uint64_t>>* out) const;

 private:
  struct alignas(64) Block {
    CodeCounters requests;
  };
  std::string name_;
  std::vector<std::unique_ptr<Block>> shards_;
};

class ServiceSeries {
 public:
  ServiceSeries(std::string name, size_t shards);
  ~ServiceSeries();
  ServiceSeries(const ServiceSeries&) = delete;
  ServiceSeries& operator=(const ServiceSeries&) = delete;
  const std::string& name() const { return name_; }
  size_t shard_count() const { return shard_count_; }
  // Shard i's block, made at its first write: only shard i calls this with
  // i (a service that never sees traffic on a shard costs it nothing there:
  // issue 17's 10,000 idle services).
  ShardSeries& shard(size_t i) {
    ShardSeries* s = shards_[i].load(std::memory_order_acquire);
    return s != nullptr ? *s : Make(i);
  }
  // Shard i's block for readers (the metrics page): null until it is made.
  const ShardSeries* shard_if_made(size_t i) const {
    return shards_[i].load(std::memory_order_acquire);
  }

  // Control thread only. The series of subset `name`, made at its first use
  // and kept while the service is (a shard's config points at it); null past
  // kMaxSubsetSeries names over the service's life.
  SubsetSeries* Subset(const std::string& name);
  const std::vector<std::unique_ptr<SubsetSeries>>& subsets() const { return subsets_; }
  static constexpr size_t kMaxSubsetSeries = 128;

 private:
  std::string name_;
  ShardSeries& Make(size_t i);

  size_t shard_count_;
  std::unique_ptr<std::atomic<ShardSeries*>[]> shards_;
  std::vector<std::unique_ptr<SubsetSeries>> subsets_;
};

}  // namespace icaht::metrics
