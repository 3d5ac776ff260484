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
      done_(std::move(done)),
      on_free_(std::move(on_free)),
      last_progress_ns_(core::NowNs()) {}

SplicePump* SplicePump::Start(core::Ring& ring, PipePool& pipes, const Pipe& pipe, int from, int to,
                              uint64_t bytes, Done done, std::function<void()> on_free) {
  auto* pump =
      new SplicePump(ring, pipes, pipe, from, to, bytes, std::move(done), std::move(on_free));
  pump->Pump();
  return pump;
}

void SplicePump::Pump() {
  // Strictly alternating: fill the pipe with whatever the socket holds, then
  // drain it all. Overlapping the two (measured) only splits the same bytes
  // into more, smaller splices.
  if (finished_ || filling_ || draining_) return;
  if (in_pipe_ > 0) {
    IssueDrain(false);
  } else if (to_fill_ > 0) {
    IssueFill(fill_poll_first_);
  }
}

void SplicePump::SetLowWater(uint64_t bytes) {
  int want = static_cast<int>(std::min<uint64_t>(bytes, kLowWater));
  if (want < 1) want = 1;
  if (want == low_water_) return;
  setsockopt(from_, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want);
  low_water_ = want;
}

void SplicePump::IssueFill(bool poll_first) {
  if (poll_first && to_fill_ != kUntilEof) {
    // Wake only when a worthwhile amount is queued (or the rest of the body
    // is): a loaded sender trickles, and each tiny splice costs a round trip.
    SetLowWater(to_fill_);
  }
  if (poll_first) {
    io_uring_sqe* poll = ring_.GetSqe();
    io_uring_prep_poll_add(poll, from_, POLLIN);
    // No IOSQE_CQE_SKIP_SUCCESS here: with it, Abort's cancel of a poll on a
    // silent socket did not take effect (seen: a stalled body kept the client).
    poll->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data(poll, static_cast<core::Completion*>(&fill_poll_));
  }
  size_t room = pipe_.capacity - in_pipe_;
  unsigned len = static_cast<unsigned>(std::min<uint64_t>(to_fill_, room));
  fill_len_ = len;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_splice(sqe, from_, -1, pipe_.write_fd, -1, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&fill_op_));
  filling_ = true;
}

void SplicePump::IssueDrain(bool poll_first) {
  if (poll_first) {
    io_uring_sqe* poll = ring_.GetSqe();
    io_uring_prep_poll_add(poll, to_, POLLOUT);
    poll->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data(poll, static_cast<core::Completion*>(&drain_poll_));
  }
  unsigned len = static_cast<unsigned>(std::min<uint64_t>(in_pipe_, 1u << 30));
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_splice(sqe, pipe_.read_fd, -1, to_, -1, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&drain_op_));
  draining_ = true;
}

void SplicePump::OnFill(int res) {
  dispatching_ = true;
  filling_ = false;
  if (!finished_) {
    if (res > 0) {
      last_progress_ns_ = core::NowNs();
      // A short splice drained the socket: the next one waits for readiness
      // first instead of failing with EAGAIN and then waiting.
      fill_poll_first_ = static_cast<unsigned>(res) < fill_len_;
      if (to_fill_ != kUntilEof) to_fill_ -= res;
      in_pipe_ += res;
      Pump();
    } else if (res == -EAGAIN) {
      IssueFill(true);  // socket empty (or, rarely, pipe full): wait for readiness
    } else if (res == 0 && to_fill_ == kUntilEof) {
      to_fill_ = 0;  // the source's EOF ends a tunnel direction: drain what is left
      to_drain_ = in_pipe_;
      if (to_drain_ == 0 && !draining_) {
        Finish(0);
      } else {
        Pump();
      }
    } else if (res == 0) {
      Finish(-EPIPE);  // the source closed before the body was complete
    } else {
      Finish(res);
    }
  }
  dispatching_ = false;
  MaybeFree();
}

void SplicePump::OnDrain(int res) {
  dispatching_ = true;
  draining_ = false;
  if (!finished_) {
    if (res > 0) {
      last_progress_ns_ = core::NowNs();
      in_pipe_ -= res;
      moved_ += res;
      if (to_drain_ != kUntilEof) to_drain_ -= res;
      if (to_drain_ == 0) {
        Finish(0);
      } else {
        Pump();
      }
    } else if (res == -EAGAIN) {
      IssueDrain(true);  // destination socket full: wait until writable
    } else {
      Finish(res == 0 ? -EPIPE : res);
    }
  }
  dispatching_ = false;
  MaybeFree();
}

void SplicePump::Finish(int error) {
  finished_ = true;
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(error);
}

void SplicePump::Abort() {
  finished_ = true;
  done_ = nullptr;
  // Polls may wait forever on a quiet socket: cancel them (a linked splice
  // then completes with -ECANCELED), and any splice in flight.
  for (core::Completion* op :
       {static_cast<core::Completion*>(&fill_poll_), static_cast<core::Completion*>(&drain_poll_),
        static_cast<core::Completion*>(&fill_op_), static_cast<core::Completion*>(&drain_op_)}) {
    if ((op == &fill_poll_ || op == &fill_op_) ? !filling_ : !draining_) continue;
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel(sqe, op, 0);
    core::Ring::SetIgnored(sqe);
  }
  MaybeFree();
}

void SplicePump::MaybeFree() {
  if (!finished_ || filling_ || draining_ || dispatching_) return;
  // The socket may go back to a keep-alive pool: restore the default.
  if (low_water_ > 1) SetLowWater(1);
  pipes_.Release(pipe_, in_pipe_ == 0 && to_drain_ == 0);
  std::function<void()> on_free = std::move(on_free_);
  delete this;
  if (on_free) on_free();
}

}  // namespace icaht::proxy
