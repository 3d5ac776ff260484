#pragma once
// Trace and span identifiers (W3C Trace Context section 3.2, B3): 16 and 8
// bytes, written as lowercase hex in headers, access logs and exports. An id of
// all zero bytes is invalid in both formats; here it also means "none" (a root
// span's parent).

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/random.h"

namespace icaht::tracing {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

inline constexpr size_t kTraceIdHexSize = 32;
inline constexpr size_t kSpanIdHexSize = 16;

namespace internal {

// Lowercase hex digit -> value; anything else (uppercase included) -> 0x10.
inline constexpr std::array<uint8_t, 256> kLowerHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0x10;
  }
  return t;
}();
inline constexpr char kHexDigits[] = "0123456789abcdef";

// Eight characters at a time in one 64-bit word (SWAR), little-endian only: a
// table per character let GCC vectorise the loops into gathers and stack
// spills, 3x slower than this on the traceparent path (measured with
// tracing_benchmark).
inline constexpr bool kSwar = std::endian::native == std::endian::little;
inline constexpr uint64_t kOnes = 0x0101010101010101ULL;

// Bit 7 of each byte: set where that byte of x (all < 0x80) is >= lo / <= hi.
inline uint64_t AtLeast(uint64_t x, uint8_t lo) { return ((x | 0x80 * kOnes) - lo * kOnes); }
inline uint64_t AtMost(uint64_t x, uint8_t hi) { return ((hi | 0x80) * kOnes - x); }

// 8 lowercase hex characters -> 4 bytes; false if any is not [0-9a-f].
inline bool DecodeHex8(const char* in, uint8_t* out) {
  uint64_t x;
  std::memcpy(&x, in, 8);
  const uint64_t high = 0x80 * kOnes;
  const uint64_t digit = AtLeast(x, '0') & AtMost(x, '9');
  const uint64_t letter = AtLeast(x, 'a') & AtMost(x, 'f');
  const bool ok = (x & high) == 0 && ((digit | letter) & high) == high;
  // '0'-'9' -> low nibble; 'a'-'f' (bit 6 set) -> low nibble + 9.
  const uint64_t nibbles = (x & 0x0f * kOnes) + ((x >> 6) & kOnes) * 9;
  const uint64_t pairs = (nibbles << 4) | (nibbles >> 8);  // even bytes: hi << 4 | lo
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(pairs >> (16 * i));
  return ok;
}

// 4 bytes -> 8 lowercase hex characters.
inline void EncodeHex8(const uint8_t* in, char* out) {
  uint32_t y;
  std::memcpy(&y, in, 4);
  uint64_t x = (y | (uint64_t{y} << 16)) & 0x0000ffff0000ffffULL;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffULL;                                // byte k in lane 2k
  const uint64_t n = ((x >> 4) & 0x0f * kOnes) | ((x & 0x0f * kOnes) << 8);  // hi, lo nibbles
  const uint64_t letters = ((n + 0x76 * kOnes) >> 7) & kOnes;                // nibble > 9
  const uint64_t chars = n + '0' * kOnes + letters * ('a' - '0' - 10);
  std::memcpy(out, &chars, 8);
}

}  // namespace internal

template <size_t N>
bool IsZero(const std::array<uint8_t, N>& id) {
  uint8_t any = 0;
  for (uint8_t b : id) any |= b;
  return any == 0;
}

// Writes 2*N lowercase hex characters at `out`; returns the end.
template <size_t N>
char* WriteHex(const std::array<uint8_t, N>& id, char* out) {
  if constexpr (internal::kSwar && N % 4 == 0) {
    for (size_t i = 0; i < N; i += 4) internal::EncodeHex8(id.data() + i, out + 2 * i);
  } else {
    for (size_t i = 0; i < N; ++i) {
      out[2 * i] = internal::kHexDigits[id[i] >> 4];
      out[2 * i + 1] = internal::kHexDigits[id[i] & 0xf];
    }
  }
  return out + 2 * N;
}

// Reads exactly 2*N lowercase hex characters from `hex` into `id`. False (and
// `id` unspecified) when `hex` is shorter or any of them is not [0-9a-f];
// characters after the first 2*N are not looked at.
template <size_t N>
bool ReadHex(std::string_view hex, std::array<uint8_t, N>& id) {
  if (hex.size() < 2 * N) return false;
  if constexpr (internal::kSwar && N % 4 == 0) {
    bool ok = true;
    for (size_t i = 0; i < N; i += 4) ok &= internal::DecodeHex8(hex.data() + 2 * i, id.data() + i);
    return ok;
  } else {
    uint8_t bad = 0;
    for (size_t i = 0; i < N; ++i) {
      const uint8_t hi = internal::kLowerHexValue[static_cast<unsigned char>(hex[2 * i])];
      const uint8_t lo = internal::kLowerHexValue[static_cast<unsigned char>(hex[2 * i + 1])];
      bad |= hi | lo;
      id[i] = static_cast<uint8_t>((hi << 4) | (lo & 0xf));
    }
    return (bad & 0x10) == 0;
  }
}

// 32 or 16 lowercase hex characters, e.g. the access log's trace_id field.
std::string ToHex(const TraceId& id);
std::string ToHex(const SpanId& id);

// Random ids, never all zero.
TraceId NewTraceId(core::FastRandom& rng);
SpanId NewSpanId(core::FastRandom& rng);

// The trace id's last 8 bytes as a big-endian integer: the random part of the
// id in W3C (level 2 section 3.2.2.1) and all of a 64-bit B3 id.
uint64_t LowBits(const TraceId& id);

}  // namespace icaht::tracing
