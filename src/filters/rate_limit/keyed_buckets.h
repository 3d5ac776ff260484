#pragma once
// One rate limit's buckets on one shard, by key (a client address, a header
// value, ""), each at this shard's share of the key (shares.h).
//
// Memory is bounded: at most max_keys keys. A new key past that evicts one:
// a bucket that has refilled to capacity if one is found (it carries no
// information: a new bucket starts full), else the least recently used. Both
// are looked for among kEvictionScan slots from a moving hand, so eviction is
// O(1) and LRU is approximate (as in Redis), exact while max_keys <= the scan.
//
// Shard-owned, no locks. Existing keys cost a hash lookup and no allocation;
// a new key allocates at most once (its key string, when longer than the
// small-string buffer; slots come in chunks).

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/string_hash.h"
#include "filters/rate_limit/shares.h"
#include "filters/rate_limit/token_bucket.h"

namespace icaht::filters {

class KeyedBuckets {
 public:
  static constexpr uint32_t kEvictionScan = 16;
  static constexpr int64_t kNoExpiry = std::numeric_limits<int64_t>::max();

  struct Entry {
    TokenBucket bucket;  // rate R*share, capacity B*share
    double share = 1;
    // When `share` falls back to the default unless an update confirms it.
    int64_t share_until_ns = kNoExpiry;
    int64_t last_used_ns = 0;
    uint32_t attempts = 0;  // this period
    bool watched = false;   // in watch_
    std::string key;
  };

  // `rate` (tokens per second) and `capacity`: the limit's, for the whole
  // service; max_keys >= 1. One shard until SetShardCount.
  KeyedBuckets(double rate, double capacity, uint32_t max_keys);

  // Every bucket goes to the default share 1/n (keeping its fill).
  void SetShardCount(size_t n, int64_t now_ns);
  double default_share() const { return default_share_; }

  // The bucket of `key`, refilled to `now_ns`, with the attempt counted. A
  // new key gets a full bucket at the default share. The reference is valid
  // until the next call that may insert (Attempt, ApplyShare).
  Entry& Attempt(std::string_view key, int64_t now_ns);
  // nullptr when `key` has no bucket. For tests and reports; no refill.
  const Entry* Find(std::string_view key) const;

  // Appends this period's DemandEntry for every key with attempts or with a
  // bucket not yet full, tagged with `limit`, and starts the next period.
  void TakeDemand(uint32_t limit, int64_t now_ns, std::vector<DemandEntry>* out);
  // Sets the share of `key`: a smaller share keeps the bucket's fill; a
  // larger one adds the new capacity at `grant_fill`. A key without a bucket
  // gets one only when the share is below the default (absent means "full, at
  // the default share"), and only if that evicts nothing but a full bucket.
  void ApplyShare(std::string_view key, double share, double grant_fill, int64_t now_ns);

  size_t size() const { return used_; }
  // Keys the next TakeDemand looks at (at most as many entries as it appends).
  size_t watched() const { return watch_.size(); }
  uint32_t max_keys() const { return max_keys_; }

 private:
  static constexpr uint32_t kChunk = 64;

  Entry& slot(uint32_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const Entry& slot(uint32_t i) const { return chunks_[i / kChunk][i % kChunk]; }
  // A slot for a new key: a free one, else a victim (any, or only a full one
  // when `full_only`; none then returns false).
  bool FreeSlot(int64_t now_ns, bool full_only, uint32_t* index);
  Entry& Insert(uint32_t index, std::string_view key, int64_t now_ns);
  void SetShare(Entry& entry, double share, double grant_fill) const;
  // Refills and falls back to the default share if the share expired.
  void Refresh(Entry& entry, int64_t now_ns) const;

  double rate_;
  double capacity_;
  uint32_t max_keys_;
  double default_share_ = 1;
  // Views into the slots' keys (slots never move).
  absl::flat_hash_map<std::string_view, uint32_t, core::StringHash> index_;
  std::vector<std::unique_ptr<Entry[]>> chunks_;
  uint32_t used_ = 0;  // slots [0, used_) hold keys; they are reused, never freed
  uint32_t hand_ = 0;  // where the next eviction scan starts
  // Slots with attempts this period or a bucket not yet full: what
  // TakeDemand reports, so that a period costs O(active keys), not O(keys).
  std::vector<uint32_t> watch_;
};

}  // namespace icaht::filters
