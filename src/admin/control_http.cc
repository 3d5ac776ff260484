#include "admin/control_http.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"
#include "http/request_parser.h"
#include "net/stream.h"
#include "proxy/header_rewrite.h"
#include "registry/json_writer.h"

namespace icaht::admin {
namespace {

constexpr size_t kMaxBody = 1 << 20;
// Pause after an accept met the fd limit (as the shards do).
constexpr int64_t kAcceptBackoffMs = 100;
// After the last answer, how long to wait for the peer to close.
constexpr uint32_t kLingerMs = 1000;

std::string JsonError(std::string_view code, std::string_view message) {
  return registry::JsonErrorBody(code, message);
}

std::string Serialize(const ControlResponse& response, bool keep_alive) {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += proxy::ReasonPhrase(response.status);
  out += "\r\n";
  if (response.status != 204) {
    out += "Content-Type: ";
    out += response.content_type;
    out += "\r\nContent-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n";
  }
  out += "Cache-Control: no-store\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (response.status != 204) out += response.body;
  return out;
}

}  // namespace

// One accepted connection. Deletes itself when the peer is gone and no
// answer is pending, when it times out, or when the server evicts it.
class ControlConnection final : private net::StreamHandler, public Responder {
 public:
  ControlConnection(ControlHttpServer* server, core::BufRing& bufs, int fd,
                    const ControlHttpServer::Handler& handler)
      : server_(server),
        stream_(new net::Stream(server->ring(), bufs, fd, this)),
        handler_(handler),
        timer_([this] { OnTimeout(); }) {
    position_ = server_->Track(this);
  }
  ~ControlConnection() { server_->Untrack(position_); }

  void Start() {
    ArmTimer(server_->limits().idle_timeout_ms);
    stream_->StartReading();
  }

  void Refuse(int status, std::string_view code, std::string_view message) {
    ControlResponse response{status, "application/json", JsonError(code, message)};
    stream_->Send(Serialize(response, false));
    Linger();
  }

  // Waiting for the handler's answer: must not be closed under it.
  bool busy() const { return busy_; }

  // Closes the socket at once, unanswered (the server needs the room, or the
  // daemon is exiting). A busy connection is deleted when its answer comes.
  void Abort() {
    server_->ring().timers().Cancel(&timer_);
    if (stream_ != nullptr) stream_->Close();
    stream_ = nullptr;
    if (!busy_) delete this;
  }

  void Send(ControlResponse response) override {
    busy_ = false;
    if (stream_ == nullptr) {
      delete this;  // the peer left while we were working
      return;
    }
    server_->Touch(position_);
    stream_->Send(Serialize(response, keep_alive_));
    if (!keep_alive_) return Linger();
    head_started_ = false;
    ArmTimer(server_->limits().idle_timeout_ms);
    Process();  // a pipelined request; may answer (and delete this) at once
  }

 private:
  void OnData(net::Stream*, std::string_view data) override {
    if (lingering_) return;  // after the last answer: discarded
    server_->Touch(position_);
    in_.append(data);
    if (in_.size() > kMaxBody + 64 * 1024) stream_->PauseReading();
    if (!busy_) Process();
  }
  void OnEof(net::Stream*) override { Gone(); }
  void OnError(net::Stream*, int) override { Gone(); }

  void Gone() {
    server_->ring().timers().Cancel(&timer_);
    stream_->Close();
    stream_ = nullptr;
    if (!busy_) delete this;
  }

  void ArmTimer(uint32_t ms) {
    server_->ring().timers().Arm(&timer_, core::NowNs() + int64_t{ms} * 1'000'000);
  }

  // The last answer is queued: half-close once it is sent, and read (and
  // drop) until the peer closes, so that it gets the answer rather than a
  // reset. Not Stream::CloseGracefully: a lingering connection must stay
  // counted under the cap and evictable, or a peer that never closes could
  // pile them up.
  void Linger() {
    lingering_ = true;
    stream_->ShutdownWrite();
    stream_->StartReading();
    ArmTimer(kLingerMs);
  }

  void OnTimeout() {
    if (busy_) return;  // not armed while busy; defensive
    if (lingering_) return Abort();
    if (!head_started_) {
      // Idle: nothing was asked, nothing to answer.
      stream_->Close();
      delete this;
      return;
    }
    keep_alive_ = false;
    busy_ = true;
    Send({408, "application/json",
          JsonError("request_timeout", absl::StrCat("request not complete within ",
                                                    server_->limits().header_timeout_ms, " ms"))});
  }

