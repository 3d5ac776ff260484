#include "core/random.h"

#include <sys/random.h>

#include <ctime>

namespace icaht::core {
namespace {

uint64_t SplitMix64(uint64_t& x) { return Mix64(x += 0x9e3779b97f4a7c15ULL); }

}  // namespace

FastRandom::FastRandom(uint64_t seed) {
  for (uint64_t& word : s_) word = SplitMix64(seed);
}

FastRandom FastRandom::FromEntropy() {
  FastRandom r;
  if (getrandom(r.s_, sizeof r.s_, 0) == static_cast<ssize_t>(sizeof r.s_) &&
      (r.s_[0] | r.s_[1] | r.s_[2] | r.s_[3]) != 0) {  // the one state xoshiro cannot leave
    return r;
  }
  // No entropy source (should not happen on Linux >= 3.17).
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t seed = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 30) ^
                  reinterpret_cast<uintptr_t>(&ts);
  return FastRandom(seed);
}

}  // namespace icaht::core
