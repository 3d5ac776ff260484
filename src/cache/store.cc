#include "cache/store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "http/message.h"

namespace icaht::cache {
namespace {

// Runs of spaces and tabs become one space; none at either end.
std::string Normalize(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Normalize(raw) == normalized, without building it (a lookup per request).
bool NormalizesTo(std::string_view raw, std::string_view normalized) {
  size_t at = 0;
  bool space = false;
  for (char c : raw) {
    if (c == ' ' || c == '\t') {
      space = at > 0;
      continue;
    }
    if (space && (at == normalized.size() || normalized[at++] != ' ')) return false;
    space = false;
    if (at == normalized.size() || normalized[at++] != c) return false;
  }
  return at == normalized.size();
}

bool Matches(const StoredResponse& r, HeaderLookup request) {
  for (const auto& [name, value] : r.vary) {
    std::optional<std::string_view> now = request(name);
    if (now.has_value() != value.has_value()) return false;
    if (now && !NormalizesTo(*now, *value)) return false;
  }
  return true;
}

}  // namespace

size_t StoredResponse::bytes() const {
  size_t n = body.size() + sizeof(StoredResponse);
  for (const auto& [name, value] : headers) n += name.size() + value.size() + 4;
  for (const auto& [name, value] : vary) n += name.size() + (value ? value->size() : 0);
  return n;
}

std::vector<std::pair<std::string, std::optional<std::string>>> VaryKey(
    const std::vector<std::string_view>& names, HeaderLookup request) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (std::string_view line : names) {
    size_t start = 0;
    while (start <= line.size()) {
      size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) comma = line.size();
      std::string name = absl::AsciiStrToLower(Normalize(line.substr(start, comma - start)));
      start = comma + 1;
      if (name.empty()) continue;
      if (std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.first == name; })) {
        continue;
      }
      std::optional<std::string_view> value = request(name);
      out.emplace_back(name, value ? std::optional<std::string>(Normalize(*value)) : std::nullopt);
    }
  }
  return out;
}

size_t Store::EntryBytes(const Entry& entry) { return entry.key.size() + entry.response.bytes(); }

Store::Lru::iterator Store::Lookup(std::string_view key, HeaderLookup request) {
  auto it = by_key_.find(absl::string_view(key.data(), key.size()));
  if (it == by_key_.end()) return lru_.end();
  for (Lru::iterator entry : it->second) {
    if (Matches(entry->response, request)) return entry;
  }
  return lru_.end();
}

const StoredResponse* Store::Find(std::string_view key, HeaderLookup request) {
  Lru::iterator it = Lookup(key, request);
  if (it == lru_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it);  // iterators stay valid
  return &it->response;
}

bool Store::Put(const std::string& key, StoredResponse response) {
  Entry entry{.key = key, .response = std::move(response), .bytes = 0};
  entry.bytes = EntryBytes(entry);
  if (entry.response.body.size() > max_object_bytes_ || entry.bytes > max_bytes_) return false;
  // The variant with the same Vary values is replaced, and so are those
  // whose response varied on other fields: the origin's Vary changed, and an
  // old variant must not keep shadowing the new answer.
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    auto names = [](const StoredResponse& r) {
      std::vector<std::string_view> out;
      for (const auto& [name, value] : r.vary) out.push_back(name);
      return out;
    };
    std::vector<Lru::iterator> replaced;
    for (Lru::iterator old : it->second) {
      if (old->response.vary == entry.response.vary ||
          names(old->response) != names(entry.response)) {
        replaced.push_back(old);
      }
    }
    for (Lru::iterator old : replaced) Erase(old);
  }
  while (bytes_ + entry.bytes > max_bytes_ && !lru_.empty()) {
    Erase(std::prev(lru_.end()));
    ++evictions_;
  }
  bytes_ += entry.bytes;
  lru_.push_front(std::move(entry));
  by_key_[key].push_back(lru_.begin());
  return true;
}

void Store::Erase(Lru::iterator it) {
  auto key = by_key_.find(it->key);
  std::vector<Lru::iterator>& variants = key->second;
  variants.erase(std::find(variants.begin(), variants.end(), it));
  if (variants.empty()) by_key_.erase(key);
  bytes_ -= it->bytes;
  lru_.erase(it);
}

size_t Store::Invalidate(std::string_view key) {
  auto it = by_key_.find(absl::string_view(key.data(), key.size()));
  if (it == by_key_.end()) return 0;
  std::vector<Lru::iterator> variants = it->second;
  for (Lru::iterator entry : variants) Erase(entry);
  return variants.size();
}

size_t Store::Purge(std::string_view prefix) {
  size_t n = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (std::string_view(it->key).substr(0, prefix.size()) == prefix) {
      Erase(it);
      ++n;
    }
    it = next;
  }
  return n;
}

}  // namespace icaht::cache
