#include "admin/control_http.h"

#include <sys/socket.h>

#include "core/log.h"
#include "http/request_parser.h"
#include "proxy/header_rewrite.h"
#include "net/stream.h"
#include "registry/json_writer.h"

namespace icaht::admin {
namespace {

constexpr size_t kMaxBody = 1 << 20;

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

// One accepted connection. Deletes itself when the peer is gone and no
// answer is pending.
class ControlConnection final : private net::StreamHandler, public Responder {
 public:
  ControlConnection(core::Ring& ring, core::BufRing& bufs, int fd,
                    const ControlHttpServer::Handler& handler)
      : stream_(new net::Stream(ring, bufs, fd, this)), handler_(handler) {}

  void Start() { stream_->StartReading(); }

  void Refuse(int status, std::string_view code, std::string_view message) {
    ControlResponse response{status, "application/json", JsonError(code, message)};
    stream_->Send(Serialize(response, false));
    stream_->CloseGracefully();
    delete this;
  }

  void Send(ControlResponse response) override {
    busy_ = false;
    if (stream_ == nullptr) {
      delete this;  // the peer left while we were working
      return;
    }
    stream_->Send(Serialize(response, keep_alive_));
    if (!keep_alive_) {
      stream_->CloseGracefully();
      delete this;
      return;
    }
    Process();
  }

 private:
  void OnData(net::Stream*, std::string_view data) override {
    in_.append(data);
    if (in_.size() > kMaxBody + 64 * 1024) stream_->PauseReading();
    if (!busy_) Process();
  }
  void OnEof(net::Stream*) override { Gone(); }
  void OnError(net::Stream*, int) override { Gone(); }

  void Gone() {
    stream_->Close();
    stream_ = nullptr;
    if (!busy_) delete this;
  }

  void Process() {
    if (in_.empty()) return;
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
    stream_->StartReading();
    handler_(request, this);
  }

  net::Stream* stream_;
  const ControlHttpServer::Handler& handler_;
  std::string in_;
  http::RequestHead head_;
  bool busy_ = false;
  bool keep_alive_ = true;
};

}  // namespace

ControlHttpServer::ControlHttpServer(core::Ring& ring, core::BufRing& bufs, net::Fd listener,
                                     Handler handler, PeerCheck peer_check)
    : ring_(ring),
      bufs_(bufs),
      listener_(std::move(listener)),
      handler_(std::move(handler)),
      peer_check_(std::move(peer_check)) {}

ControlHttpServer::~ControlHttpServer() = default;

void ControlHttpServer::Start() { Arm(); }

void ControlHttpServer::Arm() {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_multishot_accept(sqe, listener_.get(), nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(&accept_));
  armed_ = true;
}

void ControlHttpServer::Stop() {
  stopped_ = true;
  if (armed_) {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel(sqe, static_cast<core::Completion*>(&accept_), 0);
    core::Ring::SetIgnored(sqe);
  } else {
    listener_.Reset();
  }
}

void ControlHttpServer::OnAccept(int res, uint32_t flags) {
  if ((flags & IORING_CQE_F_MORE) == 0) armed_ = false;
  if (res >= 0) {
    auto* connection = new ControlConnection(ring_, bufs_, res, handler_);
    std::string refusal = peer_check_ ? peer_check_(res) : std::string();
    if (!refusal.empty()) {
      connection->Refuse(403, "permission_denied", refusal);
    } else {
      connection->Start();
    }
  } else if (res != -ECANCELED) {
    ICAHT_LOG(kWarn, "control accept failed: ", strerror(-res));
  }
  if (!armed_) {
    if (stopped_) {
      listener_.Reset();
    } else {
      Arm();
    }
  }
}

}  // namespace icaht::admin
