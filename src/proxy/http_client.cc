#include "proxy/http_client.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "http/response_parser.h"
#include "net/socket.h"
#include "net/tls_session.h"

namespace icaht::proxy {

std::string BuildClientRequest(std::string_view method, std::string_view target,
                               std::string_view host, std::string_view extra) {
  std::string out;
  out.reserve(64 + target.size() + host.size() + extra.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nConnection: close\r\n").append(extra).append("\r\n");
  return out;
}

HttpClientCall::HttpClientCall(core::Ring& ring, ClientCallSpec spec, Done done)
    : ring_(ring),
      spec_(std::move(spec)),
      done_(std::move(done)),
      timer_([this] {
        Finish(absl::DeadlineExceededError(absl::StrCat("no complete answer from ",
                                                        spec_.address.ToString(), " within ",
                                                        spec_.timeout_ms, " ms")));
      }),
      fail_task_([this] { Finish(start_error_); }) {}

HttpClientCall* HttpClientCall::Start(core::Ring& ring, core::BufRing& bufs, ClientCallSpec spec,
                                      Done done) {
  auto* call = new HttpClientCall(ring, std::move(spec), std::move(done));
  absl::StatusOr<net::Fd> fd = net::NewTcpSocket(call->spec_.address.family());
  if (!fd.ok()) {
    call->start_error_ =
        absl::ResourceExhaustedError(absl::StrCat("cannot open a socket: ", fd.status().message()));
    call->fail_task_.Post();
    return call;
  }
  net::SetNoDelay(fd->get());
  call->stream_ = new net::Stream(ring, bufs, fd->Release(), call);
  call->stream_->set_single_shot(true);
  if (call->spec_.tls != nullptr) {
    call->stream_->StartTls(
        net::TlsSession::ForClient(call->spec_.tls, call->spec_.server_name, nullptr));
  }
  call->stream_->Connect(call->spec_.address, call->spec_.timeout_ms);
  call->stream_->Send(call->spec_.request);
  ring.timers().Arm(&call->timer_, core::LoopNowNs() + int64_t{call->spec_.timeout_ms} * 1'000'000);
  return call;
}

void HttpClientCall::Cancel() {
  done_ = nullptr;
  Finish(absl::CancelledError());
}

void HttpClientCall::OnConnected(net::Stream* stream) { stream->StartReading(); }

void HttpClientCall::OnData(net::Stream*, std::string_view data) {
  if (finished_) return;
  if (head_done_) return TakeBody(data);
  in_.append(data);
  ParseHead();
}

void HttpClientCall::ParseHead() {
  http::ResponseHead head;
  http::ParseError error = http::ParseError::kNone;
  http::ParseStatus status =
      http::ParseResponseHead(in_, spec_.method, spec_.limits, &head, &error);
  if (status == http::ParseStatus::kIncomplete) return;
  if (status != http::ParseStatus::kComplete) {
    return Finish(absl::DataLossError(absl::StrCat(
        "malformed response from ", spec_.address.ToString(), ": ", head.error_detail)));
  }
  if (head.status < 200) {  // an interim answer: the final one follows
    in_.erase(0, head.head_size);
    return ParseHead();
  }
  head_done_ = true;
  response_.status = head.status;
  response_.headers.reserve(head.headers.size());
  for (const http::Header& h : head.headers) response_.headers.emplace_back(h.name, h.value);
  framing_ = head.framing;
  remaining_ = head.content_length;
  if (framing_ == http::BodyFraming::kContentLength && !spec_.discard_body && !spec_.on_body &&
      remaining_ > spec_.max_body_bytes) {
    return Finish(absl::ResourceExhaustedError("response body over the limit"));
  }
  // Streaming: the deadline was for the head; the body has none.
  if (spec_.on_body) ring_.timers().Cancel(&timer_);
  std::string rest = in_.substr(head.head_size);
  in_.clear();
  TakeBody(rest);
}

void HttpClientCall::TakeBody(std::string_view data) {
  switch (framing_) {
    case http::BodyFraming::kNone:
      return Finish(std::move(response_));
    case http::BodyFraming::kContentLength: {
      size_t take = std::min<uint64_t>(data.size(), remaining_);
      remaining_ -= take;
      KeepBody(data.substr(0, take));
      if (finished_) return;  // cancelled by on_body
      if (remaining_ == 0) return Finish(std::move(response_));
      return;
    }
    case http::BodyFraming::kChunked:
      while (!data.empty() && !chunked_.done()) {
        http::ChunkedDecoder::Step step = chunked_.Feed(data);
        if (chunked_.failed()) {
          return Finish(absl::DataLossError(
              absl::StrCat("malformed chunked body: ", chunked_.error_detail())));
        }
        data.remove_prefix(step.consumed);
        KeepBody(step.data);
        if (finished_) return;  // cancelled by on_body
        if (BodyOverLimit()) break;
      }
      break;
    case http::BodyFraming::kUntilClose:
      KeepBody(data);
      if (finished_) return;  // cancelled by on_body
      break;
  }
  if (BodyOverLimit()) {
    return Finish(absl::ResourceExhaustedError("response body over the limit"));
  }
  if (framing_ == http::BodyFraming::kChunked && chunked_.done()) Finish(std::move(response_));
}

void HttpClientCall::KeepBody(std::string_view data) {
  if (spec_.on_body) {
    if (!data.empty()) spec_.on_body(response_, data);
  } else if (!spec_.discard_body) {
    response_.body.append(data);
  }
}

void HttpClientCall::OnEof(net::Stream*) {
  if (finished_) return;
  if (head_done_ && framing_ == http::BodyFraming::kUntilClose) {
    return Finish(std::move(response_));
  }
  Finish(absl::UnavailableError(
      absl::StrCat(spec_.address.ToString(), " closed the connection before a complete answer")));
}

void HttpClientCall::OnError(net::Stream* stream, int error) {
  if (finished_) return;
  if (const net::TlsSession* tls = stream->tls(); tls != nullptr && !tls->error().empty()) {
    return Finish(absl::UnavailableError(
        absl::StrCat("TLS with ", spec_.address.ToString(), " failed: ", tls->error())));
  }
  Finish(absl::UnavailableError(absl::StrCat(
      error == -ETIMEDOUT ? "connect timed out to " : "cannot reach ", spec_.address.ToString(),
      error == -ETIMEDOUT ? "" : absl::StrCat(": ", std::strerror(-error)))));
}

void HttpClientCall::Finish(absl::StatusOr<http::ClientResponse> result) {
  if (finished_) return;
  finished_ = true;
  ring_.timers().Cancel(&timer_);
  fail_task_.Cancel();
  if (stream_ != nullptr) {
    stream_->Close();
    stream_ = nullptr;
  }
  Done done = std::move(done_);
  done_ = nullptr;
  core::DeferDelete(this);
  if (done) done(std::move(result));
}

}  // namespace icaht::proxy
