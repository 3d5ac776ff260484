#pragma once
// A TCP socket driven by one shard's ring: multishot recv from the shard's
// provided-buffer ring, sends with one in flight (a poll-retried send could
// otherwise reorder bytes) from two byte buffers that keep their capacity
// (one in flight, one collecting what is queued meanwhile: no allocation per
// send on a keep-alive connection), connect with a linked timeout, and a close
// that waits for every in-flight op before freeing.
//
// Owned by the shard thread. A Stream deletes itself after Close() once the
// kernel holds no op for it, so holders must drop their pointer at Close().

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "net/address.h"

namespace icaht::net {

class Stream;
class TlsSession;

class StreamHandler {
 public:
  // Bytes received; `data` is valid only during the call.
  virtual void OnData(Stream* stream, std::string_view data) = 0;
  // The peer closed its sending side (recv returned 0).
  virtual void OnEof(Stream* stream) = 0;
  // A recv, send or connect failed (negative errno). The stream is unusable.
  virtual void OnError(Stream* stream, int error) = 0;
  // Connect finished successfully; with TLS, the handshake too (on accepted
  // TLS streams as well: the handshake is done, plaintext can flow).
  virtual void OnConnected(Stream* stream) {}
  // The send queue became empty.
  virtual void OnSendDrained(Stream* stream) {}
  // After PauseReading: the recv has fully stopped (no more OnData until
  // StartReading), so the socket may be handed to another reader (splice).
  virtual void OnReadStopped(Stream* stream) {}

