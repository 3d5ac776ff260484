#include "tracing/ids.h"

#include <cstring>

namespace icaht::tracing {

std::string ToHex(const TraceId& id) {
  std::string s(kTraceIdHexSize, '0');
  WriteHex(id, s.data());
  return s;
}

std::string ToHex(const SpanId& id) {
  std::string s(kSpanIdHexSize, '0');
  WriteHex(id, s.data());
  return s;
}

TraceId NewTraceId(core::FastRandom& rng) {
  TraceId id;
  do {
    const uint64_t hi = rng.Next();
    const uint64_t lo = rng.Next();
    std::memcpy(id.data(), &hi, 8);
    std::memcpy(id.data() + 8, &lo, 8);
  } while (IsZero(id));
  return id;
}

SpanId NewSpanId(core::FastRandom& rng) {
  SpanId id;
  do {
    const uint64_t v = rng.Next();
    std::memcpy(id.data(), &v, 8);
  } while (IsZero(id));
  return id;
}

uint64_t LowBits(const TraceId& id) {
  uint64_t v = 0;
  for (size_t i = 8; i < 16; ++i) v = (v << 8) | id[i];
  return v;
}

}  // namespace icaht::tracing
