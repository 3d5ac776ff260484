#include "proxy/connection.h"

#include <sys/socket.h>

#include <cerrno>

#include "core/check.h"
#include "core/log.h"
#include "http/request_parser.h"
#include "http/response_parser.h"
#include "net/socket.h"
#include "proxy/header_rewrite.h"

namespace icaht::proxy {
namespace {
// Backpressure: stop reading one side while the other has this much queued.
constexpr size_t kHighWater = 1 << 20;
// Bodies with at least this much left after the head go through splice.
constexpr uint64_t kSpliceThreshold = 64 * 1024;
// Pipelined bytes buffered while an exchange is in flight.
constexpr size_t kMaxPipelined = 256 * 1024;

bool IsRetriableConnectError(int error) {
  return error == -ECONNREFUSED || error == -ETIMEDOUT || error == -EHOSTUNREACH ||
         error == -ENETUNREACH || error == -ECONNRESET || error == -EADDRNOTAVAIL;
}

void AppendChunk(std::string_view data, std::string* out) {
  char header[24];
  size_t n = http::WriteChunkHeader(data.size(), header);
  out->append(header, n);
  out->append(data);
  out->append("\r\n");
}
}  // namespace

HttpConnection::HttpConnection(ShardProxy* shard, ShardService* service, int fd,
                               std::string client_ip)
    : shard_(shard),
      service_(service),
      client_(new Stream(shard->ring(), shard->bufs(), fd, this)),
      client_ip_(std::move(client_ip)),
      timer_([this] { OnTimer(); }) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Start() {
  client_->StartReading();
  ArmTimer(TimerPurpose::kIdle, service_->config->idle_timeout_ms);
}

bool HttpConnection::idle() const {
  return req_state_ == ReqState::kHead && in_.empty() && resp_state_ == RespState::kNone;
}

void HttpConnection::Drain() {
  close_after_ = true;
  if (idle()) Destroy();
}

void HttpConnection::Abort() { Destroy(); }

void HttpConnection::ArmTimer(TimerPurpose purpose, uint32_t ms) {
  timer_purpose_ = purpose;
  shard_->ring().timers().Arm(&timer_, core::LoopNowNs() + static_cast<int64_t>(ms) * 1'000'000);
}

bool HttpConnection::InactiveFor(uint32_t ms, int64_t last_progress_ns) {
  int64_t limit = int64_t{ms} * 1'000'000;
  int64_t now = core::LoopNowNs();
  int64_t quiet = now - std::max(last_activity_ns_, last_progress_ns);
  if (quiet >= limit) return true;
  shard_->ring().timers().Arm(&timer_, now + limit - quiet);  // purpose unchanged
  return false;
}

void HttpConnection::OnTimer() {
  switch (timer_purpose_) {
    case TimerPurpose::kIdle:
      return Destroy();
    case TimerPurpose::kHeaderRead:
      client_keep_alive_ = false;
      return RespondError(408, "request header read timed out");
    case TimerPurpose::kRequestBody:
      if (!InactiveFor(config_->request_timeout_ms,
                       req_pump_ != nullptr ? req_pump_->last_progress_ns() : 0)) {
        return;
      }
      client_keep_alive_ = false;
      close_after_ = true;
      upstream_dirty_ = true;
      return RespondError(408, "request body read timed out");
    case TimerPurpose::kResponse:
      upstream_dirty_ = true;
      return RespondError(504, "upstream timed out");
    case TimerPurpose::kResponseBody:
      if (!InactiveFor(config_->request_timeout_ms,
                       pump_ != nullptr ? pump_->last_progress_ns() : 0)) {
        return;
      }
      return Destroy();  // a stalled body: cut it, never let it look complete
    case TimerPurpose::kTunnelIdle:
      if (!InactiveFor(config_->idle_timeout_ms,
                       std::max(pump_ != nullptr ? pump_->last_progress_ns() : 0,
                                req_pump_ != nullptr ? req_pump_->last_progress_ns() : 0))) {
        return;
      }
      return Destroy();
    case TimerPurpose::kNone:
      return;
  }
}

void HttpConnection::RequestDone() {
  if (resp_state_ == RespState::kHead)
    ArmTimer(TimerPurpose::kResponse, config_->request_timeout_ms);
}

void HttpConnection::SendToClient(std::string_view data) {
  client_->Send(data);
  if (upstream_ != nullptr && client_->queued_bytes() > kHighWater) upstream_->PauseReading();
}

void HttpConnection::OnData(Stream* stream, std::string_view data) {
  last_activity_ns_ = core::LoopNowNs();
  if (tunnel_) return TunnelData(stream, data);
  if (stream == client_) {
    switch (req_state_) {
      case ReqState::kHead:
        in_.append(data);
        return ProcessRequestHead();
      case ReqState::kBody:
        return ForwardRequestBody(data);
      case ReqState::kDone:
        in_.append(data);
        if (in_.size() > kMaxPipelined) client_->PauseReading();
        return;
    }
  }
  if (stream == upstream_) {
    switch (resp_state_) {
      case RespState::kHead:
        resp_in_.append(data);
        return ProcessResponseHead();
      case RespState::kBody:
        return ForwardResponseBody(data);
      case RespState::kNone:
      case RespState::kDone:
        // Bytes nobody asked for: this connection cannot be reused.
        upstream_dirty_ = true;
        return;
    }
  }
}

void HttpConnection::ProcessRequestHead() {
  if (in_.empty()) return ArmTimer(TimerPurpose::kIdle, service_->config->idle_timeout_ms);
  http::ParseError error = http::ParseError::kNone;
  http::ParseStatus status = http::ParseRequestHead(in_, service_->config->limits, &req_, &error);
  if (status == http::ParseStatus::kIncomplete) {
    if (timer_purpose_ != TimerPurpose::kHeaderRead) {
      ArmTimer(TimerPurpose::kHeaderRead, service_->config->request_timeout_ms);
    }
    return;
  }
  if (status == http::ParseStatus::kError) {
    // Framing is unsafe after a bad head: answer and close.
    client_keep_alive_ = false;
    close_after_ = true;
    return RespondError(http::StatusFor(error), req_.error_detail);
  }
  return StartExchange();
}

void HttpConnection::StartExchange() {
  config_ = service_->config;
  req_method_ = req_.method_id;
  req_http10_ = req_.version == http::Version::kHttp10;
  client_keep_alive_ = req_.keep_alive && !close_after_;
  if (config_->max_body_bytes != 0 && req_.framing == http::BodyFraming::kContentLength &&
      req_.content_length > config_->max_body_bytes) {
    client_keep_alive_ = false;
    close_after_ = true;
    return RespondError(413, "request body too large");
  }
  upstream_head_.clear();
  BuildUpstreamRequestHead(req_, client_ip_, &upstream_head_);
  req_chunked_ = req_.framing == http::BodyFraming::kChunked;
  req_upgrade_ = req_.upgrade;
  req_splice_tried_ = false;
  if (req_chunked_) {
    req_state_ = ReqState::kBody;
    req_decoder_.Reset();
  } else if (req_.framing == http::BodyFraming::kContentLength && req_.content_length > 0) {
    req_state_ = ReqState::kBody;
    req_remaining_ = req_.content_length;
  } else {
    req_state_ = ReqState::kDone;
  }
  size_t head_size = req_.head_size;
  resp_state_ = RespState::kHead;
  resp_in_.clear();
  response_started_ = false;
  upstream_dirty_ = false;
  attempts_ = 0;
  req_body_bytes_ = 0;
  last_activity_ns_ = core::LoopNowNs();
  hold_body_ = req_chunked_ && config_->max_body_bytes != 0;
  held_body_.clear();
  ArmTimer(req_state_ == ReqState::kBody ? TimerPurpose::kRequestBody : TimerPurpose::kResponse,
           config_->request_timeout_ms);

  if (!hold_body_ && !SendHeadUpstream()) return;
  if (req_state_ == ReqState::kBody) {
    std::string pending = in_.substr(head_size);
    in_.clear();
    if (!pending.empty()) return ForwardRequestBody(pending);
  } else {
    in_.erase(0, head_size);
  }
}

bool HttpConnection::SendHeadUpstream() {
  if (!ConnectUpstream(-1)) {
    client_keep_alive_ = false;
    RespondError(503, "no upstream connection available");
    return false;
  }
  upstream_->Send(upstream_head_);
  return true;
}

void HttpConnection::ForwardRequestBody(std::string_view data) {
  std::string out;        // a chunked body, re-framed
  std::string_view send;  // what goes to the upstream
  size_t used = 0;
  if (req_chunked_) {
    while (used < data.size() && !req_decoder_.done()) {
      http::ChunkedDecoder::Step step = req_decoder_.Feed(data.substr(used));
      if (req_decoder_.failed()) {
        client_keep_alive_ = false;
        close_after_ = true;
        upstream_dirty_ = true;
        return RespondError(400, req_decoder_.error_detail());
      }
      used += step.consumed;
      req_body_bytes_ += step.data.size();
      if (!step.data.empty()) AppendChunk(step.data, &out);
      if (step.consumed == 0 && step.data.empty()) break;
    }
    if (config_->max_body_bytes != 0 && req_body_bytes_ > config_->max_body_bytes) {
      client_keep_alive_ = false;
      close_after_ = true;
      upstream_dirty_ = true;
      return RespondError(413, "request body too large");
    }
    if (req_decoder_.done()) {
      out.append("0\r\n\r\n");
      req_state_ = ReqState::kDone;
    }
    if (hold_body_) {
      held_body_.append(out);
      out.clear();
      if (req_state_ == ReqState::kDone) {
        // Complete and within the limit: now the upstream gets it, whole.
        hold_body_ = false;
        if (!SendHeadUpstream()) return;
        upstream_->Send(held_body_);
        held_body_.clear();
      }
    }
  } else {
    used = std::min<uint64_t>(req_remaining_, data.size());
    send = data.substr(0, used);
    req_remaining_ -= used;
    if (req_remaining_ == 0) {
      req_state_ = ReqState::kDone;
      if (req_splice_pending_) {
        req_splice_pending_ = false;
        shard_->pipes().Release(req_pipe_, true);
      }
    }
  }
  if (used < data.size()) in_.append(data.substr(used));  // pipelined next request
  if (req_chunked_) send = out;
  if (upstream_ != nullptr && !send.empty()) {
    upstream_->Send(send);
    if (upstream_->queued_bytes() > kHighWater) client_->PauseReading();
  }
  if (req_state_ == ReqState::kDone) RequestDone();
  if (!req_chunked_ && req_state_ == ReqState::kBody && !req_splice_tried_ &&
      req_remaining_ >= kSpliceThreshold) {
    TrySpliceRequest();
  }
}

SplicePump* HttpConnection::StartPump(const Pipe& pipe, Stream* from, Stream* to, uint64_t bytes,
                                      SplicePump::Done done) {
  // Both sockets' fds stay open until the pump is gone (see Stream::Ref).
  from->Ref();
  to->Ref();
  return SplicePump::Start(shard_->ring(), shard_->pipes(), pipe, from->fd(), to->fd(), bytes,
                           std::move(done), [from, to] {
                             from->Unref();
                             to->Unref();
                           });
}

void HttpConnection::TrySpliceRequest() {
  req_splice_tried_ = true;
  if (!shard_->pipes().Acquire(&req_pipe_)) return;
  req_splice_pending_ = true;
  client_->PauseReading();
  return MaybeStartRequestSplice();
}

void HttpConnection::MaybeStartRequestSplice() {
  if (!req_splice_pending_ || !client_->read_stopped() || upstream_ == nullptr ||
      !upstream_->connected() || upstream_->queued_bytes() > 0) {
    return;
  }
  req_splice_pending_ = false;
  shard_->stats().bytes_spliced += req_remaining_;
  req_pump_ = StartPump(req_pipe_, client_, upstream_, req_remaining_,
                        [this](int error) { OnRequestSpliceDone(error); });
}

void HttpConnection::OnRequestSpliceDone(int error) {
  req_pump_ = nullptr;
  if (error != 0) {
    upstream_dirty_ = true;
    client_keep_alive_ = false;
    if (error == -EPIPE && !response_started_) {
      // The client went away mid-body (EOF from the client side ends the fill).
      return Destroy();
    }
    return RespondError(502, "request body could not be delivered upstream");
  }
  req_remaining_ = 0;
  req_state_ = ReqState::kDone;
  RequestDone();
  client_->StartReading();
}

bool HttpConnection::ConnectUpstream(int skip) {
  upstream_index_ = service_->balancer.Next(config_->upstreams, skip);
  const net::Address& address = config_->upstreams[upstream_index_].address;
  ++attempts_;
  upstream_ = shard_->pool().Take(address);
  if (upstream_ != nullptr) {
    upstream_reused_ = true;
    upstream_->set_handler(this);
    return true;
  }
  upstream_reused_ = false;
  absl::StatusOr<net::Fd> fd = net::NewTcpSocket(address.family());
  if (!fd.ok()) {
    // Out of file descriptors (or memory): nothing was sent, say so and go on.
    ICAHT_LOG(kWarn, "service ", config_->name,
              ": cannot open an upstream socket: ", std::string(fd.status().message()));
    upstream_ = nullptr;
    return false;
  }
  net::SetNoDelay(fd->get());
  upstream_ = new Stream(shard_->ring(), shard_->bufs(), fd->Release(), this);
  upstream_->set_single_shot(true);
  upstream_->Connect(address, config_->connect_timeout_ms);
  return true;
}

void HttpConnection::OnConnected(Stream* stream) {
  if (stream != upstream_) return;
  upstream_->StartReading();
  if (req_splice_pending_) return MaybeStartRequestSplice();
}

void HttpConnection::OnSendDrained(Stream* stream) {
  // Resume the side we paused for backpressure.
  if (tunnel_) {
    if (tunnel_splice_pending_) return MaybeStartTunnelSplice();
    if (pump_ != nullptr || req_pump_ != nullptr) return;
    Stream* other = stream == client_ ? upstream_ : client_;
    if (!(other == client_ ? client_eof_ : upstream_eof_)) other->StartReading();
    return;
  }
  if (stream == upstream_ && req_splice_pending_) return MaybeStartRequestSplice();
  if (stream == upstream_ && req_pump_ == nullptr &&
      (req_state_ == ReqState::kBody || req_state_ == ReqState::kDone)) {
    client_->StartReading();
  } else if (stream == client_ && splice_pending_) {
    return MaybeStartSplice();
  } else if (stream == client_ && upstream_ != nullptr && resp_state_ == RespState::kBody &&
             pump_ == nullptr) {
    upstream_->StartReading();
  }
}

void HttpConnection::UpstreamFailed(int error) {
  // Nothing of the response arrived. Retrying is safe when nothing reached the
  // upstream (connect failed) or when a reused keep-alive connection was closed
  // under us and the request had no body (the classic keep-alive race).
  bool connect_failed = !upstream_->connected();
  bool safe = connect_failed ? IsRetriableConnectError(error)
                             : (upstream_reused_ && !req_chunked_ && req_remaining_ == 0 &&
                                req_.framing == http::BodyFraming::kNone && resp_in_.empty());
  int max_attempts = std::min<int>(3, config_->upstreams.size() + (upstream_reused_ ? 1 : 0));
  if (safe && attempts_ < max_attempts) {
    std::string unsent;
    if (connect_failed) unsent = upstream_->TakeUnsent();
    upstream_->Close();
    upstream_ = nullptr;
    int skip = config_->upstreams.size() > 1 ? static_cast<int>(upstream_index_) : -1;
    if (!ConnectUpstream(skip)) return RespondError(503, "no upstream connection available");
    if (connect_failed) {
      upstream_->Send(unsent);
    } else {
      upstream_->Send(upstream_head_);
    }
    return;
  }
  upstream_dirty_ = true;
  if (connect_failed && error == -ETIMEDOUT) return RespondError(504, "upstream connect timed out");
  return RespondError(
      502, connect_failed ? "upstream connection refused" : "upstream closed the connection");
}

void HttpConnection::ProcessResponseHead() {
  while (true) {
    http::ParseError error = http::ParseError::kNone;
    http::ParseStatus status =
        http::ParseResponseHead(resp_in_, req_method_, config_->limits, &resp_, &error);
    if (status == http::ParseStatus::kIncomplete) return;
    if (status == http::ParseStatus::kError) {
      upstream_dirty_ = true;
      return RespondError(502, "upstream sent an invalid response");
    }
    if (resp_.status >= 100 && resp_.status < 200) {
      if (resp_.status == 101) {
        if (req_upgrade_ && req_state_ == ReqState::kDone) return StartTunnel();
        upstream_dirty_ = true;
        return RespondError(502, "upstream switched protocols unasked");
      }
      if (!req_http10_) {
        std::string interim;
        BuildClientResponseHead(resp_, true, false, &interim);
        SendToClient(std::move(interim));
      }
      resp_in_.erase(0, resp_.head_size);
      continue;
    }
    break;
  }
  resp_framing_ = resp_.framing;
  resp_keep_alive_ = resp_.keep_alive && resp_framing_ != http::BodyFraming::kUntilClose;
  bool has_body = resp_framing_ != http::BodyFraming::kNone;
  // Close-delimited bodies, or chunked ones to an HTTP/1.0 client, end the
  // client connection too; HTTP/1.1 clients get them re-framed as chunked.
  resp_out_ = BodyOut::kRaw;
  if (resp_framing_ == http::BodyFraming::kChunked ||
      resp_framing_ == http::BodyFraming::kUntilClose) {
    if (req_http10_) {
      client_keep_alive_ = false;
    } else {
      resp_out_ = BodyOut::kChunkEncode;
    }
  }
  if (close_after_ || service_->removing) client_keep_alive_ = false;
  // A request body still arriving after the response cannot be skipped safely.
  if (req_state_ != ReqState::kDone) client_keep_alive_ = false;
  BuildClientResponseHead(resp_, client_keep_alive_, has_body && resp_out_ == BodyOut::kChunkEncode,
                          &client_->SendBuffer());
  response_started_ = true;
  upstream_head_.clear();
  std::string rest = resp_in_.substr(resp_.head_size);
  resp_in_.clear();
  resp_remaining_ = resp_.content_length;
  if (resp_framing_ == http::BodyFraming::kChunked) resp_decoder_.Reset();
  if (!has_body || (resp_framing_ == http::BodyFraming::kContentLength && resp_remaining_ == 0)) {
    if (!rest.empty()) upstream_dirty_ = true;
    return ResponseDone();
  }
  resp_state_ = RespState::kBody;
  splice_tried_ = false;
  ArmTimer(TimerPurpose::kResponseBody, config_->request_timeout_ms);
  if (!rest.empty()) return ForwardResponseBody(rest);
  if (resp_framing_ == http::BodyFraming::kContentLength && resp_remaining_ >= kSpliceThreshold) {
    TrySplice();
  }
}

void HttpConnection::TrySplice() {
  splice_tried_ = true;
  if (!shard_->pipes().Acquire(&pipe_)) return;  // pool exhausted: keep copying
  splice_pending_ = true;
  upstream_->PauseReading();
  return MaybeStartSplice();
}

void HttpConnection::MaybeStartSplice() {
  if (!splice_pending_ || !upstream_->read_stopped() || client_->queued_bytes() > 0) return;
  splice_pending_ = false;
  shard_->stats().bytes_spliced += resp_remaining_;
  pump_ = StartPump(pipe_, upstream_, client_, resp_remaining_,
                    [this](int error) { OnSpliceDone(error); });
}

void HttpConnection::OnReadStopped(Stream* stream) {
  if (tunnel_splice_pending_) return MaybeStartTunnelSplice();
  if (stream == upstream_ && splice_pending_) return MaybeStartSplice();
  if (stream == client_ && req_splice_pending_) return MaybeStartRequestSplice();
}

void HttpConnection::OnSpliceDone(int error) {
  pump_ = nullptr;
  if (error != 0) {
    // Cut mid-body: the client must see a short response, never a whole one.
    return Destroy();
  }
  resp_remaining_ = 0;
  upstream_->StartReading();  // it goes back to the pool with a recv armed
  return ResponseDone();
}

void HttpConnection::ForwardResponseBody(std::string_view data) {
  switch (resp_framing_) {
    case http::BodyFraming::kContentLength: {
      size_t take = std::min<uint64_t>(resp_remaining_, data.size());
      if (take < data.size()) upstream_dirty_ = true;
      resp_remaining_ -= take;
      SendToClient(data.substr(0, take));
      shard_->stats().bytes_copied += take;
      if (resp_remaining_ == 0) return ResponseDone();
      if (!splice_tried_ && resp_remaining_ >= kSpliceThreshold) TrySplice();
      return;
    }
    case http::BodyFraming::kChunked: {
      std::string out;
      size_t used = 0;
      while (used < data.size() && !resp_decoder_.done()) {
        http::ChunkedDecoder::Step step = resp_decoder_.Feed(data.substr(used));
        if (resp_decoder_.failed()) {
          // Mid-response: the client must not mistake a cut body for a whole one.
          return Destroy();
        }
        used += step.consumed;
        if (!step.data.empty()) {
          if (resp_out_ == BodyOut::kChunkEncode) {
            AppendChunk(step.data, &out);
          } else {
            out.append(step.data);
          }
        }
        if (step.consumed == 0 && step.data.empty()) break;
      }
      if (used < data.size()) upstream_dirty_ = true;
      if (resp_decoder_.done()) {
        if (resp_out_ == BodyOut::kChunkEncode) out.append("0\r\n\r\n");
        SendToClient(std::move(out));
        return ResponseDone();
      }
      SendToClient(std::move(out));
      return;
    }
    case http::BodyFraming::kUntilClose: {
      std::string out;
      if (resp_out_ == BodyOut::kChunkEncode) {
        AppendChunk(data, &out);
      } else {
        out.assign(data);
      }
      SendToClient(std::move(out));
      return;
    }
    case http::BodyFraming::kNone:
      return;
  }
}

void HttpConnection::ResponseDone() {
  resp_state_ = RespState::kDone;
  if (splice_pending_) {
    // Copying finished the body before the splice could start.
    splice_pending_ = false;
    shard_->pipes().Release(pipe_, true);
  }
  bool reusable = resp_keep_alive_ && !upstream_dirty_ && req_state_ == ReqState::kDone;
  if (reusable) {
    shard_->pool().Put(upstream_);
  } else {
    upstream_->Close();
  }
  upstream_ = nullptr;
  if (req_state_ != ReqState::kDone) {
    // The upstream answered before the request body was complete.
    client_->CloseGracefully();
    client_ = nullptr;
    return Destroy();
  }
  return FinishExchange();
}

void HttpConnection::FinishExchange() {
  resp_state_ = RespState::kNone;
  response_started_ = false;
  config_.reset();
  if (!client_keep_alive_ || close_after_ || service_->removing) {
    client_->CloseGracefully();
    client_ = nullptr;
    return Destroy();
  }
  req_state_ = ReqState::kHead;
  timer_purpose_ = TimerPurpose::kNone;
  client_->StartReading();
  return ProcessRequestHead();
}

void HttpConnection::RespondError(int status, std::string_view body) {
  if (response_started_) return Destroy();  // never a truncated response that looks whole
  if (upstream_ != nullptr) {
    upstream_->Close();
    upstream_ = nullptr;
  }
  // Keep the connection only if the request was read completely and is well framed.
  bool keep = client_keep_alive_ && !close_after_ && req_state_ == ReqState::kDone &&
              resp_state_ != RespState::kNone && !service_->removing;
  client_->Send(SimpleResponse(status, body, keep));
  if (keep) {
    resp_state_ = RespState::kDone;
    return FinishExchange();
  }
  client_->CloseGracefully();
  client_ = nullptr;
  return Destroy();
}

void HttpConnection::StartTunnel() {
  tunnel_ = true;
  response_started_ = true;
  upstream_dirty_ = true;  // never pooled again
  std::string head;
  BuildClientResponseHead(resp_, true, false, &head);
  std::string from_upstream = resp_in_.substr(resp_.head_size);
  resp_in_.clear();
  SendToClient(std::move(head));
  if (!from_upstream.empty()) SendToClient(std::move(from_upstream));
  if (!in_.empty()) {
    upstream_->Send(in_);
    in_.clear();
  }
  client_->StartReading();
  upstream_->StartReading();
  last_activity_ns_ = core::LoopNowNs();
  ArmTimer(TimerPurpose::kTunnelIdle, config_->idle_timeout_ms);
  // Splice both directions when two pipes can be had (else keep copying).
  if (shard_->pipes().Acquire(&pipe_)) {
    if (shard_->pipes().Acquire(&req_pipe_)) {
      tunnel_splice_pending_ = true;
      client_->PauseReading();
      upstream_->PauseReading();
      return MaybeStartTunnelSplice();
    }
    shard_->pipes().Release(pipe_, true);
  }
}

void HttpConnection::MaybeStartTunnelSplice() {
  if (!tunnel_splice_pending_ || !client_->read_stopped() || !upstream_->read_stopped() ||
      client_->queued_bytes() > 0 || upstream_->queued_bytes() > 0) {
    return;
  }
  tunnel_splice_pending_ = false;
  // A direction whose source already ended (seen while copying) needs no pump.
  if (client_eof_) {
    shard_->pipes().Release(req_pipe_, true);
  } else {
    req_pump_ = StartPump(req_pipe_, client_, upstream_, SplicePump::kUntilEof,
                          [this](int error) { OnTunnelPumpDone(true, error); });
  }
  if (upstream_eof_) {
    shard_->pipes().Release(pipe_, true);
  } else {
    pump_ = StartPump(pipe_, upstream_, client_, SplicePump::kUntilEof,
                      [this](int error) { OnTunnelPumpDone(false, error); });
  }
}

void HttpConnection::OnTunnelPumpDone(bool from_client, int error) {
  SplicePump*& pump = from_client ? req_pump_ : pump_;
  shard_->stats().bytes_spliced += pump->moved();
  pump = nullptr;
  if (error != 0) return Destroy();
  // The source sent EOF and everything before it was delivered.
  return TunnelEof(from_client ? client_ : upstream_);
}

void HttpConnection::TunnelData(Stream* from, std::string_view data) {
  Stream* to = from == client_ ? upstream_ : client_;
  to->Send(data);
  if (to->queued_bytes() > kHighWater) from->PauseReading();
}

void HttpConnection::TunnelEof(Stream* from) {
  // Half-close travels through the tunnel; the connection ends when both
  // directions have ended and everything queued has been delivered.
  Stream* to = from == client_ ? upstream_ : client_;
  to->ShutdownWrite();
  (from == client_ ? client_eof_ : upstream_eof_) = true;
  if (!client_eof_ || !upstream_eof_) return;
  client_->CloseGracefully();
  upstream_->CloseGracefully();
  client_ = nullptr;
  upstream_ = nullptr;
  return Destroy();
}

void HttpConnection::OnEof(Stream* stream) {
  if (tunnel_) return TunnelEof(stream);
  if (stream == client_) {
    if (idle()) return Destroy();
    if (req_state_ == ReqState::kDone && resp_state_ != RespState::kNone) {
      // Half-close after a complete request: answer it, then close.
      client_keep_alive_ = false;
      close_after_ = true;
      return;
    }
    return Destroy();
  }
  if (stream == upstream_) {
    if (resp_state_ == RespState::kBody && resp_framing_ == http::BodyFraming::kUntilClose) {
      if (resp_out_ == BodyOut::kChunkEncode) SendToClient("0\r\n\r\n");
      upstream_dirty_ = true;
      return ResponseDone();
    }
    if (!response_started_ && resp_in_.empty() && resp_state_ == RespState::kHead) {
      return UpstreamFailed(-ECONNRESET);
    }
    upstream_dirty_ = true;
    if (response_started_) return Destroy();
    return RespondError(502, "upstream closed the connection early");
  }
}

void HttpConnection::OnError(Stream* stream, int error) {
  if (stream == client_) return Destroy();
  if (stream == upstream_) {
    if (!response_started_ && resp_in_.empty() && resp_state_ == RespState::kHead) {
      return UpstreamFailed(error);
    }
    upstream_dirty_ = true;
    if (response_started_) return Destroy();
    return RespondError(502, "upstream connection failed");
  }
}

void HttpConnection::Destroy() {
  shard_->ring().timers().Cancel(&timer_);
  // The pump goes first: it must stop issuing ops on the fds before they close.
  if (pump_ != nullptr) pump_->Abort();
  if (req_pump_ != nullptr) req_pump_->Abort();
  if (splice_pending_ || tunnel_splice_pending_) shard_->pipes().Release(pipe_, true);
  if (req_splice_pending_ || tunnel_splice_pending_) shard_->pipes().Release(req_pipe_, true);
  if (upstream_ != nullptr) upstream_->Close();
  if (client_ != nullptr) client_->Close();
  shard_->ConnectionClosed(this, service_);
  delete this;
}

}  // namespace icaht::proxy