 protected:
  ~StreamHandler() = default;
};

class Stream {
 public:
  Stream(core::Ring& ring, core::BufRing& bufs, int fd, StreamHandler* handler);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Speaks TLS over the socket with `session` (call before StartReading or
  // Connect): the handler sends and receives plaintext only; an accepted
  // stream's handshake runs as its first bytes arrive, a connecting stream's
  // after the TCP connect, and its OnConnected comes when the handshake is
  // done. A failed handshake or a broken record is OnError(-EPROTO), with
  // tls()->error() saying why. Plain HTTP sent to a TLS server stream is
  // answered with a plaintext 400 before the stream closes.
  // Bodies cannot be spliced through a TLS stream (no kTLS here): check
  // encrypted() first.
  void StartTls(std::unique_ptr<TlsSession> session);
  TlsSession* tls() const;
  bool encrypted() const { return tls_ != nullptr; }

  int fd() const { return fd_; }
  // Single-shot recvs instead of multishot: each recv takes one buffer and is
  // re-armed after it is handled, so the reader can stop between any two
  // buffers without a cancel round trip (the control plane's HTTP calls).
  // Set before reading.
  void set_single_shot(bool single_shot) { single_shot_ = single_shot; }
  // Upstream sockets (set before reading): single-shot at first and after
  // every PauseReading (a body handed to splice, or held back by a slow
  // client: a multishot recv would read on until the cancel lands, up to a
  // whole large body into provided buffers), multishot once kCalmArms
  // receives were armed without a pause (small answers: one poll for the
  // connection's life instead of one per response).
  void set_adaptive_recv() {
    adaptive_ = true;
    single_shot_ = true;
    calm_arms_ = 0;
  }
  bool single_shot() const { return single_shot_; }
  static constexpr uint8_t kCalmArms = 64;
  // Streams alive on the calling thread (a shard drains to zero before exit).
  static size_t live_count();
  // Aborts every stream of the calling thread (shard exit after the grace).
  static void CloseAll();
  // Issues the sends queued by Send() since the last call, each stream's
  // queued bytes as one send. Install as the ring's before_submit hook.
  static void FlushQueued();
  void set_handler(StreamHandler* handler) { handler_ = handler; }

  // Arms multishot recv if not armed. Idempotent.
  void StartReading();
  // Stops delivering new data soon (cancels the recv); data already in
  // completions may still arrive. Used for backpressure.
  void PauseReading();
  bool reading() const { return recv_armed_ && !pause_requested_; }
  // No recv is armed: nothing will be read from the socket by this stream.
  bool read_stopped() const { return !recv_armed_; }

  // Queues a copy of `data`; sends in order. Before the connect completes they
  // wait. Everything queued in one dispatch round leaves in one send. With
  // TLS, a large `data` is encrypted at once, straight from `data` (no copy
  // of the plaintext), together with what was queued before it.
  void Send(std::string_view data);
  // Queues `data` like Send(), without copying it when it lies in the buffer
  // `source` is delivering right now (inside its OnData): that provided
  // buffer is lent to this stream and goes back to the ring once the send of
  // these bytes completes (a relayed body goes out from where it was
  // received, as nginx sends from its read buffer). Copies instead when
  // lending does not pay or cannot be done: under kMinLoan bytes, TLS on
  // either side, a loan already queued here, or the shard's loans at their
  // cap (BufRing::TryLend).
  void SendFrom(Stream* source, std::string_view data);
  static constexpr size_t kMinLoan = 4096;
  // The queue itself, for callers that build bytes in place: append only.
  std::string& SendBuffer();
  // A mark in what Send() and SendBuffer() queued, and undoing what was
  // appended after it. Only within the same dispatch (before the ring's next
  // submit nothing queued leaves), e.g. to replace a response head by an
  // error answer, and only while nothing after the mark was encrypted: with
  // TLS, no large Send() since the mark (see Send).
  size_t send_mark() const {
    return mark_base_ + (app_out_ == &tail_ ? out_.size() + loan_.data.size() : 0) +
           app_out_->size();
  }
  void TruncateTo(size_t mark);
  size_t queued_bytes() const {
    return flight_size() - flight_offset_ + out_.size() + loan_.data.size() + tail_.size() +
           (app_out_ != &out_ && app_out_ != &tail_ ? app_out_->size() : 0);
  }
  // When a send last delivered bytes to the socket (LoopNowNs clock; 0 if
  // never): progress of a peer that reads slowly but steadily.
  int64_t last_send_ns() const { return last_send_ns_; }
  // Moves out what has not been sent (for retrying on another connection after
  // a failed connect: nothing was sent then).
  std::string TakeUnsent();

  // Starts a non-blocking connect to `to`; OnConnected or OnError follows.
  void Connect(const Address& to, uint32_t timeout_ms);
  // Connected, and with TLS, the handshake done.
  bool connected() const { return connected_ && (tls_ == nullptr || tls_established()); }
  // The address Connect() was given (unset for accepted sockets).
  const Address& peer() const { return peer_; }

  // Half-closes (SHUT_WR) once everything queued has been sent. Reading goes on.
  void ShutdownWrite();

  // Keeps the fd open (and the stream alive) while someone else's io_uring
  // ops or syscalls use the fd number, e.g. a splice pump's polls and splices:
  // closing the fd under them could make them act on whichever socket reuses
  // the number.
  void Ref() { ++inflight_; }
  void Unref() {
    --inflight_;
    MaybeFree();
  }

  // Aborts: cancels everything and frees the stream when the kernel is done.
  // No handler call happens after Close().
  void Close();
  // Sends what is queued, half-closes, discards further input until EOF or a
  // short linger timeout, then closes (so a peer that is still sending does
  // not get an RST that destroys the response in flight). No handler calls.
  void CloseGracefully();

 private:
  class Op : public core::Completion {
   public:
    Op(Stream* stream, void (Stream::*fn)(int, uint32_t)) : stream_(stream), fn_(fn) {}
    void Complete(int res, uint32_t flags) override { (stream_->*fn_)(res, flags); }

   private:
    Stream* stream_;
    void (Stream::*fn_)(int, uint32_t);
  };

  struct TlsState;
  // A lent provided buffer's bytes in the send queue (see SendFrom).
  struct Loan {
    std::string_view data;
    uint16_t bid = 0;
  };
  // sendmsg's header and iovecs for a send with a loan (made at the first).
  struct SendVec {
    msghdr msg{};
    iovec iov[3]{};
  };

  ~Stream();
  void OnRecv(int res, uint32_t flags);
  void OnSend(int res, uint32_t flags);
  void OnConnect(int res, uint32_t flags);
  // `expect_more`: the last recv filled its buffer (single-shot: no poll first).
  void ArmRecv(bool expect_more = false);
  void FlushSend();
  // Sends flight_, flight_loan_ and flight_tail_ from flight_offset_ (sendmsg).
  void SendWithLoan(io_uring_sqe* sqe);
  size_t flight_size() const {
    return flight_.size() + flight_loan_.data.size() + flight_tail_.size();
  }
  // Whether `data` lies in the buffer being delivered and may be lent.
  bool CanLend(std::string_view data) const;
  // Returns the loans queued or in flight (the kernel no longer reads them).
  void ReturnLoans();
  void MaybeFree();
  void Fail(int error);
  // TLS (stream_tls.cc).
  bool tls_established() const;
  void TlsReceived(std::string_view ciphertext);
  void TlsEof();
  void TlsResume();
  void TlsPump();
  void TlsHandshakeTimedOut();
  bool TlsAnswerQueued() const;
  void TlsProcess();
  void TlsFailed();
  void TlsEncrypt();
  bool TlsWriteThrough(std::string_view data);
  // Room for `more` bytes in out_, from the shard's spare buffers when out_
  // would have to grow (a large buffer is reused warm instead of regrown).
  void ReserveOut(size_t more);
  // Empties `buffer`; one above kKeepCapacity goes to the spare buffers.
  static void ReleaseBuffer(std::string& buffer);
  void TlsShutdown();
  void TlsCloseNotify();

  core::Ring& ring_;
  core::BufRing& bufs_;
  int fd_;
  StreamHandler* handler_;
  Op recv_op_{this, &Stream::OnRecv};
  Op send_op_{this, &Stream::OnSend};
  Op connect_op_{this, &Stream::OnConnect};
  core::Timer linger_timer_;
  Address peer_;
  __kernel_timespec connect_timeout_{};
  bool send_idle() const { return !send_in_flight_ && queued_bytes() == 0; }
  void ScheduleFlush();
  // Buffers above this capacity are released once empty (a large copied body
  // must not pin its peak on an idle keep-alive connection).
  static constexpr size_t kKeepCapacity = 64 * 1024;
  std::string flight_;        // the send in flight (from flight_offset_), or a short send's rest
  size_t flight_offset_ = 0;  // bytes of flight_ already sent
  std::string out_;           // queued after flight_
  // With a loan: flight_ and out_ are followed by the lent bytes and by what
  // was queued after them (tail_; Send() appends there while a loan waits).
  Loan flight_loan_;
  std::string flight_tail_;
  Loan loan_;
  std::string tail_;
  std::unique_ptr<SendVec> send_vec_;
  // where Send() queues: out_, tail_ behind a loan, or with TLS the plaintext
  std::string* app_out_ = &out_;
  std::unique_ptr<TlsState> tls_;
  // Bytes queued by Send()/SendBuffer() that already left app_out_ (with TLS:
  // plaintext handed to the session), so that marks stay offsets in one stream.
  size_t mark_base_ = 0;
  int inflight_ = 0;
  int64_t last_send_ns_ = 0;
  int32_t delivering_bid_ = -1;   // the provided buffer OnData is handed now
  bool delivering_lent_ = false;  // ... and it was lent: not recycled after
  bool recv_armed_ = false;
  bool pause_requested_ = false;
  bool send_in_flight_ = false;
  bool flush_scheduled_ = false;
  bool connected_ = true;  // accepted sockets are connected; Connect() clears it
  bool closing_ = false;
  bool lingering_ = false;
  bool shutdown_after_flush_ = false;
  bool peer_eof_ = false;
  bool single_shot_ = false;
  bool adaptive_ = false;
  uint8_t calm_arms_ = 0;  // adaptive, single-shot: receives armed since the last pause
  bool dispatching_ = false;
};

}  // namespace icaht::net
