#include "proxy/upstream_call.h"

#include <cerrno>

#include "core/log.h"
#include "http/response_parser.h"
#include "net/socket.h"
#include "net/tls_session.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {
namespace {
using filters::ErrorKind;
using filters::MakeError;

bool IsRetriableConnectError(int error) {
  return error == -ECONNREFUSED || error == -ETIMEDOUT || error == -EHOSTUNREACH ||
         error == -ENETUNREACH || error == -ECONNRESET || error == -EADDRNOTAVAIL;
}
}  // namespace

bool UpstreamCall::Start(const net::Address& address, uint32_t connect_timeout_ms,
                         const std::shared_ptr<const net::TlsClientContext>& tls,
                         const std::string& server_name, bool tls_client) {
  UpstreamPool::KeyRef key{address, tls.get(), server_name};
  stream_ = shard_.pool().Take(key);
  if (stream_ != nullptr) {
    reused_ = true;
    stream_->set_handler(this);
    return true;
  }
  absl::StatusOr<net::Fd> fd = net::NewTcpSocket(address.family());
  if (!fd.ok()) {
    // Out of file descriptors (or memory): nothing was sent.
    ICAHT_LOG_LIMITED(kWarn, "cannot open an upstream socket to ", address.ToString(), ": ",
                      std::string(fd.status().message()));
    return false;
  }
  net::SetNoDelay(fd->get());
  stream_ = new net::Stream(shard_.ring(), shard_.upstream_bufs(tls_client), fd->Release(), this);
  stream_->set_adaptive_recv();
  if (tls != nullptr) {
    stream_->StartTls(net::TlsSession::ForClient(tls, server_name, shard_.pool().Session(key)));
  }
  stream_->Connect(address, connect_timeout_ms);
  return true;
}

void UpstreamCall::Release(bool reusable) {
  if (state_ == State::kReleased) return;
  state_ = State::kReleased;
  if (stream_ == nullptr) return;
  shard_.pool().KeepSession(*stream_);
  if (reusable && !dirty_) {
    shard_.pool().Put(stream_);
  } else {
    stream_->Close();
  }
  stream_ = nullptr;
}

void UpstreamCall::CloseGracefully() {
  if (state_ == State::kReleased) return;
  state_ = State::kReleased;
  stream_->CloseGracefully();
  stream_ = nullptr;
}

void UpstreamCall::OnConnected(net::Stream*) {
  stream_->StartReading();
  handler_->OnUpstreamConnected();
}

void UpstreamCall::OnData(net::Stream*, std::string_view data) {
  switch (state_) {
    case State::kHead:
      // The usual head arrives whole in one receive: parsed where it lies,
      // so that only the head is copied and the body after it can be relayed
      // from the receive buffer (Stream::SendFrom).
      if (head_in_.empty()) return ParseHead(data, /*in_place=*/true);
      head_in_.append(data);
      return ParseHead(head_in_, /*in_place=*/false);
    case State::kBody:
      return handler_->OnUpstreamData(data);
    case State::kReleased:
      return;
  }
}

void UpstreamCall::ParseHead(std::string_view data, bool in_place) {
  while (state_ == State::kHead) {
    http::ParseError error = http::ParseError::kNone;
    http::ParseStatus status = http::ParseResponseHead(data, method_, limits_, &head_, &error);
    if (status == http::ParseStatus::kIncomplete) {
      if (in_place) head_in_.assign(data);  // the rest comes in later receives
      return;
    }
    if (status == http::ParseStatus::kError) {
      dirty_ = true;
      return handler_->OnUpstreamFailed(
          MakeError(ErrorKind::kBadResponse, "upstream sent an invalid response"));
    }
    if (head_.status >= 100 && head_.status < 200 && head_.status != 101) {
      handler_->OnInterimResponse(head_);
      if (in_place) {
        data.remove_prefix(head_.head_size);
      } else {
        head_in_.erase(0, head_.head_size);
        data = head_in_;
      }
      continue;
    }
    state_ = State::kBody;
    if (in_place) {
      // The head's views move to a copy that lives as long as this call.
      head_in_.assign(data.substr(0, head_.head_size));
      RebaseViews(data.data(), head_in_.data());
    }
    // The handler may release this call (a bodiless response) or start a
    // tunnel; head_in_ stays valid until this call is deleted, the rest only
    // during this call.
    handler_->OnResponseHead(head_, data.substr(head_.head_size));
  }
}

void UpstreamCall::RebaseViews(const char* from, const char* to) {
  auto rebase = [from, to](std::string_view& view) {
    if (view.data() != nullptr) view = std::string_view(to + (view.data() - from), view.size());
  };
  rebase(head_.reason);
  for (http::Header& field : head_.headers) {
    rebase(field.name);
    rebase(field.value);
  }
}

void UpstreamCall::OnEof(net::Stream*) {
  if (state_ == State::kBody) return handler_->OnUpstreamEof();
  if (state_ == State::kHead) {
    dirty_ = true;
    if (head_in_.empty()) return FailBeforeHead(-ECONNRESET);
    handler_->OnUpstreamFailed(
        MakeError(ErrorKind::kUpstreamReset, "upstream closed the connection early"));
  }
}

void UpstreamCall::OnError(net::Stream*, int error) {
  dirty_ = true;
  if (state_ == State::kBody) {
    return handler_->OnUpstreamFailed(
        MakeError(ErrorKind::kResponseCut, "upstream connection failed"));
  }
  if (state_ != State::kHead) return;
  if (head_in_.empty()) return FailBeforeHead(error);
  handler_->OnUpstreamFailed(MakeError(ErrorKind::kUpstreamReset, "upstream connection failed"));
}

void UpstreamCall::FailBeforeHead(int error) {
  // Nothing of the response arrived. Another attempt is safe when nothing
  // reached the upstream (the connect failed), or when a pooled connection
  // was closed under us (the keep-alive race; the exchange also requires a
  // request without a body).
  const net::TlsSession* tls = stream_->tls();
  // The handshake failed, or (TLS 1.3) the upstream refused our certificate
  // right after it, before any answer: a TLS failure, nothing was acted on.
  if (tls != nullptr && (error == -EPROTO || error == -ECONNRESET) &&
      (!tls->established() || !tls->error().empty())) {
    ICAHT_LOG_LIMITED(kWarn, "TLS handshake with upstream ", stream_->peer().ToString(),
                      " failed: ", tls->error().empty() ? "connection closed" : tls->error());
    return handler_->OnUpstreamFailed(MakeError(ErrorKind::kUpstreamTls,
                                                tls->verify_failed()
                                                    ? "upstream certificate verification failed"
                                                    : "upstream TLS handshake failed",
                                                true));
  }
  if (!stream_->connected()) {
    if (error == -ETIMEDOUT) {
      return handler_->OnUpstreamFailed(
          MakeError(ErrorKind::kConnectTimeout, "upstream connect timed out", true));
    }
    return handler_->OnUpstreamFailed(MakeError(
        ErrorKind::kConnectRefused, "upstream connection refused", IsRetriableConnectError(error)));
  }
  handler_->OnUpstreamFailed(
      MakeError(ErrorKind::kUpstreamReset, "upstream closed the connection", reused_));
}

void UpstreamCall::OnSendDrained(net::Stream*) {
  if (state_ != State::kReleased) handler_->OnUpstreamDrained();
}

void UpstreamCall::OnReadStopped(net::Stream*) {
  if (state_ != State::kReleased) handler_->OnUpstreamReadStopped();
}

}  // namespace icaht::proxy
