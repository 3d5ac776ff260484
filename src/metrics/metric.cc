#include "metrics/metric.h"

namespace icaht::metrics {
namespace {

// The bounds in integer nanoseconds: "le" is inclusive, and 1 ms must land
// in le="0.001" whatever floating point makes of 1e6 * 1e-9.
constexpr std::array<int64_t, Histogram::kBuckets> kBoundsNs = [] {
  std::array<int64_t, Histogram::kBuckets> ns{};
  for (size_t i = 0; i < ns.size(); ++i)
    ns[i] = static_cast<int64_t>(kLatencyBounds[i] * 1e9 + 0.5);
  return ns;
}();

// Big-endian, so that printing hi then lo in hex gives the bytes in order.
uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void Write(Exemplar& e, const uint8_t* trace, int64_t ns, int64_t unix_ms) {
  uint32_t seq = e.seq.load(std::memory_order_relaxed);
  e.seq.store(seq + 1, std::memory_order_relaxed);  // odd: being written
  std::atomic_thread_fence(std::memory_order_release);
  e.trace_hi.store(Load64(trace), std::memory_order_relaxed);
  e.trace_lo.store(Load64(trace + 8), std::memory_order_relaxed);
  e.value_ns.store(ns, std::memory_order_relaxed);
  e.unix_ms.store(unix_ms, std::memory_order_relaxed);
  e.seq.store(seq + 2, std::memory_order_release);
}

// A consistent copy, or nothing when the writer was busy with it (the next
// scrape sees it).
ExemplarValue Read(const Exemplar& e) {
  uint32_t before = e.seq.load(std::memory_order_acquire);
  if (before % 2 != 0) return {};
  ExemplarValue v{
      e.trace_hi.load(std::memory_order_relaxed), e.trace_lo.load(std::memory_order_relaxed),
      e.value_ns.load(std::memory_order_relaxed), e.unix_ms.load(std::memory_order_relaxed)};
  std::atomic_thread_fence(std::memory_order_acquire);
  if (e.seq.load(std::memory_order_relaxed) != before) return {};
  return v;
}

}  // namespace

void Histogram::Observe(int64_t ns, const uint8_t* trace, int64_t unix_ms) {
  if (ns < 0) ns = 0;
  size_t bucket = 0;
  while (bucket < kBuckets && ns > kBoundsNs[bucket]) ++bucket;
  if (bucket < kBuckets) buckets_[bucket].Add();
  count_.Add();
  sum_ns_.Add(static_cast<uint64_t>(ns));
  if (trace == nullptr) return;
  Exemplars* exemplars = exemplars_.load(std::memory_order_relaxed);  // only this writer stores
  if (exemplars == nullptr) {
    exemplars = new Exemplars();
    exemplars_.store(exemplars, std::memory_order_release);
  }
  Write((*exemplars)[bucket], trace, ns, unix_ms);
}

Histogram::~Histogram() { delete exemplars_.load(std::memory_order_acquire); }

void Histogram::ReadInto(Snapshot* out) const {
  for (size_t i = 0; i < kBuckets; ++i) out->buckets[i] += buckets_[i].Read();
  out->count += count_.Read();
  out->sum_ns += sum_ns_.Read();
  const Exemplars* exemplars = exemplars_.load(std::memory_order_acquire);
  for (size_t i = 0; exemplars != nullptr && i <= kBuckets; ++i) {
    ExemplarValue v = Read((*exemplars)[i]);
    if (v.unix_ms > out->exemplars[i].unix_ms) out->exemplars[i] = v;
  }
}

void Histogram::Snapshot::Merge(const Snapshot& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_ns += other.sum_ns;
  for (size_t i = 0; i <= kBuckets; ++i) {
    if (other.exemplars[i].unix_ms > exemplars[i].unix_ms) exemplars[i] = other.exemplars[i];
  }
}

}  // namespace icaht::metrics
