#include "filters/rate_limit/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace icaht::filters {
namespace {

constexpr double kNsPerSecond = 1e9;
constexpr double kSecondsPerNs = 1e-9;  // a multiplication is cheaper than a division

}  // namespace

void TokenBucket::Refill(int64_t now_ns) {
  if (now_ns <= last_ns_) return;
  if (tokens_ < capacity_) {
    tokens_ += rate_ * static_cast<double>(now_ns - last_ns_) * kSecondsPerNs;
    if (tokens_ + kEpsilon >= capacity_) tokens_ = capacity_;
  }
  last_ns_ = now_ns;
}

bool TokenBucket::Take(double n, int64_t now_ns) {
  Refill(now_ns);
  if (!CanTake(n)) return false;
  Consume(n);
  return true;
}

int64_t TokenBucket::TimeUntil(double n, int64_t now_ns) const {
  double elapsed = now_ns > last_ns_ ? static_cast<double>(now_ns - last_ns_) * kSecondsPerNs : 0;
  double tokens = std::min(capacity_, tokens_ + rate_ * elapsed);
  double deficit = std::min(n, capacity_) - tokens;
  if (deficit <= kEpsilon) return 0;
  return static_cast<int64_t>(std::ceil(deficit / rate_ * kNsPerSecond));
}

bool TokenBucket::FullAt(int64_t now_ns) const {
  double elapsed = now_ns > last_ns_ ? static_cast<double>(now_ns - last_ns_) * kSecondsPerNs : 0;
  return tokens_ + rate_ * elapsed + kEpsilon >= capacity_;
}

void TokenBucket::Reshape(double rate, double capacity, double tokens) {
  rate_ = rate;
  capacity_ = capacity;
  tokens_ = std::min(tokens, capacity);
}

}  // namespace icaht::filters
