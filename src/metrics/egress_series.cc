#include "metrics/egress_series.h"

namespace icaht::metrics {

EgressPair& EgressSeries::Find(std::string_view caller, std::string_view destination) {
  if (last_ != nullptr && last_->caller == caller && last_->destination == destination) {
    return *last_;
  }
  for (size_t i = 0; i < used_; ++i) {
    EgressPair& pair = *slots_[i];
    if (pair.caller == caller && pair.destination == destination) return *(last_ = &pair);
  }
  if (used_ == kSlots) {
    overflow_used_.store(true, std::memory_order_relaxed);
    return overflow_;
  }
  slots_[used_] = std::make_unique<EgressPair>();
  EgressPair& pair = *slots_[used_];
  pair.caller = std::string(caller);
  pair.destination = std::string(destination);
  // The names are written before the slot is published; never changed after.
  published_[used_].store(true, std::memory_order_release);
  ++used_;
  return *(last_ = &pair);
}

void EgressSeries::ForEach(const std::function<void(const EgressPair&)>& fn) const {
  for (size_t i = 0; i < kSlots; ++i) {
    if (!published_[i].load(std::memory_order_acquire)) break;
    fn(*slots_[i]);
  }
  if (overflow_used_.load(std::memory_order_relaxed)) fn(overflow_);
}

}  // namespace icaht::metrics
