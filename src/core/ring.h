#pragma once
// One io_uring instance, owned by exactly one thread (SINGLE_ISSUER). Every
// operation's user_data is a Completion*; the loop reaps CQEs in batches and
// dispatches each to its Completion (Seastar's kernel_completion pattern).

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "core/timer_queue.h"

namespace icaht::core {

// Receives the result of one io_uring operation, or a message posted by
// another ring (see message.h). `flags` are the CQE flags (F_MORE, F_BUFFER).
class Completion {
 public:
  virtual void Complete(int res, uint32_t flags) = 0;

 protected:
  ~Completion() = default;
};

// What a ring's loop did, written by the ring's thread only (a relaxed
// load and store: no lock prefix) and read by the metrics scrape on another.
struct RingStats {
  std::atomic<uint64_t> loops{0};        // RunOnce rounds
  std::atomic<uint64_t> waits{0};        // rounds that waited in the kernel
  std::atomic<uint64_t> submitted{0};    // SQEs the kernel took
  std::atomic<uint64_t> completions{0};  // CQEs reaped
  std::atomic<int64_t> last_loop_ns{0};  // NowNs() at the end of the last round

  static void Bump(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class Ring {
 public:
  // Creates a ring for the calling thread; only that thread may use it.
  // Fails with a message that names io_uring and how to enable it when the
  // kernel or a seccomp profile refuses io_uring.
  static absl::StatusOr<std::unique_ptr<Ring>> Create(unsigned entries);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Returns a free SQE, submitting queued ones first if the SQ is full.
  io_uring_sqe* GetSqe();
  // Marks an SQE whose completion should be ignored (fire-and-forget ops).
  static void SetIgnored(io_uring_sqe* sqe) { io_uring_sqe_set_data64(sqe, 0); }

  // Submits what is queued, waits until at least one CQE arrives or the next
  // timer is due (or `max_wait_ns` passes), dispatches every ready CQE and
  // then every expired timer.
  void RunOnce(int64_t max_wait_ns);

  // Runs at the start of every RunOnce, before the submit: lets a layer above
  // batch work queued during dispatch (e.g. coalesce a response head and body
  // into one send). One hook per ring.
  void set_before_submit(std::function<void()> hook) { before_submit_ = std::move(hook); }

  int fd() const { return ring_.ring_fd; }
  // Loop rounds that waited in the kernel, and completions reaped: their
  // ratio is the batch size the loop achieves.
  uint64_t wait_rounds() const { return stats_->waits.load(std::memory_order_relaxed); }
  uint64_t completions() const { return stats_->completions.load(std::memory_order_relaxed); }
  // Where the loop counts (its own by default): an owner that outlives the
  // ring (a shard, read by the metrics scrape) brings its own.
  void set_stats(RingStats* stats) { stats_ = stats; }
  io_uring* raw() { return &ring_; }
  TimerQueue& timers() { return timers_; }

 private:
  // IORING_FEAT_MIN_TIMEOUT and the 6.12 layout of io_uring_getevents_arg
  // (liburing 2.3's headers predate both; the old `pad` is `min_wait_usec`).
  static constexpr uint32_t kFeatMinTimeout = 1U << 15;
  struct GeteventsArg {
    uint64_t sigmask;
    uint32_t sigmask_sz;
    uint32_t min_wait_usec;
    uint64_t ts;
  };
  // Batched waiting: after a round that reaped kBatchFrom or more
  // completions, wait for twice as many (at most kBatchMax), but no longer
  // than kBatchWaitUs once at least one is ready. Under load this trades a
  // little latency (bounded by kBatchWaitUs) for far fewer sleeps and
  // wake-ups; a lightly loaded loop (small rounds) wakes per completion.
  static constexpr unsigned kBatchFrom = 4;
  static constexpr unsigned kBatchMax = 64;
  static constexpr uint32_t kBatchWaitUs = 50;

  Ring() = default;
  unsigned FlushSq();
  // io_uring_enter with EXT_ARG: submits what is queued and waits up to
  // `timeout_ns` for `wait_nr` completions (see kBatchWaitUs for min_wait_us).
  int Enter(unsigned wait_nr, uint32_t min_wait_us, int64_t timeout_ns);

  io_uring ring_{};
  bool initialized_ = false;
  bool registered_fd_ = false;
  bool batch_wait_ = false;
  unsigned last_batch_ = 0;
  RingStats own_stats_;
  RingStats* stats_ = &own_stats_;
  TimerQueue timers_;
  std::function<void()> before_submit_;
};

// Describes why io_uring could not be set up and how to fix it (one line).
std::string DescribeIoUringFailure(int err);

}  // namespace icaht::core
