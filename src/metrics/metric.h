#pragma once
// Single-writer metrics: each one is written by one thread only (its shard,
// or the control thread) and read by the scrape on another. Writes are a
// relaxed load and a relaxed store of the writer's own cache line: a plain
// `mov` on x86, no `lock` prefix, no fence, no mutex on the request path.
// Reads are relaxed loads: a scrape sees each value whole (never torn), and a
// request that completed before the scrape began is counted in it.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace icaht::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, kOrder); }
  uint64_t Read() const { return v_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::memory_order kOrder = std::memory_order_relaxed;
  std::atomic<uint64_t> v_{0};
};

// Up and down (active connections): the sum over the writers is the value.
class Gauge {
 public:
  void Add(int64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t Read() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Request latencies in seconds, Prometheus' usual buckets stretched to the
// proxy's range (0.5 ms .. 10 s); +Inf is implicit (the count).
inline constexpr std::array<double, 14> kLatencyBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// The last traced observation of a bucket (OpenMetrics exemplar): the
// writer brackets its stores with a sequence number (odd while writing), a
// reader retries or skips when it changed meanwhile. No lock either side.
struct Exemplar {
  std::atomic<uint32_t> seq{0};
  std::atomic<uint64_t> trace_hi{0}, trace_lo{0};
  std::atomic<int64_t> value_ns{0};
  std::atomic<int64_t> unix_ms{0};
};

struct ExemplarValue {
  uint64_t trace_hi = 0, trace_lo = 0;
  int64_t value_ns = 0;
  int64_t unix_ms = 0;
  bool present() const { return unix_ms != 0; }
};

// Fixed-bucket histogram of durations kept in nanoseconds (integer adds).
class Histogram {
 public:
  static constexpr size_t kBuckets = kLatencyBounds.size();
  Histogram() = default;
  ~Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // With `trace` (16 bytes, the request's trace id) the bucket's exemplar is
  // replaced too.
  void Observe(int64_t ns, const uint8_t* trace = nullptr, int64_t unix_ms = 0);

  struct Snapshot {
    std::array<uint64_t, kBuckets> buckets{};  // not cumulative
    uint64_t count = 0;                        // every observation (the +Inf bucket)
    uint64_t sum_ns = 0;
    std::array<ExemplarValue, kBuckets + 1> exemplars{};
    void Merge(const Snapshot& other);
  };
  void ReadInto(Snapshot* out) const;  // adds this histogram's values to *out

 private:
  std::array<Counter, kBuckets> buckets_;
  Counter count_;
  Counter sum_ns_;
  // Made by the writer at its first traced observation (600 bytes most
  // histograms never need: one per service, shard and family), published
  // with release for readers; freed with the histogram.
  using Exemplars = std::array<Exemplar, kBuckets + 1>;
  std::atomic<Exemplars*> exemplars_{nullptr};
};

}  // namespace icaht::metrics
