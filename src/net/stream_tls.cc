// Stream's TLS half: ciphertext from the ring goes through the session and
// comes out as plaintext for the handler; plaintext queued by Send() is
// encrypted into the send queue when the send is issued (so a response head
// and its body, queued in one dispatch round, become as few records as can be).

#include <sys/socket.h>

#include <cerrno>

#include "core/check.h"
#include "core/deferred.h"
#include "core/ring.h"
#include "net/stream.h"
#include "net/stream_tls_state.h"
#include "net/tls_session.h"

namespace icaht::net {
namespace {
// What plain HTTP sent to a TLS port gets (as nginx answers it).
constexpr std::string_view kPlainHttpAnswer =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 47\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks TLS: use https:// to reach it\n";
static_assert(std::string_view("This port speaks TLS: use https:// to reach it\n").size() == 47);
// Plaintext is handed to the handler in pieces of at most one record.
constexpr size_t kReadPiece = 16 * 1024;
// The largest record's plaintext, and an upper bound of what a record adds to
// it (TLS 1.2 GCM: 5 + 8 + 16).
constexpr size_t kRecord = TlsSession::kMaxRecordPlaintext;
constexpr size_t kRecordOverhead = 32;
// Send()s from this size (with what is queued) are encrypted at once, from
// the caller's bytes: a 1 MiB body then costs one copy less, and its records
// stay whole. Below it, copying into the queue keeps head and body in one
// record.
constexpr size_t kWriteThrough = 2 * kRecord;
// A plaintext buffer above this capacity is released once encrypted.
constexpr size_t kKeepPlainCapacity = 64 * 1024;
}  // namespace

Stream::~Stream() = default;

void Stream::StartTls(std::unique_ptr<TlsSession> session) {
  ICAHT_CHECK(tls_ == nullptr);
  session->set_output(&out_);
  tls_ = std::make_unique<TlsState>(this, std::move(session));
  tls_->client = !connected_;
  app_out_ = &tls_->plain;
}

TlsSession* Stream::tls() const { return tls_ != nullptr ? tls_->session.get() : nullptr; }

bool Stream::tls_established() const { return tls_->session->established(); }

bool Stream::TlsAnswerQueued() const { return tls_->answer_queued; }

void Stream::TlsReceived(std::string_view ciphertext) {
  TlsSession& session = *tls_->session;
  session.SetInput(ciphertext);
  TlsProcess();
  session.KeepInput();
}

void Stream::TlsEof() {
  if (tls_->eof_delivered) return;  // close_notify came first
  if (!tls_->session->established()) {
    // Gone mid-handshake: nothing was said, so nothing can be answered.
    return Fail(-ECONNRESET);
  }
  // After what is still to be read (delivered by TlsProcess once a read
  // finds no complete record left; a partial one can no longer complete).
  tls_->eof_pending = true;
  if (!pause_requested_) TlsProcess();
}

void Stream::TlsResume() {
  if (tls_->eof_delivered) return;
  if (tls_->session->has_buffered() || tls_->eof_pending) tls_->pump.Post();
}

void Stream::TlsHandshakeTimedOut() {
  if (closing_ || tls_->session->established()) return;
  dispatching_ = true;
  Fail(-ETIMEDOUT);  // as a connect that timed out: nothing was sent
  dispatching_ = false;
  MaybeFree();
}

void Stream::TlsPump() {
  if (closing_ || handler_ == nullptr || pause_requested_) return;
  dispatching_ = true;
  TlsProcess();
  dispatching_ = false;
  MaybeFree();
}

void Stream::TlsProcess() {
  TlsSession& session = *tls_->session;
  if (!session.established()) {
    TlsSession::Result result = session.Handshake();
    if (!out_.empty()) ScheduleFlush();
    if (result == TlsSession::Result::kWant) return;
    if (result != TlsSession::Result::kOk) return TlsFailed();
    ring_.timers().Cancel(&tls_->handshake_timer);
    // Plaintext queued during the handshake can go now.
    ScheduleFlush();
    if (handler_ != nullptr) handler_->OnConnected(this);
  }
  if (tls_->eof_delivered) {
    session.SetInput({});  // after close_notify: nothing more is read
    return;
  }
  char piece[kReadPiece];
  bool drained = false;  // a read found no complete record
  while (!pause_requested_ && !closing_ && handler_ != nullptr) {
    size_t n = 0;
    TlsSession::Result result = session.Read(piece, sizeof(piece), &n);
    if (result == TlsSession::Result::kOk) {
      handler_->OnData(this, std::string_view(piece, n));
      continue;
    }
    if (result == TlsSession::Result::kWant) {
      drained = true;
      break;
    }
    if (result == TlsSession::Result::kClosed) {
      // close_notify: the peer sends nothing more (its TCP EOF may follow).
      tls_->eof_delivered = true;
      tls_->eof_pending = false;
      handler_->OnEof(this);
      break;
    }
    TlsFailed();
    break;
  }
  // Records OpenSSL answered with while reading (tickets, key updates).
  if (!out_.empty()) ScheduleFlush();
  if (tls_->eof_pending && drained && !closing_ && handler_ != nullptr && !pause_requested_) {
    tls_->eof_pending = false;
    tls_->eof_delivered = true;
    handler_->OnEof(this);
  }
}

void Stream::TlsFailed() {
  TlsSession& session = *tls_->session;
  if (!tls_->client && session.plain_http() && !tls_->answer_queued && !send_in_flight_) {
    out_.assign(kPlainHttpAnswer);
    tls_->answer_queued = true;
    ScheduleFlush();
  }
  Fail(-EPROTO);
}

void Stream::TlsEncrypt() {
  std::string& plain = tls_->plain;
  if (plain.empty() || !tls_->session->established()) return;
  ReserveOut(plain.size() + (plain.size() / kRecord + 1) * kRecordOverhead);
  // Our BIO takes every byte, so a write only fails on a session that has
  // already failed; its reads report that.
  tls_->session->Write(plain);
  mark_base_ += plain.size();
  plain.clear();
  if (plain.capacity() > kKeepPlainCapacity) std::string().swap(plain);
}

bool Stream::TlsWriteThrough(std::string_view data) {
  std::string& plain = tls_->plain;
  if (plain.size() + data.size() < kWriteThrough || !connected_ || !tls_->session->established()) {
    return false;
  }
  if (!plain.empty()) {
    // What is queued (a response head) leads the first record, topped up to
    // a whole one from `data`.
    size_t take = std::min(data.size(), kRecord - plain.size() % kRecord);
    plain.append(data.substr(0, take));
    data.remove_prefix(take);
    TlsEncrypt();
  }
  // An idle socket takes the records as OpenSSL makes them (no copy into
  // the queue); what it does not take is queued behind them.
  const bool idle = !send_in_flight_ && flight_offset_ == flight_.size();
  if (idle && !out_.empty()) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) out_.erase(0, static_cast<size_t>(n));
  }
  if (idle && out_.empty()) {
    tls_->session->set_direct_fd(fd_);
  } else {
    ReserveOut(data.size() + (data.size() / kRecord + 1) * kRecordOverhead);
  }
  tls_->session->Write(data);
  if (tls_->session->direct_bytes() > 0) last_send_ns_ = core::LoopNowNs();
  tls_->session->set_direct_fd(-1);
  mark_base_ += data.size();
  ScheduleFlush();
  return true;
}

void Stream::TlsCloseNotify() {
  // An abortive close still says goodbye when the socket is idle: peers that
  // keep stateful sessions drop a session whose connection ended without
  // close_notify. One best-effort non-blocking send, never queued.
  if (!connected_ || !tls_->session->established() || send_in_flight_ ||
      flight_offset_ != flight_.size() || !out_.empty() || lingering_) {
    return;
  }
  tls_->session->Shutdown();
  if (!out_.empty()) ::send(fd_, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  out_.clear();
}

void Stream::TlsShutdown() {
  if (!tls_->session->established()) return;
  if (connected_) TlsEncrypt();
  tls_->session->Shutdown();
  ScheduleFlush();
}

}  // namespace icaht::net
