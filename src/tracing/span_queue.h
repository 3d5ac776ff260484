#pragma once
// The span exporter's state, without transport or clock: a bounded queue of
// finished spans, cut into batches, one batch in flight at a time, retried
// with exponential backoff. The control thread owns one; shards hand it their
// spans in bulk (by message), the exporter asks it what to send and when, and
// reports each attempt's result. Times are the caller's monotonic clock in
// nanoseconds (core::NowNs() in the daemon, a counter in tests).
//
//   queue.Push(std::move(spans_from_a_shard), now);
//   if (auto batch = queue.TakeBatchToSend(now)) { encode batch->spans, POST it }
//   ... queue.OnResult(status_or_kConnectionFailed, now);
//   arm a timer for queue.NextWakeup()
//
// Not thread-safe: one thread (the control thread) uses it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/random.h"
#include "tracing/span.h"

namespace icaht::tracing {

struct SpanQueueOptions {
  size_t capacity = 2048;  // spans held at most, waiting and in flight; more are dropped
  size_t batch_size = 512;
  int64_t flush_interval_ns = 1'000'000'000;  // a span waits at most this long for a batch
  int64_t initial_backoff_ns = 1'000'000'000;
  int64_t max_backoff_ns = 30'000'000'000;
  int max_retries = 5;  // a batch is dropped after 1 + max_retries failed attempts
  // A batch is dropped instead of retried once its oldest span would be older
  // than this at the retry: stale spans are worth less than new ones.
  int64_t max_age_ns = 120'000'000'000;
  // Each backoff is drawn from [backoff/2, backoff], so that sidecars that
  // lost the same collector do not retry in step.
  bool jitter = true;
};

class SpanQueue {
 public:
  // OnResult's status when no HTTP answer came (connect failure, reset, timeout).
  static constexpr int kConnectionFailed = 0;

  struct Batch {
    // Valid until OnResult. A retry returns the same spans, so the caller may
    // keep the body it encoded for attempt 0.
    std::span<const Span> spans;
    int attempt = 0;  // 0 for the first try
  };

  explicit SpanQueue(SpanQueueOptions options = {},
                     core::FastRandom rng = core::FastRandom::FromEntropy());

  // Adds spans; those that find the queue full are dropped and counted.
  void Push(Span span, int64_t now_ns);
  void Push(std::vector<Span>&& spans, int64_t now_ns);

  // The batch to send now, if any: nothing while one is in flight or waiting
  // for its retry time; otherwise batch_size spans as soon as there are that
  // many, or what there is once the oldest has waited flush_interval. `flush`
  // sends what there is without waiting (shutdown).
  std::optional<Batch> TakeBatchToSend(int64_t now_ns, bool flush = false);

  // The result of the batch in flight: the collector's HTTP status, or
  // kConnectionFailed. 2xx: exported. 429, 5xx and kConnectionFailed: retried
  // after a backoff (at least `retry_after_ns` when the collector named one)
  // unless that would pass max_retries or max_age. Anything else is final
  // (the collector refuses the data): the batch is dropped.
  // Calling it with no batch in flight is a programming error (CHECK).
  void OnResult(int status, int64_t now_ns, int64_t retry_after_ns = 0);

  // When TakeBatchToSend may next return a batch: a past time when one is
  // ready, INT64_MAX when nothing is waiting or a batch is in flight.
  int64_t NextWakeup() const;

  size_t size() const { return pending_.size() + in_flight_.size(); }
  bool in_flight() const { return state_ == State::kInFlight; }

  uint64_t exported() const { return exported_; }
  // Spans lost: the queue was full, or their batch was given up.
  uint64_t dropped() const { return dropped_full_ + dropped_failed_; }
  uint64_t dropped_queue_full() const { return dropped_full_; }
  uint64_t dropped_export_failed() const { return dropped_failed_; }
  uint64_t retries() const { return retries_; }

 private:
  enum class State : uint8_t {
    kIdle,      // nothing in flight
    kInFlight,  // TakeBatchToSend returned a batch; OnResult comes next
    kBackoff,   // the batch failed and waits until retry_at_
  };
  struct Pending {
    Span span;
    int64_t pushed_at;
  };

  int64_t Backoff(int retry);
  void EndBatch();

  SpanQueueOptions options_;
  core::FastRandom rng_;
  std::deque<Pending> pending_;
  std::vector<Span> in_flight_;  // the current batch, kept for its retries
  State state_ = State::kIdle;
  int attempt_ = 0;
  int64_t batch_oldest_ = 0;  // when the current batch's oldest span was pushed
  int64_t retry_at_ = 0;

  uint64_t exported_ = 0;
  uint64_t dropped_full_ = 0;
  uint64_t dropped_failed_ = 0;
  uint64_t retries_ = 0;
};

}  // namespace icaht::tracing
