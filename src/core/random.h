#pragma once
// A fast, non-cryptographic random source: xoshiro256** (Blackman and Vigna).
// One generator per thread or shard (it is plain state, not thread-safe), so
// that drawing a request ID or a trace ID costs a few nanoseconds and no
// system call. Not for secrets or keys.

#include <cstdint>

namespace icaht::core {

// splitmix64's finalizer: a stateless, bijective mix of 64 bits (hashing keys
// and seeds; the same everywhere).
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

class FastRandom {
 public:
  // Seeded from getrandom(2) once (one system call); if that fails, from the
  // clock and an address, so that generators still differ between threads
  // and processes.
  static FastRandom FromEntropy();

  // Deterministic, for tests and benchmarks: the state is expanded from
  // `seed` with splitmix64 (any seed, zero included, gives a valid state).
  explicit FastRandom(uint64_t seed);

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // A double in [0, 1) with 53 random bits.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  FastRandom() = default;
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace icaht::core