  void Process() {
    if (in_.empty()) return;
    if (!head_started_) {
      // The header timeout runs from the request's first byte and is not
      // pushed back by later bytes: a peer trickling a head byte by byte
      // (slowloris) is cut off like one that sends nothing more.
      head_started_ = true;
      ArmTimer(server_->limits().header_timeout_ms);
    }
    http::ParseError error = http::ParseError::kNone;
    http::ParseStatus status = http::ParseRequestHead(in_, http::Limits{}, &head_, &error);
    if (status == http::ParseStatus::kIncomplete) return;
    if (status == http::ParseStatus::kError) {
      keep_alive_ = false;
      busy_ = true;
      return Send({http::StatusFor(error), "application/json",
                   JsonError("invalid_argument", head_.error_detail)});
    }
    if (head_.framing == http::BodyFraming::kChunked || head_.content_length > kMaxBody) {
      keep_alive_ = false;
      busy_ = true;
      bool chunked = head_.framing == http::BodyFraming::kChunked;
      return Send({chunked ? 411 : 413, "application/json",
                   JsonError(chunked ? "length_required" : "payload_too_large",
                             "request body must have a Content-Length of at most 1 MiB")});
    }
    size_t total = head_.head_size + head_.content_length;
    if (in_.size() < total) return;
    server_->ring().timers().Cancel(&timer_);
    ControlRequest request;
    request.method.assign(head_.method);
    std::string_view target = head_.target;
    size_t q = target.find('?');
    request.path.assign(target.substr(0, q));
    if (q != std::string_view::npos) request.query.assign(target.substr(q + 1));
    for (const http::Header& h : head_.headers) {
      if (http::EqualsIgnoreCase(h.name, "accept")) request.accept.assign(h.value);
    }
    request.body.assign(in_, head_.head_size, head_.content_length);
    keep_alive_ = head_.keep_alive;
    in_.erase(0, total);
    busy_ = true;
    head_started_ = false;
    stream_->StartReading();
    handler_(request, this);
  }

  ControlHttpServer* server_;
  ControlHttpServer::ConnectionList::iterator position_;
  net::Stream* stream_;
  const ControlHttpServer::Handler& handler_;
  core::Timer timer_;  // idle or header timeout; off while busy
  std::string in_;
  http::RequestHead head_;
  bool busy_ = false;
  bool head_started_ = false;  // bytes of the next request have arrived
  bool keep_alive_ = true;
  bool lingering_ = false;  // answered, closing: see Linger()
};

ControlHttpServer::ControlHttpServer(core::Ring& ring, core::BufRing& bufs, net::Fd listener,
                                     Handler handler, ControlLimits limits, PeerCheck peer_check)
    : ring_(ring),
      bufs_(bufs),
      listener_(std::move(listener)),
      handler_(std::move(handler)),
      limits_(std::move(limits)),
      peer_check_(std::move(peer_check)),
      backoff_([this] {
        if (!stopped_ && !armed_) Arm();
      }) {}

ControlHttpServer::~ControlHttpServer() = default;

void ControlHttpServer::CloseConnections() {
  for (ControlConnection* connection : ConnectionList(connections_)) connection->Abort();
}

ControlHttpServer::ConnectionList::iterator ControlHttpServer::Track(
    ControlConnection* connection) {
  return connections_.insert(connections_.end(), connection);
}

void ControlHttpServer::Untrack(ConnectionList::iterator it) { connections_.erase(it); }

void ControlHttpServer::Touch(ConnectionList::iterator it) {
  connections_.splice(connections_.end(), connections_, it);
}

bool ControlHttpServer::EvictOne() {
  for (ControlConnection* connection : connections_) {
    if (!connection->busy()) {
      connection->Abort();
      return true;
    }
  }
  return false;
}

void ControlHttpServer::Start() { Arm(); }

void ControlHttpServer::Arm() {
  // One accept at a time, not multishot: a multishot accept turns a whole
  // backlog (a flood of 10,000 connects) into descriptors before we see the
  // first completion, so no cap in user space could bound what we hold.
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_accept(sqe, listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&accept_));
  armed_ = true;
}

void ControlHttpServer::Stop() {
  stopped_ = true;
  ring_.timers().Cancel(&backoff_);
  if (armed_) {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel(sqe, static_cast<core::Completion*>(&accept_), 0);
    core::Ring::SetIgnored(sqe);
  } else {
    listener_.Reset();
  }
}

void ControlHttpServer::OnAccept(int res, uint32_t flags) {
  armed_ = false;
  bool paused = false;
  if (res >= 0) {
    if (connections_.size() >= limits_.max_connections && !EvictOne()) {
      // Every open connection waits for an answer: this one cannot have a turn.
      ICAHT_LOG_LIMITED(kWarn, limits_.name, ": ", connections_.size(),
                        " connections, all busy (cap ", limits_.max_connections,
                        "): closing a new one");
      close(res);
    } else {
      auto* connection = new ControlConnection(this, bufs_, res, handler_);
      std::string refusal = peer_check_ ? peer_check_(res) : std::string();
      if (!refusal.empty()) {
        connection->Refuse(403, "permission_denied", refusal);
      } else {
        connection->Start();
      }
    }
  } else if (res == -EMFILE || res == -ENFILE) {
    // The shards leave a reserve of descriptors for this thread (see
    // ShardProxy::SetFdReserve), so this means something else took it: wait.
    ICAHT_LOG_LIMITED(kWarn, limits_.name, ": accept failed: ", strerror(-res),
                      ": pausing accepts for ", kAcceptBackoffMs, " ms");
    paused = true;
  } else if (res != -ECANCELED) {
    ICAHT_LOG_LIMITED(kWarn, limits_.name, ": accept failed: ", strerror(-res));
  }
  if (!armed_) {
    if (stopped_) {
      listener_.Reset();
    } else if (paused) {
      ring_.timers().Arm(&backoff_, core::NowNs() + kAcceptBackoffMs * 1'000'000);
    } else if (!backoff_.armed()) {
      Arm();
    }
  }
}

}  // namespace icaht::admin
