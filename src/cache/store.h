#pragma once
// A shard's response store (issue 16): entries by primary key (the
// method-independent URI) and, under one key, by the request header values
// their response's Vary names (RFC 9111 section 4.1); bounded in bytes, least
// recently used first out; one entry never above the object limit. Owned by
// one shard: no locks.

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "cache/cache_policy.h"

namespace icaht::cache {

// A request header's value by lower-case name (every field line joined by
// ", "), or nullopt when absent.
using HeaderLookup = absl::FunctionRef<std::optional<std::string_view>(std::string_view)>;

struct StoredResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // end-to-end fields, as received
  std::string body;
  ResponseFacts facts;
  int64_t request_time = 0;   // when the request that fetched it was sent
  int64_t response_time = 0;  // when its head arrived
  // The secondary key: each header its Vary names (lower case) and the
  // request's normalized value then (nullopt: absent).
  using Vary = std::vector<std::pair<std::string, std::optional<std::string>>>;
  Vary vary;

  size_t bytes() const;
};

// The secondary key of a request for a response whose Vary lists `names`
// (comma-separated field values, as received): each name lower-cased, each
// value with runs of whitespace collapsed (RFC 9111 section 4.1 allows
// normalizing). Empty names are skipped.
std::vector<std::pair<std::string, std::optional<std::string>>> VaryKey(
    const std::vector<std::string_view>& names, HeaderLookup request);

class Store {
 public:
  Store(size_t max_bytes, size_t max_object_bytes)
      : max_bytes_(max_bytes), max_object_bytes_(max_object_bytes) {}

  // The entry under `key` whose Vary values match `request`, now the most
  // recently used; nullptr when none.
  const StoredResponse* Find(std::string_view key, HeaderLookup request);
  // Stores `response` under `key`, replacing the entry with the same Vary
  // values, evicting the least recently used until it fits. False (nothing
  // stored, nothing evicted) when it is larger than the object limit or the
  // whole store.
  bool Put(const std::string& key, StoredResponse response);
  // Removes every entry under `key`; how many went.
  size_t Invalidate(std::string_view key);
  // Removes every entry whose key starts with `prefix` ("" = all).
  size_t Purge(std::string_view prefix);

  size_t bytes() const { return bytes_; }
  size_t entries() const { return lru_.size(); }
  uint64_t evictions() const { return evictions_; }
  size_t max_bytes() const { return max_bytes_; }
  size_t max_object_bytes() const { return max_object_bytes_; }

 private:
  struct Entry {
    std::string key;
    StoredResponse response;
    size_t bytes = 0;
  };
  using Lru = std::list<Entry>;  // front: most recently used

  // The entry under `key` matching `request`, or lru_.end().
  Lru::iterator Lookup(std::string_view key, HeaderLookup request);
  void Erase(Lru::iterator it);
  static size_t EntryBytes(const Entry& entry);

  size_t max_bytes_;
  size_t max_object_bytes_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
  Lru lru_;
  absl::flat_hash_map<std::string, std::vector<Lru::iterator>> by_key_;
};

}  // namespace icaht::cache
