#pragma once
// Zero-copy body forwarding: moves exactly N bytes from one socket to another
// through a pipe with IORING_OP_SPLICE, so the bytes never enter user space.
//
// Splice on a non-blocking socket answers -EAGAIN instead of waiting (it is
// not pollable in io_uring), so each step runs "splice; on EAGAIN, a
// POLL_ADD linked to a retry" (or the poll first when the socket was just
// found empty). Filling (socket -> pipe) and draining (pipe -> socket)
// alternate. Short splices are normal.
//
// Shard-owned and self-owned: the pump deletes itself once its last op has
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

 private:
  class Op : public core::Completion {
   public:
    Op(SplicePump* pump, void (SplicePump::*fn)(int)) : pump_(pump), fn_(fn) {}
    void Complete(int res, uint32_t) override { (pump_->*fn_)(res); }

   private:
    SplicePump* pump_;
    void (SplicePump::*fn_)(int);
  };

  SplicePump(core::Ring& ring, PipePool& pipes, const Pipe& pipe, int from, int to, uint64_t bytes,
             Done done, std::function<void()> on_free);
  void Pump();
  void IssueFill(bool poll_first);
  // SO_RCVLOWAT on the source: min(bytes, kLowWater).
  void SetLowWater(uint64_t bytes);
  static constexpr uint64_t kLowWater = 128 * 1024;
  void IssueDrain(bool poll_first);
  void OnFill(int res);
  void OnDrain(int res);
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
  int64_t last_progress_ns_ = 0;
  uint64_t moved_ = 0;
  unsigned fill_len_ = 0;
  bool fill_poll_first_ = false;
  int low_water_ = 1;
  Done done_;
  std::function<void()> on_free_;
  // A poll linked before a retried splice: its own CQE is of no interest, but
  // a distinct user_data lets Abort() cancel it (and so the splice behind it).
  class PollOp : public core::Completion {
   public:
    void Complete(int, uint32_t) override {}
  };

  Op fill_op_{this, &SplicePump::OnFill};
  Op drain_op_{this, &SplicePump::OnDrain};
  PollOp fill_poll_;
  PollOp drain_poll_;
  bool filling_ = false;
  bool draining_ = false;
  bool finished_ = false;
  bool dispatching_ = false;
};

}  // namespace icaht::proxy
