#include "net/stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "core/check.h"
#include "net/stream_tls_state.h"

namespace icaht::net {
namespace {
// While flushing before a graceful close, give up if no byte moves for this long.
constexpr int64_t kFlushStallNs = 10'000'000'000;
// After half-closing, how long to drain the peer's input before closing.
constexpr int64_t kLingerNs = 2'000'000'000;
// Spare send buffers above Stream::kKeepCapacity, kept per shard instead of
// per connection: a large response regrowing its queue by doubling copied it
// about twice more, and a reused buffer is still warm in the cache.
constexpr size_t kSpareBuffers = 4;
constexpr size_t kMaxSpareCapacity = 4 << 20;
thread_local absl::flat_hash_set<Stream*> t_live_streams;
thread_local std::vector<Stream*> t_flush_list;
thread_local std::vector<std::string> t_spare_buffers;
}  // namespace

size_t Stream::live_count() { return t_live_streams.size(); }

void Stream::CloseAll() {
  std::vector<Stream*> all(t_live_streams.begin(), t_live_streams.end());
  for (Stream* stream : all) stream->Close();
}

Stream::Stream(core::Ring& ring, core::BufRing& bufs, int fd, StreamHandler* handler)
    : ring_(ring), bufs_(bufs), fd_(fd), handler_(handler), linger_timer_([this] { Close(); }) {
  t_live_streams.insert(this);
}

void Stream::StartReading() {
  pause_requested_ = false;
  if (!recv_armed_ && !closing_ && !peer_eof_) ArmRecv();
  if (tls_ != nullptr) TlsResume();
}

void Stream::PauseReading() {
  if (pause_requested_ || closing_) return;
  pause_requested_ = true;
  if (adaptive_) {
    single_shot_ = true;
    calm_arms_ = 0;
  }
  if (!recv_armed_) return;  // between two single-shot recvs: nothing to cancel
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_cancel(sqe, static_cast<core::Completion*>(&recv_op_), 0);
  core::Ring::SetIgnored(sqe);
}

void Stream::ArmRecv(bool expect_more) {
  if (adaptive_ && single_shot_ && ++calm_arms_ >= kCalmArms) single_shot_ = false;
  io_uring_sqe* sqe = ring_.GetSqe();
  if (single_shot_) {
    io_uring_prep_recv(sqe, fd_, nullptr, bufs_.buffer_size(), 0);
    // An upstream's answer is never there yet when we arm: skip the
    // non-blocking attempt and go straight to waiting for readiness. Unless
    // the last recv filled its buffer: the rest of a large body is most
    // likely waiting, and polling first would cost a wake-up per buffer.
    if (!expect_more) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  } else {
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = bufs_.group_id();
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&recv_op_));
  recv_armed_ = true;
  ++inflight_;
}

void Stream::OnRecv(int res, uint32_t flags) {
  dispatching_ = true;
  if ((flags & IORING_CQE_F_MORE) == 0) {
    recv_armed_ = false;
    --inflight_;
  }
  if (res > 0) {
    ICAHT_CHECK(flags & IORING_CQE_F_BUFFER);
    uint16_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
    if (handler_ != nullptr && !closing_) {
      if (tls_ != nullptr) {
        TlsReceived(std::string_view(bufs_.Buffer(bid), res));
      } else {
        delivering_bid_ = bid;
        delivering_lent_ = false;
        handler_->OnData(this, std::string_view(bufs_.Buffer(bid), res));
        delivering_bid_ = -1;
      }
    }
    // A lent buffer comes back when the send that borrowed it completes.
    if (!std::exchange(delivering_lent_, false)) bufs_.Recycle(bid);
  } else if (res == 0) {
    peer_eof_ = true;
    if (lingering_) {
      // Close only once what we queued is out: a cancelled send loses data.
      if (send_idle()) Close();
    } else if (handler_ != nullptr && !closing_) {
      if (tls_ != nullptr) {
        TlsEof();
      } else {
        handler_->OnEof(this);
      }
    }
  } else if (res != -ENOBUFS && res != -ECANCELED) {
    if (lingering_) Close();
    Fail(res);
  }
  if (!recv_armed_ && pause_requested_ && !closing_ && handler_ != nullptr) {
    handler_->OnReadStopped(this);
  }
  // Multishot ended without EOF or error (buffer ring ran dry, or the kernel
  // chose to stop): re-arm unless we asked it to stop.
  if (!recv_armed_ && !peer_eof_ && (res > 0 || res == -ENOBUFS || res == -ECANCELED) &&
      !closing_ && !pause_requested_ && (handler_ != nullptr || lingering_)) {
    ArmRecv(res > 0 && static_cast<size_t>(res) == bufs_.buffer_size());
  }
  dispatching_ = false;
  MaybeFree();
}

