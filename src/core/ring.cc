#include "core/ring.h"

#include <string.h>

#include <climits>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/deferred.h"

namespace icaht::core {

std::string DescribeIoUringFailure(int err) {
  std::string disabled;
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  if (sysctl >> disabled && disabled != "0") {
    return absl::StrCat("io_uring is disabled by the kernel (kernel.io_uring_disabled=", disabled,
                        "); enable it with `sysctl -w kernel.io_uring_disabled=0`");
  }
  if (err == EPERM || err == ENOSYS) {
    return absl::StrCat(
        "io_uring is refused (", strerror(err),
        "): a seccomp profile blocks it (Docker/containerd default profiles do: run with "
        "--security-opt seccomp=unconfined or a profile allowing io_uring_setup/enter/register) "
        "or the kernel lacks io_uring (need Linux >= 6.1)");
  }
  return absl::StrCat("io_uring setup failed: ", strerror(err));
}

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(unsigned entries) {
  std::unique_ptr<Ring> ring(new Ring());
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
                 IORING_SETUP_CQSIZE;
  params.cq_entries = entries * 4;
  int ret = io_uring_queue_init_params(entries, &ring->ring_, &params);
  if (ret == -EINVAL) {
    // Kernels before 6.1 lack DEFER_TASKRUN; run with cooperative task work instead.
    params = {};
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    ret = io_uring_queue_init_params(entries, &ring->ring_, &params);
  }
  if (ret < 0) return absl::UnavailableError(DescribeIoUringFailure(-ret));
  ring->initialized_ = true;
  // Saves an fget/fput per io_uring_enter; harmless if unsupported.
  ring->registered_fd_ = io_uring_register_ring_fd(&ring->ring_) == 1;
  // Linux 6.12+: wait for a batch of completions, but no longer than a short
  // "min wait" once at least one is there (see RunOnce).
  ring->batch_wait_ =
      (params.features & kFeatMinTimeout) != 0 && (params.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  return ring;
}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    int submitted = io_uring_submit(&ring_);
    if (submitted > 0) RingStats::Bump(stats_->submitted, static_cast<uint64_t>(submitted));
    sqe = io_uring_get_sqe(&ring_);
    ICAHT_CHECK(sqe != nullptr);
  }
  return sqe;
}

// Publishes queued SQEs to the kernel (liburing's __io_uring_flush_sq for a
// ring without SQPOLL) and returns how many the kernel has not consumed yet.
unsigned Ring::FlushSq() {
  io_uring_sq* sq = &ring_.sq;
  unsigned tail = sq->sqe_tail;
  if (sq->sqe_head != tail) {
    sq->sqe_head = tail;
    IO_URING_WRITE_ONCE(*sq->ktail, tail);
  }
  return tail - IO_URING_READ_ONCE(*sq->khead);
}

int Ring::Enter(unsigned wait_nr, uint32_t min_wait_us, int64_t timeout_ns) {
  __kernel_timespec ts{.tv_sec = timeout_ns / 1'000'000'000, .tv_nsec = timeout_ns % 1'000'000'000};
  GeteventsArg arg{};
  arg.ts = reinterpret_cast<uint64_t>(&ts);
  arg.min_wait_usec = min_wait_us;
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int fd = ring_.ring_fd;
  if (registered_fd_) {
    flags |= IORING_ENTER_REGISTERED_RING;
    fd = ring_.enter_ring_fd;
  }
  unsigned to_submit = FlushSq();
  return io_uring_enter2(fd, to_submit, wait_nr, flags, reinterpret_cast<sigset_t*>(&arg),
                         sizeof(arg));  // liburing returns -errno
}

void Ring::RunOnce(int64_t max_wait_ns) {
  if (before_submit_) before_submit_();
  int64_t now = LoopNowNs();
  int64_t wait_ns = max_wait_ns;
  int64_t next = timers_.NextDeadline();
  if (next != INT64_MAX) wait_ns = std::min(wait_ns, std::max<int64_t>(0, next - now));

  int ret;
  if (wait_ns == 0) {
    ret = io_uring_submit(&ring_);
  } else {
    RingStats::Bump(stats_->waits, 1);
    bool batch = batch_wait_ && last_batch_ >= kBatchFrom;
    ret = batch ? Enter(std::min(last_batch_ * 2, kBatchMax), kBatchWaitUs, wait_ns)
                : Enter(1, 0, wait_ns);
  }
  if (ret > 0) RingStats::Bump(stats_->submitted, static_cast<uint64_t>(ret));
  if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
    ICAHT_CHECK(false && "io_uring_enter failed");
  }

  SetLoopNowNs(NowNs());
  // Reap everything that is ready, then advance the CQ once.
  io_uring_cqe* cqe;
  unsigned head;
  unsigned count = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++count;
    // The next completion's object (a stream's or a connection's, last
    // touched a round ago) is fetched while this one runs: its first load,
    // the virtual call, was the loop's costliest instruction.
    if (head + 1 != io_uring_smp_load_acquire(ring_.cq.ktail)) {
      const io_uring_cqe& next = ring_.cq.cqes[(head + 1) & ring_.cq.ring_mask];
      __builtin_prefetch(reinterpret_cast<const void*>(next.user_data));
    }
    auto* completion = reinterpret_cast<Completion*>(io_uring_cqe_get_data64(cqe));
    if (completion != nullptr) {
      completion->Complete(cqe->res, cqe->flags);
      RunDeferred();
    }
  }
  io_uring_cq_advance(&ring_, count);
  RingStats::Bump(stats_->completions, count);
  last_batch_ = count;
  int64_t after = NowNs();
  SetLoopNowNs(after);
  timers_.FireExpired(after);
  RingStats::Bump(stats_->loops, 1);
  stats_->last_loop_ns.store(after, std::memory_order_relaxed);
}

}  // namespace icaht::core
