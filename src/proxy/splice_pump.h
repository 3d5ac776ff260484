#pragma once
// Zero-copy body forwarding: moves exactly N bytes from one socket to another
// through a pipe with splice(2), so the bytes never enter user space.
//
// The splices are plain non-blocking syscalls made by the shard thread;
// readiness comes from io_uring (single-shot POLL_ADD on the socket that
// answered EAGAIN). IORING_OP_SPLICE is not used: the kernel always punts it
// to an io-wq worker thread (io_splice refuses IO_URING_F_NONBLOCK), and the
// hand-off and wake-up per splice cost more than the splice itself (measured:
// 1 MiB responses at 64 connections went from 356 to 283 us of CPU per
// request, nginx 466 in the same run).
//
// Filling (socket -> pipe) and draining (pipe -> socket) alternate. Short
// splices are normal: a short fill means the socket is empty (wait for
// POLLIN, with SO_RCVLOWAT so the wake-up carries a worthwhile amount), a
// short drain means the destination is full (wait for POLLOUT).
//
// Shard-owned and self-owned: the pump deletes itself once its poll has
// completed after Finish or Abort, so the sockets' owners never wait for it.

#include <cstdint>
#include <functional>
#include <vector>

#include "core/ring.h"
#include "core/timer_queue.h"

namespace icaht::proxy {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  size_t capacity = 0;
};

// A bounded per-shard pool of pipes (the per-user pipe page limit makes
// unbounded pipes fail at scale, and creating one costs two syscalls).
class PipePool {
 public:
  explicit PipePool(size_t max_pipes, size_t pipe_bytes)
      : max_pipes_(max_pipes), pipe_bytes_(pipe_bytes) {}
  ~PipePool();
  // A pipe, or false when the pool is exhausted (callers then copy).
  bool Acquire(Pipe* pipe);
  // `clean`: the pipe is known empty; a dirty pipe is closed instead.
  void Release(const Pipe& pipe, bool clean);

 private:
  size_t max_pipes_;
  size_t pipe_bytes_;
  size_t open_ = 0;
  std::vector<Pipe> idle_;
};

class SplicePump {
 public:
  // Called once: `error` is 0 when all bytes moved, else a negative errno
  // (-EPIPE when the source closed early).
  using Done = std::function<void(int error)>;

  // Starts moving `bytes` from `from` to `to`. The pump returns the pipe to
  // `pipes` when it finishes.
  // Length meaning "until the source's EOF" (tunnels): the pump finishes with
  // 0 once the source has closed its side and the pipe is drained.
  static constexpr uint64_t kUntilEof = UINT64_MAX;

  // `on_free` runs when the pump is gone (all its ops completed), whatever
  // happened: owners use it to release the fds they keep open for the pump.
  static SplicePump* Start(core::Ring& ring, PipePool& pipes, const Pipe& pipe, int from, int to,
                           uint64_t bytes, Done done, std::function<void()> on_free);
  // The owner is going away: no callback, stop issuing ops, free when idle.
  // The owner must also cancel ops on the fds (closing its streams does).
  void Abort();
  // When bytes last moved (NowNs clock), for inactivity timeouts.
  int64_t last_progress_ns() const { return last_progress_ns_; }
  // Bytes delivered to the destination so far.
  uint64_t moved() const { return moved_; }
  // Bytes sit in the pipe: the pump waits for the destination to take them.
  bool holds_bytes() const { return in_pipe_ > 0; }

 private:
  class PollOp : public core::Completion {
   public:
    explicit PollOp(SplicePump* pump) : pump_(pump) {}
    void Complete(int res, uint32_t) override { pump_->OnPoll(res); }

   private:
    SplicePump* pump_;
  };

  SplicePump(core::Ring& ring, PipePool& pipes, const Pipe& pipe, int from, int to, uint64_t bytes,
             Done done, std::function<void()> on_free);
  // Splices until a socket would block (then arms a poll), the body is done,
  // or the round's budget is spent (then polls, to let other work run).
  void Pump();
  // One fill or drain; false when the pump has to wait (a poll is armed) or
  // has finished.
  bool FillOnce();
  bool DrainOnce();
  void ArmPoll(int fd, unsigned events);
  // Polls the source for POLLIN, with SO_RCVLOWAT set to what is still due.
  void WaitForSource();
  void OnPoll(int res);
  void OnRetryTimer();
  // A destination whose peer half-closed and stopped reading: how often the
  // drain is retried (see OnPoll).
  static constexpr int64_t kFullPeerRetryNs = 50'000'000;
  // SO_RCVLOWAT on the source: min(bytes, kLowWater).
  void SetLowWater(uint64_t bytes);
  static constexpr uint64_t kLowWater = 128 * 1024;
  // Splices per Pump() before yielding to the ring.
  static constexpr int kBudget = 16;
  void Finish(int error);
  void MaybeFree();

  core::Ring& ring_;
  PipePool& pipes_;
  Pipe pipe_;
  int from_;
  int to_;
  uint64_t to_fill_;   // bytes still to move into the pipe
  uint64_t to_drain_;  // bytes still to move out of the pipe
  uint64_t in_pipe_ = 0;
  uint64_t moved_ = 0;
  int64_t last_progress_ns_ = 0;
  int low_water_ = 1;
  Done done_;
  std::function<void()> on_free_;
  PollOp poll_op_{this};
  core::Timer retry_timer_{[this] { OnRetryTimer(); }};
  unsigned poll_events_ = 0;
  bool polling_ = false;
  bool retry_timer_armed_ = false;
  bool source_empty_ = false;  // the last fill was short
  bool finished_ = false;
  bool dispatching_ = false;
};

}  // namespace icaht::proxy
