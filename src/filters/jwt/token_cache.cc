#include "filters/jwt/token_cache.h"

#include <utility>

#include "core/check.h"

namespace icaht::filters::jwt {

TokenCache::TokenCache(size_t capacity, int64_t leeway_s)
    : capacity_(capacity), leeway_s_(leeway_s) {}

bool TokenCache::Servable(const Entry& entry, int64_t now_s) const {
  // The same tests as ReadClaims (0 stands for "absent").
  if (entry.generation != generation_) return false;
  if (entry.claims.expires_at != 0 && entry.claims.expires_at <= now_s - leeway_s_) return false;
  if (entry.claims.not_before != 0 && entry.claims.not_before > now_s + leeway_s_) return false;
  return true;
}

void TokenCache::Unlink(Entry* entry) {
  (entry->newer ? entry->newer->older : newest_) = entry->older;
  (entry->older ? entry->older->newer : oldest_) = entry->newer;
  entry->newer = entry->older = nullptr;
}

void TokenCache::PushNewest(Entry* entry) {
  entry->older = newest_;
  entry->newer = nullptr;
  (newest_ ? newest_->newer : oldest_) = entry;
  newest_ = entry;
}

void TokenCache::Drop(Entry* entry) {
  Unlink(entry);
  index_.erase(std::string_view(entry->token));
  entry->claims = VerifiedClaims();
  entry->newer = free_;
  free_ = entry;
}

TokenCache::Entry* TokenCache::TakeSlot() {
  if (free_ != nullptr) {
    Entry* entry = free_;
    free_ = entry->newer;
    entry->newer = nullptr;
    return entry;
  }
  if (slots_.size() < capacity_) return slots_.emplace_back(std::make_unique<Entry>()).get();
  Entry* victim = oldest_;
  ICAHT_CHECK(victim != nullptr);
  Unlink(victim);
  index_.erase(std::string_view(victim->token));
  ++stats_.evictions;
  return victim;
}

const VerifiedClaims* TokenCache::Lookup(std::string_view token, int64_t now_s) {
  auto it = index_.find(token);
  if (it == index_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  Entry* entry = it->second;
  if (!Servable(*entry, now_s)) {
    Drop(entry);
    ++stats_.dropped;
    ++stats_.misses;
    return nullptr;
  }
  if (entry != newest_) {
    Unlink(entry);
    PushNewest(entry);
  }
  ++stats_.hits;
  return &entry->claims;
}

const VerifiedClaims* TokenCache::Insert(std::string_view token, VerifiedClaims claims) {
  if (capacity_ == 0) return nullptr;
  Entry* entry;
  if (auto it = index_.find(token); it != index_.end()) {
    entry = it->second;
    Unlink(entry);
  } else {
    entry = TakeSlot();
    entry->token.assign(token);
    index_.emplace(std::string_view(entry->token), entry);
  }
  entry->claims = std::move(claims);
  entry->generation = generation_;
  PushNewest(entry);
  return &entry->claims;
}

}  // namespace icaht::filters::jwt
