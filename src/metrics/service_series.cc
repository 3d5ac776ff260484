#include "metrics/service_series.h"

#include <algorithm>

namespace icaht::metrics {

void CodeCounters::Add(int code) {
  if (code < 0 || code > 999) return other_.Add();
  uint16_t key = static_cast<uint16_t>(code + 1);
  for (size_t i = 0; i < kSlots; ++i) {
    uint16_t have = codes_[i].load(std::memory_order_relaxed);
    if (have == key) return counts_[i].Add();
    if (have == 0) {
      // Only this block's shard writes it: claiming a slot is a plain store.
      codes_[i].store(key, std::memory_order_release);
      return counts_[i].Add();
    }
  }
  other_.Add();
}

void CodeCounters::ReadInto(std::vector<std::pair<int, uint64_t>>* out) const {
  auto add = [out](int code, uint64_t n) {
    auto it =
        std::find_if(out->begin(), out->end(), [code](const auto& e) { return e.first == code; });
    if (it == out->end()) {
      out->emplace_back(code, n);
    } else {
      it->second += n;
    }
  };
  for (size_t i = 0; i < kSlots; ++i) {
    uint16_t key = codes_[i].load(std::memory_order_acquire);
    if (key == 0) break;
    add(key - 1, counts_[i].Read());
  }
  if (uint64_t n = other_.Read(); n != 0) add(-1, n);
}

SubsetSeries::SubsetSeries(std::string name, size_t shards) : name_(std::move(name)) {
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Block>());
}

void SubsetSeries::ReadInto(std::vector<std::pair<int, uint64_t>>* out) const {
  for (const auto& block : shards_) block->requests.ReadInto(out);
}

SubsetSeries* ServiceSeries::Subset(const std::string& name) {
  for (const auto& s : subsets_) {
    if (s->name() == name) return s.get();
  }
  if (subsets_.size() >= kMaxSubsetSeries) return nullptr;
  subsets_.push_back(std::make_unique<SubsetSeries>(name, shard_count_));
  return subsets_.back().get();
}

ServiceSeries::ServiceSeries(std::string name, size_t shards)
    : name_(std::move(name)),
      shard_count_(shards),
      shards_(std::make_unique<std::atomic<ShardSeries*>[]>(shards)) {
  for (size_t i = 0; i < shards; ++i) shards_[i].store(nullptr, std::memory_order_relaxed);
}

ServiceSeries::~ServiceSeries() {
  for (size_t i = 0; i < shard_count_; ++i) delete shards_[i].load(std::memory_order_acquire);
}

ShardSeries& ServiceSeries::Make(size_t i) {
  auto* s = new ShardSeries();
  // Published whole: a reader that sees the pointer sees zeroed counters.
  shards_[i].store(s, std::memory_order_release);
  return *s;
}

}  // namespace icaht::metrics
