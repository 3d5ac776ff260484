#pragma once
// A token bucket on an injected clock: `rate` tokens per second accrue up to
// `capacity`; a request takes tokens. Pure (the caller passes `now_ns`, on
// the clock of its choice), no allocation, 32 bytes.
//
// A bucket whose capacity is below what a request needs (a shard's small
// share of a small burst, see keyed_buckets.h) would otherwise never admit
// anything: when full, it admits and goes into debt, which the refill pays
// back. The long-run rate stays `rate` either way.

#include <cstdint>

namespace icaht::filters {

class TokenBucket {
 public:
  TokenBucket() = default;
  // Starts full.
  TokenBucket(double rate, double capacity, int64_t now_ns)
      : rate_(rate), capacity_(capacity), tokens_(capacity), last_ns_(now_ns) {}

  // Adds what accrued since the last refill. A clock that went back adds nothing.
  void Refill(int64_t now_ns);
  // Whether `n` tokens can be taken now (as of the last Refill): the bucket
  // holds n, or it is full and smaller than n.
  bool CanTake(double n) const { return tokens_ + kEpsilon >= (n < capacity_ ? n : capacity_); }
  // Takes `n` unconditionally (the caller checked CanTake; may go into debt).
  void Consume(double n) { tokens_ -= n; }
  // Refill, then take `n` if CanTake(n).
  bool Take(double n, int64_t now_ns);
  // Nanoseconds from `now_ns` until CanTake(n) holds (0 if it holds now).
  int64_t TimeUntil(double n, int64_t now_ns) const;
  // Whether the bucket has refilled to capacity by `now_ns`.
  bool FullAt(int64_t now_ns) const;

  // Changes rate and capacity, with `tokens` clamped to the new capacity.
  void Reshape(double rate, double capacity, double tokens);

  double rate() const { return rate_; }
  double capacity() const { return capacity_; }
  // As of the last Refill; negative while in debt.
  double tokens() const { return tokens_; }
  // tokens / capacity: 1 when full, below 0 while in debt.
  double fill() const { return tokens_ / capacity_; }

 private:
  // Refills add up many small products: a bucket within this of a whole
  // token has it (else a request made exactly at TimeUntil could fail).
  static constexpr double kEpsilon = 1e-12;

  double rate_ = 1;  // tokens per second, > 0
  double capacity_ = 1;
  double tokens_ = 1;
  int64_t last_ns_ = 0;
};

}  // namespace icaht::filters