void Stream::Send(std::string_view data) {
  if (closing_ || data.empty()) return;
  if (tls_ != nullptr && TlsWriteThrough(data)) return;
  app_out_->append(data);
  ScheduleFlush();
}

void Stream::SendFrom(Stream* source, std::string_view data) {
  if (data.size() < kMinLoan || tls_ != nullptr || closing_ || !loan_.data.empty() ||
      source == nullptr || &source->bufs_ != &bufs_ || !source->CanLend(data) || !bufs_.TryLend()) {
    return Send(data);
  }
  source->delivering_lent_ = true;
  loan_ = {data, static_cast<uint16_t>(source->delivering_bid_)};
  app_out_ = &tail_;
  ScheduleFlush();
}

bool Stream::CanLend(std::string_view data) const {
  return delivering_bid_ >= 0 && !delivering_lent_ && tls_ == nullptr &&
         bufs_.Holds(static_cast<uint16_t>(delivering_bid_), data.data(), data.size());
}

void Stream::ReturnLoans() {
  for (Loan* loan : {&flight_loan_, &loan_}) {
    if (!loan->data.empty()) bufs_.Return(loan->bid);
    *loan = {};
  }
}

void Stream::TruncateTo(size_t mark) {
  // What is before mark_base_ was encrypted or is being sent: not retractable.
  ICAHT_CHECK(mark >= mark_base_);
  size_t keep = mark - mark_base_;
  if (app_out_ == &tail_) {
    const size_t ahead = out_.size() + loan_.data.size();
    if (keep >= ahead) return tail_.resize(std::min(keep - ahead, tail_.size()));
    tail_.clear();
    if (keep > out_.size()) {
      loan_.data = loan_.data.substr(0, keep - out_.size());
      return;
    }
    bufs_.Return(loan_.bid);
    loan_ = {};
    app_out_ = &out_;
  }
  app_out_->resize(std::min(keep, app_out_->size()));
}

void Stream::ReleaseBuffer(std::string& buffer) {
  buffer.clear();
  if (buffer.capacity() <= kKeepCapacity) return;
  if (t_spare_buffers.size() < kSpareBuffers && buffer.capacity() <= kMaxSpareCapacity) {
    t_spare_buffers.push_back(std::move(buffer));
  }
  std::string().swap(buffer);
}

void Stream::ReserveOut(size_t more) {
  size_t need = out_.size() + more;
  if (need <= out_.capacity()) return;
  std::string spare;
  if (!t_spare_buffers.empty()) {
    spare = std::move(t_spare_buffers.back());
    t_spare_buffers.pop_back();
  }
  // Doubling as std::string would, so that a series of appends stays linear.
  spare.reserve(std::max(need, 2 * out_.capacity()));
  spare.append(out_);
  out_.swap(spare);
  ReleaseBuffer(spare);
}

std::string& Stream::SendBuffer() {
  ScheduleFlush();
  return *app_out_;
}

void Stream::ScheduleFlush() {
  // Deferred to the end of this dispatch round, so that everything queued in
  // the round (a response head and its body, pipelined answers) leaves in one
  // send.
  if (!send_in_flight_ && !flush_scheduled_ && !closing_) {
    flush_scheduled_ = true;
    t_flush_list.push_back(this);
  }
}

