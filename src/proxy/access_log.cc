#include "proxy/access_log.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"

namespace icaht::proxy {
namespace {

constexpr size_t kWriteAt = 64 * 1024;           // a full buffer is written at once
constexpr int64_t kFlushNs = 50'000'000;         // otherwise within this
constexpr size_t kMaxPending = 4 * 1024 * 1024;  // behind by more: drop

}  // namespace

AccessLog::AccessLog(core::Ring& ring, AccessLogStats* stats)
    : ring_(ring), stats_(stats), flush_timer_([this] { StartWrite(); }) {}

AccessLog::~AccessLog() { FlushBlocking(); }

void AccessLog::SetSink(net::Fd fd) {
  if (in_flight_) {
    retired_ = std::move(fd_);
  } else {
    fd_.Reset();
  }
  fd_ = std::move(fd);
  chunked_ = false;
  if (fd_.valid()) {
    struct stat st {};
    chunked_ = fstat(fd_.get(), &st) == 0 && !S_ISREG(st.st_mode);
  } else {
    pending_.clear();
    pending_lines_ = 0;
  }
  wall_offset_ns_ = core::WallClockNs() - core::NowNs();
}

void AccessLog::Append(const filters::RequestContext& ctx) {
  if (!fd_.valid()) return;
  if (pending_.size() >= kMaxPending) {
    stats_->dropped.Add();
    return;
  }
  AppendAccessLogLine(ctx, ctx.start_ns + wall_offset_ns_, time_, &pending_);
  ++pending_lines_;
  if (in_flight_) return;
  if (pending_.size() >= kWriteAt) return StartWrite();
  if (!flush_timer_.armed()) ring_.timers().Arm(&flush_timer_, core::LoopNowNs() + kFlushNs);
}

void AccessLog::StartWrite() {
  if (in_flight_) return;
  if (writing_.size() == written_) {
    if (pending_.empty() || !fd_.valid()) return;
    writing_.swap(pending_);
    pending_.clear();
    writing_lines_ = pending_lines_;
    pending_lines_ = 0;
    written_ = 0;
    wall_offset_ns_ = core::WallClockNs() - core::NowNs();
  }
  ring_.timers().Cancel(&flush_timer_);
  // A pipe keeps a write of at most PIPE_BUF whole: end the chunk at the last
  // line that fits (a longer line goes alone).
  chunk_end_ = writing_.size();
  if (chunked_ && chunk_end_ - written_ > PIPE_BUF) {
    size_t cut = writing_.rfind('\n', written_ + PIPE_BUF - 1);
    chunk_end_ =
        cut != std::string::npos && cut >= written_ ? cut + 1 : writing_.find('\n', written_) + 1;
  }
  io_uring_sqe* sqe = ring_.GetSqe();
  // Offset -1: the file position (O_APPEND files append; pipes ignore it).
  io_uring_prep_write(sqe, fd_.get(), writing_.data() + written_,
                      static_cast<unsigned>(chunk_end_ - written_), static_cast<uint64_t>(-1));
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(this));
  in_flight_ = true;
}

void AccessLog::Complete(int res, uint32_t) {
  in_flight_ = false;
  retired_.Reset();
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) return StartWrite();
    DropWriting(-res);
  } else {
    written_ += static_cast<size_t>(res);
    if (written_ >= writing_.size()) {
      stats_->lines.Add(writing_lines_);
      writing_.clear();
      written_ = 0;
      writing_lines_ = 0;
    }
  }
  // The rest of this buffer, then what gathered meanwhile.
  if (written_ < writing_.size() || pending_.size() >= kWriteAt) return StartWrite();
  if (!pending_.empty() && !flush_timer_.armed()) {
    ring_.timers().Arm(&flush_timer_, core::LoopNowNs() + kFlushNs);
  }
}

void AccessLog::DropWriting(int error) {
  ICAHT_LOG_LIMITED(kWarn, "access log: write failed (", strerror(error), "); ", writing_lines_,
                    " lines lost");
  stats_->dropped.Add(writing_lines_);
  writing_.clear();
  written_ = 0;
  writing_lines_ = 0;
}

void AccessLog::FlushBlocking() {
  ring_.timers().Cancel(&flush_timer_);
  // The write in flight must finish before its buffer may be touched.
  for (int i = 0; i < 200 && in_flight_; ++i) ring_.RunOnce(10'000'000);
  if (in_flight_) return;  // the kernel still holds the buffer: leave it be
  for (std::string* buf : {&writing_, &pending_}) {
    size_t done = buf == &writing_ ? written_ : 0;
    while (fd_.valid() && done < buf->size()) {
      ssize_t n = write(fd_.get(), buf->data() + done, buf->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  stats_->lines.Add(writing_lines_ + pending_lines_);
  writing_.clear();
  pending_.clear();
  written_ = writing_lines_ = pending_lines_ = 0;
}

}  // namespace icaht::proxy
