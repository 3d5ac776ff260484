#pragma once
// A bounded LRU cache of verified tokens, so that a client repeating its
// token pays one hash lookup instead of a signature check.
//
// Shard-owned: one cache per shard, used only on that shard's thread (no
// locks). Keyed by the whole token text (an exact compare on hit, so two
// tokens can never share an entry); a SHA-256 key would be smaller but costs
// an OpenSSL digest context, which allocates, on every lookup. Memory is
// bounded by capacity * (token + claims); the verifier refuses tokens over
// JwtPolicy::max_token_bytes before they get here.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/string_hash.h"
#include "filters/jwt/claims.h"

namespace icaht::filters::jwt {

class TokenCache {
 public:
  static constexpr size_t kDefaultCapacity = 10000;

  // `leeway_s` is the policy's: an entry is served while now < exp + leeway.
  // A capacity of 0 caches nothing.
  explicit TokenCache(size_t capacity = kDefaultCapacity, int64_t leeway_s = 30);
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // The claims cached for exactly `token`, or nullptr. An entry is served
  // only while it is of the current generation, its exp (if any) is after
  // now - leeway and its nbf (if any) is not after now + leeway; otherwise it
  // is dropped. A hit marks the entry most recently used and does not
  // allocate. The pointer is valid until the next Insert or Lookup.
  const VerifiedClaims* Lookup(std::string_view token, int64_t now_s);

  // Caches `claims` (of a token just verified) for `token`, replacing an
  // entry for the same token and evicting the least recently used one when
  // full. Returns the cached claims (valid as Lookup's), or nullptr when the
  // capacity is 0.
  const VerifiedClaims* Insert(std::string_view token, VerifiedClaims claims);

  // Forgets every entry, e.g. because the key set changed. O(1): entries of
  // older generations are dropped when looked up and reused by eviction.
  void InvalidateAll() { ++generation_; }

  // Entries held, including ones of older generations not yet dropped.
  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t generation() const { return generation_; }

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;  // dropped for room
    uint64_t dropped = 0;    // found expired, not yet valid or of an older generation
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Entry {
    std::string token;
    VerifiedClaims claims;
    uint64_t generation = 0;
    Entry* newer = nullptr;  // towards newest_; the free list's link
    Entry* older = nullptr;  // towards oldest_
  };

  bool Servable(const Entry& entry, int64_t now_s) const;
  void Unlink(Entry* entry);
  void PushNewest(Entry* entry);
  // Unlinks `entry`, removes it from the index and puts it on the free list.
  void Drop(Entry* entry);
  Entry* TakeSlot();

  size_t capacity_;
  int64_t leeway_s_;
  uint64_t generation_ = 0;
  // Entries never move (each is its own allocation), so the index can key on
  // views of their token strings. Made as tokens arrive: an idle cache holds
  // nothing (a deque would hold a 512-byte block per service and shard).
  std::vector<std::unique_ptr<Entry>> slots_;
  absl::flat_hash_map<std::string_view, Entry*, core::StringHash> index_;
  Entry* newest_ = nullptr;
  Entry* oldest_ = nullptr;
  Entry* free_ = nullptr;
  Stats stats_;
};

}  // namespace icaht::filters::jwt