void Stream::FlushQueued() {
  // FlushSend never adds to the list, so iterating by index is safe.
  for (size_t i = 0; i < t_flush_list.size(); ++i) {
    Stream* stream = t_flush_list[i];
    stream->flush_scheduled_ = false;
    stream->FlushSend();
  }
  t_flush_list.clear();
}

std::string Stream::TakeUnsent() {
  // With TLS the plaintext is what was not sent (what went out was handshake).
  if (tls_ != nullptr) return std::exchange(*app_out_, std::string());
  ICAHT_CHECK(!send_in_flight_);
  std::string all;
  all.reserve(queued_bytes() + flight_offset_);
  for (std::string_view part :
       {std::string_view(flight_), flight_loan_.data, std::string_view(flight_tail_),
        std::string_view(out_), loan_.data, std::string_view(tail_)}) {
    all.append(part);
  }
  all.erase(0, flight_offset_);
  ReturnLoans();
  for (std::string* buffer : {&flight_, &flight_tail_, &out_, &tail_}) buffer->clear();
  flight_offset_ = 0;
  app_out_ = &out_;
  return all;
}

void Stream::FlushSend() {
  if (send_in_flight_ || !connected_ || closing_) return;
  if (tls_ != nullptr) TlsEncrypt();
  if (flight_offset_ == flight_size()) {
    if (out_.empty() && loan_.data.empty()) return;
    // The previous send is complete: what was queued meanwhile goes next, and
    // the sent buffer (capacity kept) collects what comes after.
    flight_.clear();
    flight_offset_ = 0;
    if (tls_ == nullptr) mark_base_ += out_.size() + loan_.data.size() + tail_.size();
    flight_.swap(out_);
    if (!loan_.data.empty()) {
      flight_loan_ = std::exchange(loan_, {});
      flight_tail_.swap(tail_);
      app_out_ = &out_;
    }
  }
  io_uring_sqe* sqe = ring_.GetSqe();
  if (!flight_loan_.data.empty()) {
    SendWithLoan(sqe);
  } else {
    io_uring_prep_send(sqe, fd_, flight_.data() + flight_offset_, flight_.size() - flight_offset_,
                       MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&send_op_));
  send_in_flight_ = true;
  ++inflight_;
}

void Stream::SendWithLoan(io_uring_sqe* sqe) {
  if (send_vec_ == nullptr) send_vec_ = std::make_unique<SendVec>();
  size_t skip = flight_offset_;
  size_t count = 0;
  for (std::string_view part :
       {std::string_view(flight_), flight_loan_.data, std::string_view(flight_tail_)}) {
    if (skip >= part.size()) {
      skip -= part.size();
      continue;
    }
    send_vec_->iov[count++] = {const_cast<char*>(part.data() + skip), part.size() - skip};
    skip = 0;
  }
  send_vec_->msg.msg_iov = send_vec_->iov;
  send_vec_->msg.msg_iovlen = count;
  io_uring_prep_sendmsg(sqe, fd_, &send_vec_->msg, MSG_NOSIGNAL);
}

void Stream::OnSend(int res, uint32_t) {
  dispatching_ = true;
  --inflight_;
  send_in_flight_ = false;
  if (res < 0) {
    if (lingering_) Close();
    Fail(res);
  } else if (!closing_) {
    if (res > 0) last_send_ns_ = core::LoopNowNs();
    flight_offset_ += res;
    if (flight_offset_ == flight_size()) {
      flight_offset_ = 0;
      ReleaseBuffer(flight_);
      if (!flight_loan_.data.empty()) {
        bufs_.Return(flight_loan_.bid);
        flight_loan_ = {};
        ReleaseBuffer(flight_tail_);
      }
      if (out_.empty()) ReleaseBuffer(out_);
    }
    FlushSend();
    if (lingering_) {
      if (send_idle() && peer_eof_) {
        Close();
      } else if (send_idle()) {
        shutdown(fd_, SHUT_WR);
        ring_.timers().Arm(&linger_timer_, core::LoopNowNs() + kLingerNs);
      } else {
        ring_.timers().Arm(&linger_timer_, core::LoopNowNs() + kFlushStallNs);
      }
    } else if (send_idle()) {
      if (shutdown_after_flush_) {
        shutdown_after_flush_ = false;
        shutdown(fd_, SHUT_WR);
      }
      if (handler_ != nullptr) handler_->OnSendDrained(this);
    }
  }
  dispatching_ = false;
  MaybeFree();
}

