#include "filters/rate_limit/keyed_buckets.h"

#include <algorithm>

#include "core/check.h"

namespace icaht::filters {

KeyedBuckets::KeyedBuckets(double rate, double capacity, uint32_t max_keys)
    : rate_(rate), capacity_(capacity), max_keys_(max_keys) {
  ICAHT_CHECK(rate > 0 && capacity > 0 && max_keys >= 1);
}

void KeyedBuckets::SetShardCount(size_t n, int64_t now_ns) {
  ICAHT_CHECK(n >= 1);
  default_share_ = 1.0 / static_cast<double>(n);
  for (uint32_t i = 0; i < used_; ++i) {
    Entry& entry = slot(i);
    entry.bucket.Refill(now_ns);
    SetShare(entry, default_share_, entry.bucket.fill());
    entry.share_until_ns = kNoExpiry;
  }
}

void KeyedBuckets::Refresh(Entry& entry, int64_t now_ns) const {
  entry.bucket.Refill(now_ns);
  if (now_ns > entry.share_until_ns) {
    SetShare(entry, default_share_, entry.bucket.fill());
    entry.share_until_ns = kNoExpiry;
  }
}

void KeyedBuckets::SetShare(Entry& entry, double share, double grant_fill) const {
  double old_share = entry.share;
  double tokens = entry.bucket.tokens();
  if (share <= old_share) {
    tokens *= share / old_share;  // the same fill (debt shrinks with the capacity)
  } else {
    tokens += (share - old_share) * capacity_ * grant_fill;
  }
  entry.bucket.Reshape(rate_ * share, capacity_ * share, tokens);
  entry.share = share;
}

KeyedBuckets::Entry& KeyedBuckets::Attempt(std::string_view key, int64_t now_ns) {
  uint32_t index = 0;
  Entry* entry;
  if (auto it = index_.find(key); it != index_.end()) {
    index = it->second;
    entry = &slot(index);
    Refresh(*entry, now_ns);
  } else {
    FreeSlot(now_ns, false, &index);
    entry = &Insert(index, key, now_ns);
  }
  entry->last_used_ns = now_ns;
  if (entry->attempts != std::numeric_limits<uint32_t>::max()) ++entry->attempts;
  if (!entry->watched) {
    entry->watched = true;
    watch_.push_back(index);
  }
  return *entry;
}

const KeyedBuckets::Entry* KeyedBuckets::Find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &slot(it->second);
}

bool KeyedBuckets::FreeSlot(int64_t now_ns, bool full_only, uint32_t* index) {
  if (used_ < max_keys_) {
    if (used_ / kChunk == chunks_.size()) {
      uint32_t size = std::min(kChunk, max_keys_ - used_);
      chunks_.push_back(std::make_unique<Entry[]>(size));
    }
    *index = used_++;
    return true;
  }
  // Scan from the hand: the first full bucket, else the least recently used.
  uint32_t scan = std::min(kEvictionScan, used_);
  uint32_t victim = hand_ % used_;
  bool found_full = false;
  for (uint32_t k = 0; k < scan; ++k) {
    uint32_t i = (hand_ + k) % used_;
    const Entry& entry = slot(i);
    if (entry.bucket.FullAt(now_ns)) {
      victim = i;
      found_full = true;
      break;
    }
    if (entry.last_used_ns < slot(victim).last_used_ns) victim = i;
  }
  hand_ = (victim + 1) % used_;
  if (full_only && !found_full) return false;
  index_.erase(std::string_view(slot(victim).key));
  *index = victim;
  return true;
}

KeyedBuckets::Entry& KeyedBuckets::Insert(uint32_t index, std::string_view key, int64_t now_ns) {
  Entry& entry = slot(index);
  entry.key.assign(key);
  entry.bucket = TokenBucket(rate_ * default_share_, capacity_ * default_share_, now_ns);
  entry.share = default_share_;
  entry.share_until_ns = kNoExpiry;
  entry.last_used_ns = now_ns;
  entry.attempts = 0;
  // `watched` stays: watch_ lists slots, and this slot may be in it.
  index_.emplace(std::string_view(entry.key), index);
  return entry;
}

void KeyedBuckets::TakeDemand(uint32_t limit, int64_t now_ns, std::vector<DemandEntry>* out) {
  size_t kept = 0;
  for (uint32_t i : watch_) {
    Entry& entry = slot(i);
    Refresh(entry, now_ns);
    bool full = entry.bucket.tokens() >= entry.bucket.capacity();
    if (entry.attempts > 0 || !full) {
      out->push_back(DemandEntry{.limit = limit,
                                 .key = entry.key,
                                 .attempts = entry.attempts,
                                 .share = entry.share,
                                 .fill = entry.bucket.fill()});
    }
    entry.attempts = 0;
    if (full) {
      entry.watched = false;
    } else {
      watch_[kept++] = i;
    }
  }
  watch_.resize(kept);
}

void KeyedBuckets::ApplyShare(std::string_view key, double share, double grant_fill,
                              int64_t now_ns) {
  // Values come from our own coordinator; clamp anyway so that a bucket's
  // capacity stays positive.
  share = std::clamp(share, 1e-9, 1.0);
  grant_fill = std::clamp(grant_fill, -1.0, 1.0);
  Entry* entry;
  if (auto it = index_.find(key); it != index_.end()) {
    entry = &slot(it->second);
    Refresh(*entry, now_ns);
  } else {
    uint32_t index = 0;
    if (share >= default_share_ || !FreeSlot(now_ns, true, &index)) return;
    entry = &Insert(index, key, now_ns);
    grant_fill = 1;  // never used: the share shrinks
  }
  SetShare(*entry, share, grant_fill);
  entry->share_until_ns = now_ns + kShareHoldNs;
}

}  // namespace icaht::filters
