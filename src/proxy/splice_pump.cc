#include "proxy/splice_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace icaht::proxy {

PipePool::~PipePool() {
  for (const Pipe& pipe : idle_) {
    close(pipe.read_fd);
    close(pipe.write_fd);
  }
}

bool PipePool::Acquire(Pipe* pipe) {
  if (!idle_.empty()) {
    *pipe = idle_.back();
    idle_.pop_back();
    return true;
  }
  if (open_ >= max_pipes_) return false;
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return false;
  // Larger pipes mean fewer splices per body; the kernel may refuse (per-user
  // pipe page limit), and then the default size is used.
  int size = fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_bytes_));
  if (size < 0) size = fcntl(fds[1], F_GETPIPE_SZ);
  *pipe = {fds[0], fds[1], static_cast<size_t>(size > 0 ? size : 65536)};
  ++open_;
  return true;
}

void PipePool::Release(const Pipe& pipe, bool clean) {
  if (clean) {
    idle_.push_back(pipe);
    return;
  }
  close(pipe.read_fd);
  close(pipe.write_fd);
  --open_;
}

SplicePump::SplicePump(core::Ring& ring, PipePool& pipes, const Pipe& pipe, int from, int to,
                       uint64_t bytes, Done done, std::function<void()> on_free)
    : ring_(ring),
      pipes_(pipes),
      pipe_(pipe),
      from_(from),
      to_(to),
      to_fill_(bytes),
      to_drain_(bytes),
      last_progress_ns_(core::LoopNowNs()),
      done_(std::move(done)),
      on_free_(std::move(on_free)) {}

SplicePump* SplicePump::Start(core::Ring& ring, PipePool& pipes, const Pipe& pipe, int from, int to,
                              uint64_t bytes, Done done, std::function<void()> on_free) {
  auto* pump =
      new SplicePump(ring, pipes, pipe, from, to, bytes, std::move(done), std::move(on_free));
  // Readiness first, even if bytes are already queued (the poll then completes
  // at once): `done` never runs before the owner has stored the pump.
  pump->WaitForSource();
  return pump;
}

void SplicePump::SetLowWater(uint64_t bytes) {
  int want = static_cast<int>(std::min<uint64_t>(bytes, kLowWater));
  if (want < 1) want = 1;
  if (want == low_water_) return;
  setsockopt(from_, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want);
  low_water_ = want;
}

void SplicePump::WaitForSource() {
  // Wake for a worthwhile amount (or the rest of the body), not every segment.
  if (to_fill_ != kUntilEof) SetLowWater(to_fill_);
  ArmPoll(from_, POLLIN);
}

void SplicePump::ArmPoll(int fd, unsigned events) {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_poll_add(sqe, fd, events);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&poll_op_));
  polling_ = true;
  poll_events_ = events;
}

void SplicePump::OnPoll(int res) {
  polling_ = false;
  // An error or hang-up shows in the splice that follows; only a cancel
  // (Abort) or a failed poll stops here.
  if (!finished_) {
    if (res >= 0 && poll_events_ == POLLOUT && (res & (POLLOUT | POLLERR | POLLHUP)) == 0) {
      // The kernel completes a POLLOUT poll with POLLRDHUP alone once the
      // destination's peer has half-closed, however full the socket is:
      // polling again would spin. Retry the drain on a timer instead (the
      // owner's inactivity bound ends a peer that never reads again).
      retry_timer_armed_ = true;
      ring_.timers().Arm(&retry_timer_, core::LoopNowNs() + kFullPeerRetryNs);
    } else if (res < 0) {
      dispatching_ = true;
      Finish(res);
      dispatching_ = false;
    } else {
      Pump();
    }
  }
  MaybeFree();
}

void SplicePump::Pump() {
  dispatching_ = true;
  for (int i = 0; i < kBudget && !finished_; ++i) {
    // Strictly alternating: fill the pipe with whatever the socket holds, then
    // drain it all. Overlapping the two (measured) only splits the same bytes
    // into more, smaller splices.
    bool more = in_pipe_ > 0 ? DrainOnce() : FillOnce();
    if (!more) break;
  }
  if (!finished_ && !polling_) {
    // Budget spent with work left: let the ring run others first.
    if (in_pipe_ > 0) {
      ArmPoll(to_, POLLOUT);
    } else {
      WaitForSource();
    }
  }
  dispatching_ = false;
}

bool SplicePump::FillOnce() {
  size_t room = pipe_.capacity - in_pipe_;
  size_t len = static_cast<size_t>(std::min<uint64_t>(to_fill_, room));
  ssize_t res =
      splice(from_, nullptr, pipe_.write_fd, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (res > 0) {
    last_progress_ns_ = core::LoopNowNs();
    if (to_fill_ != kUntilEof) to_fill_ -= res;
    in_pipe_ += res;
    source_empty_ = static_cast<size_t>(res) < len;
    return true;  // drain next
  }
  if (res < 0 && errno == EINTR) return true;
  if (res < 0 && errno == EAGAIN) {
    WaitForSource();  // socket empty
    return false;
  }
  if (res == 0 && to_fill_ == kUntilEof) {
    to_fill_ = 0;  // the source's EOF ends a tunnel direction: drain what is left
    to_drain_ = in_pipe_;
    if (to_drain_ == 0) Finish(0);
    return !finished_;
  }
  Finish(res == 0 ? -EPIPE : -errno);  // EOF before the body was complete, or an error
  return false;
}

bool SplicePump::DrainOnce() {
  size_t len = static_cast<size_t>(std::min<uint64_t>(in_pipe_, 1u << 30));
  ssize_t res =
      splice(pipe_.read_fd, nullptr, to_, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (res > 0) {
    last_progress_ns_ = core::LoopNowNs();
    in_pipe_ -= res;
    moved_ += res;
    if (to_drain_ != kUntilEof) to_drain_ -= res;
    if (to_drain_ == 0) {
      Finish(0);
      return false;
    }
    if (in_pipe_ > 0) {
      ArmPoll(to_, POLLOUT);  // short: the destination is full
      return false;
    }
    if (source_empty_) {
      // The last fill took all the socket had: wait for more rather than
      // spend a splice on EAGAIN.
      WaitForSource();
      return false;
    }
    return true;
  }
  if (res < 0 && errno == EINTR) return true;
  if (res < 0 && errno == EAGAIN) {
    ArmPoll(to_, POLLOUT);
    return false;
  }
  Finish(res == 0 ? -EPIPE : -errno);
  return false;
}

void SplicePump::Finish(int error) {
  finished_ = true;
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(error);
}

void SplicePump::OnRetryTimer() {
  retry_timer_armed_ = false;
  if (!finished_) Pump();
  MaybeFree();
}

void SplicePump::Abort() {
  finished_ = true;
  done_ = nullptr;
  if (retry_timer_armed_) {
    ring_.timers().Cancel(&retry_timer_);
    retry_timer_armed_ = false;
  }
  // The poll may wait forever on a quiet socket: cancel it.
  if (polling_) {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel(sqe, static_cast<core::Completion*>(&poll_op_), 0);
    core::Ring::SetIgnored(sqe);
  }
  MaybeFree();
}

void SplicePump::MaybeFree() {
  if (!finished_ || polling_ || dispatching_ || retry_timer_armed_) return;
  // The socket may go back to a keep-alive pool: restore the default.
  if (low_water_ > 1) SetLowWater(1);
  pipes_.Release(pipe_, in_pipe_ == 0 && to_drain_ == 0);
  std::function<void()> on_free = std::move(on_free_);
  delete this;
  if (on_free) on_free();
}

}  // namespace icaht::proxy