void Stream::ShutdownWrite() {
  if (closing_) return;
  if (tls_ != nullptr) TlsShutdown();
  if (send_idle()) {
    shutdown(fd_, SHUT_WR);
  } else {
    shutdown_after_flush_ = true;
  }
}

void Stream::Connect(const Address& to, uint32_t timeout_ms) {
  peer_ = to;
  connected_ = false;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_connect(sqe, fd_, peer_.sockaddr_ptr(), peer_.length());
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&connect_op_));
  sqe->flags |= IOSQE_IO_LINK;
  connect_timeout_.tv_sec = timeout_ms / 1000;
  connect_timeout_.tv_nsec = (timeout_ms % 1000) * 1'000'000L;
  io_uring_sqe* timeout = ring_.GetSqe();
  io_uring_prep_link_timeout(timeout, &connect_timeout_, 0);
  core::Ring::SetIgnored(timeout);
  ++inflight_;
}

void Stream::OnConnect(int res, uint32_t) {
  dispatching_ = true;
  --inflight_;
  if (!closing_) {
    if (res < 0) {
      // A linked timeout cancels the connect: report it as a timeout.
      Fail(res == -ECANCELED ? -ETIMEDOUT : res);
    } else if (tls_ != nullptr) {
      // The handshake first; OnConnected once it is done.
      connected_ = true;
      if (!recv_armed_) ArmRecv();
      int64_t budget_ns = connect_timeout_.tv_sec * 1'000'000'000LL + connect_timeout_.tv_nsec;
      ring_.timers().Arm(&tls_->handshake_timer, core::LoopNowNs() + budget_ns);
      TlsProcess();
    } else {
      connected_ = true;
      FlushSend();
      if (handler_ != nullptr) handler_->OnConnected(this);
    }
  }
  dispatching_ = false;
  MaybeFree();
}

void Stream::Fail(int error) {
  if (handler_ != nullptr && !closing_) {
    StreamHandler* handler = handler_;
    handler->OnError(this, error);
  }
}

void Stream::Close() {
  if (closing_) return;
  // A plaintext answer to plain HTTP on a TLS port leaves before the close.
  if (tls_ != nullptr && !lingering_ && TlsAnswerQueued()) return CloseGracefully();
  if (tls_ != nullptr) TlsCloseNotify();
  closing_ = true;
  lingering_ = false;
  handler_ = nullptr;
  ring_.timers().Cancel(&linger_timer_);
  if (inflight_ > 0) {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    core::Ring::SetIgnored(sqe);
  }
  MaybeFree();
}

void Stream::CloseGracefully() {
  if (closing_ || lingering_) return;
  if (tls_ != nullptr) TlsShutdown();
  handler_ = nullptr;
  lingering_ = true;
  if (send_idle()) {
    shutdown(fd_, SHUT_WR);
    ring_.timers().Arm(&linger_timer_, core::LoopNowNs() + kLingerNs);
  } else {
    ring_.timers().Arm(&linger_timer_, core::LoopNowNs() + kFlushStallNs);
  }
  if (peer_eof_ && send_idle()) return Close();
  pause_requested_ = false;
  if (!recv_armed_ && !peer_eof_) ArmRecv();
}

void Stream::MaybeFree() {
  if (!closing_ || inflight_ > 0 || dispatching_) return;
  ReturnLoans();  // no send reads them any more
  close(fd_);
  t_live_streams.erase(this);
  if (flush_scheduled_) {
    t_flush_list.erase(std::find(t_flush_list.begin(), t_flush_list.end(), this));
  }
  delete this;
}

}  // namespace icaht::net
