#include "proxy/exchange.h"

#include "core/check.h"
#include "net/socket.h"
#include "proxy/access_log.h"
#include "proxy/exchange_metrics.h"
#include "proxy/header_rewrite.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {
namespace {
using filters::ErrorKind;
using filters::MakeError;
using filters::Outcome;
using filters::ProxyError;
using filters::Verdict;

// A request that already passed this many proxies of ours is in a loop.
constexpr int kMaxOwnViaHops = 8;
// A connection keeps a replay buffer this large for its next requests.
constexpr size_t kKeptBodyCapacity = 16 * 1024;
}  // namespace

Exchange::Exchange(ShardProxy& shard, ShardService& service, net::Stream* client, Owner* owner,
                   std::string_view client_ip, const filters::ConnectionTls* tls,
                   core::Timer* timer, ExchangeBuffers* buffers)
    : shard_(shard),
      service_(service),
      client_(client),
      owner_(owner),
      config_(service.config.get()),
      ctx_(buffers->context),
      timer_(timer),
      upstream_head_(buffers->upstream_head),
      replay_body_(buffers->request_body),
      response_in_(buffers->response_in),
      response_head_(buffers->response),
      response_body_(shard, this) {
  ctx_.Reset();
  ctx_.service_name = config_->name;
  ctx_.client_ip = client_ip;
  ctx_.tls = tls;
  ctx_.start_ns = core::LoopNowNs();
  ++service_.requests_in_flight;
}

Exchange::~Exchange() {
  ICAHT_CHECK(finished_ || call_ == nullptr);
  if (!finished_) --service_.requests_in_flight;
}

// ---- Request phase --------------------------------------------------------

void Exchange::Start(const http::RequestHead& head, std::string_view input, bool close_after) {
  ctx_.SetRequest(head, input);
  Begin(close_after);
}

void Exchange::Begin(bool close_after) {
  const http::RequestHead& head = ctx_.request();
  close_after_ = close_after || !head.keep_alive;
  connect_timeout_ms_ = config_->connect_timeout_ms;
  request_timeout_ms_ = config_->request_timeout_ms;
  retries_ = config_->retries ? &*config_->retries : nullptr;
  SetTotalDeadline(config_->total_timeout_ms, config_->trust_timeout_header);
  if (CountOwnViaHops(head.headers) >= kMaxOwnViaHops) {
    close_after_ = true;
    return Fail(MakeError(ErrorKind::kLoopDetected, "request loop detected (Via)"));
  }
  if (!ApplyPeerPolicy(*config_, ctx_)) {
    close_after_ = true;
    return Fail(MakeError(ErrorKind::kPeerNotAllowed, "peer identity not allowed"));
  }
  if (config_->max_body_bytes != 0 && head.framing == http::BodyFraming::kContentLength &&
      head.content_length > config_->max_body_bytes) {
    close_after_ = true;
    return Fail(MakeError(ErrorKind::kBodyTooLarge, "request body too large"));
  }
  has_request_body_ =
      head.framing == http::BodyFraming::kChunked ||
      (head.framing == http::BodyFraming::kContentLength && head.content_length > 0);
  RunRequestFilters();
}

void Exchange::StartWithError(const ProxyError& error) {
  close_after_ = true;
  Fail(error);
}

void Exchange::RunRequestFilters() {
  Verdict verdict = Chain().RunRequest(ctx_, *this, &next_filter_);
  switch (verdict) {
    case Verdict::kContinue:
      return Forward();
    case Verdict::kRespond:
      return RespondLocally();
    case Verdict::kPause:
      paused_ = true;
      return ArmTimer(TimerPurpose::kResponseHead, request_timeout_ms_);
  }
}

void Exchange::Resume() {
  if (finished_ || !paused_) return;
  paused_ = false;
  RunRequestFilters();
}

void Exchange::RespondLocally() {
  if (finished_) return;
  paused_ = false;
  // An unread request body cannot be skipped safely: close after the answer.
  if (has_request_body_) close_after_ = true;
  const filters::LocalResponse& r = ctx_.local_response;
  SendLocal(r.status, r.content_type, r.body_view.data() != nullptr ? r.body_view : r.body,
            &r.fields);
  Finish(Outcome::kLocal, close_after_ ? Next::kClose : Next::kKeepAlive);
}

void Exchange::Forward() {
  TargetRewrite rewrite;
  if (config_->route_table != nullptr && !SelectRoute(&rewrite)) return;  // answered
  BuildUpstreamRequestHead(ctx_.request(), ctx_.client_ip, &upstream_head_, &ctx_.upstream_edits,
                           ctx_.tls != nullptr, rewrite.active() ? &rewrite : nullptr);
  CircuitBreaker& breaker = service_.breaker;
  if (breaker.enabled()) {
    using Overflow = filters::RequestContext::Overflow;
    if (!breaker.AdmitRequest()) return Overloaded(Overflow::kRequests, "too many requests");
    admitted_ = true;
    service_.PublishBreakerGauges();
  }
  // A body held until complete (chunked, with max_body_bytes) takes its slot
  // then: a slow upload holds no connection slot while nothing is sent.
  if (!HoldsBody() && !TakeSlot()) return;
  SendRequest();
}

void Exchange::SendRequest() {
  const http::RequestHead& head = ctx_.request();
  BodyForwarder::Options body;
  if (head.framing == http::BodyFraming::kChunked) {
    body.in = BodyForwarder::In::kChunked;
    body.out = BodyForwarder::Out::kChunked;
    // With a size limit, a chunked body (length unknown up front) is held
    // until complete, so an oversized one gets 413 before the upstream sees it.
    body.max_bytes = config_->max_body_bytes;
    body.hold = config_->max_body_bytes != 0;
  } else {
    body.length = head.content_length;
    body.allow_splice = true;
  }
  // With retries, a body short enough is kept as it streams to the first
  // attempt, for a retry to send again (a held one is kept anyway).
  if (retries_ != nullptr && !body.hold &&
      (body.in == BodyForwarder::In::kChunked || body.length <= retries_->replay_body_bytes)) {
    body.keep = &replay_body_;
    body.keep_max = retries_->replay_body_bytes;
    body.allow_splice = false;
  }
  // A request the mirror copies keeps its body for the copy (proxy/mirror.h).
  mirror_pending_ = config_->mirror != nullptr &&
                    config_->mirror->Sample(head, has_request_body_, &body, &replay_body_);
  if (!body.hold && !Connect(-1, upstream_head_)) return;
  if (!has_request_body_) return RequestDone();
  ArmTimer(TimerPurpose::kRequestBody, request_timeout_ms_);
  request_body_ =
      std::make_unique<BodyForwarder>(shard_, static_cast<BodyForwarder::Callbacks*>(this));
  request_body_->Start(client_, call_ != nullptr ? call_->stream() : nullptr, body);
  owner_->OnRequestBodyWanted();
}

bool Exchange::Connect(int skip, std::string_view first_bytes) {
  // A config replaced since this exchange began: its instances' state is gone.
  const bool current = service_.Current(config_);
  Balancer::Request pick{.out = current ? service_.OutFor(subset_) : nullptr,
                         .skip = skip,
                         .active = &service_.upstream_active};
  // A third try and later: none of the earlier ones either.
  if (skip >= 0 && skip < 64) pick.tried = tried_ & ~(uint64_t{1} << skip);
  if (config_->lb_policy == LbPolicy::kRingHash || config_->lb_policy == LbPolicy::kMaglev) {
    pick.hash = BalanceHash();
  }
  int index = current
                  ? service_.balancer.Pick(config_->upstreams, pick)
                  : service_.balancer.PickAny(
                        config_->upstreams, skip,
                        subset_ >= 0 ? &config_->route_table->SubsetExcluded(subset_) : nullptr);
  if (index < 0) {
    Fail(MakeError(ErrorKind::kNoHealthyUpstream, "no healthy instance"));
    return false;
  }
  ctx_.upstream_index = index;
  ctx_.upstream_address = config_->upstreams[index].text;
  if (index < 64) tried_ |= uint64_t{1} << index;
  if (current) {
    ++service_.upstream_active[index];
    active_index_ = index;
  }
  if (ctx_.attempts++ == 0) ctx_.upstream_start_ns = core::LoopNowNs();
  upstream_acked_ = kAckedUnknown;  // a new connection: nothing seen of it yet
  call_ = new UpstreamCall(shard_, this, ctx_.request().method_id, config_->limits, &response_in_,
                           &response_head_);
  const UpstreamConfig& upstream = config_->upstreams[index];
  if (!call_->Start(upstream.address, connect_timeout_ms_, upstream.tls, upstream.tls_server_name,
                    client_->encrypted())) {
    close_after_ = true;
    Fail(MakeError(ErrorKind::kNoConnection, "no upstream connection available"));
    return false;
  }
  call_->stream()->Send(first_bytes);
  // A retry's new connection is the body's sink from now on (a streaming
  // body goes on into it; a finished one is only asked about it).
  if (request_body_ != nullptr) request_body_->SetSink(call_->stream());
  return true;
}

void Exchange::RequestDone() {
  request_done_ = true;
  ctx_.request_body_bytes = request_body_ != nullptr ? request_body_->bytes() : 0;
  if (mirror_pending_) {  // the first attempt's end, never a retry's
    mirror_pending_ = false;
    config_->mirror->Send(ctx_.request().method_id, upstream_head_, replay_body_,
                          request_body_ == nullptr || request_body_->kept_whole(),
                          ctx_.request_body_bytes);
  }
  if (!response_started_) ArmTimer(TimerPurpose::kResponseHead, ResponseHeadTimeoutMs());
}

// ---- Upstream -------------------------------------------------------------

void Exchange::OnUpstreamConnected() {
  service_.ReportUpstream(config_, ctx_.upstream_index, true);
  if (request_body_ != nullptr) request_body_->OnSinkConnected();
}

void Exchange::OnInterimResponse(const http::ResponseHead& head) {
  // 1xx (e.g. 100 Continue) pass through to HTTP/1.1 clients.
  if (ctx_.request().version == http::Version::kHttp10) return;
  BuildClientResponseHead(head, true, false, &client_->SendBuffer());
}

void Exchange::ReportAttempt(ShardService::AttemptResult result) {
  if (config_->outlier) service_.RecordAttempt(config_, ctx_.upstream_index, result);
}

void Exchange::OnResponseHead(const http::ResponseHead& head, std::string_view rest) {
  if (config_->outlier) {
    using Result = ShardService::AttemptResult;
    ReportAttempt(head.status < 500                          ? Result::kSuccess
                  : head.status >= 502 && head.status <= 504 ? Result::kGatewayError
                                                             : Result::kServerError);
  }
  // A status the policy retries: the answer is dropped unread (its
  // connection is closed, not reused) and another instance asked.
  if (retries_ != nullptr && head.status >= 400 && request_done_ &&
      RetryByPolicy({.status = head.status, .reused_connection = call_->reused()})) {
    return;
  }
  ctx_.upstream_head_ns = core::LoopNowNs();
  if (head.status == 101) {
    if (ctx_.request().upgrade && request_done_) return StartTunnel(head, rest);
    call_->MarkDirty();
    return Fail(MakeError(ErrorKind::kProtocolSwitch, "upstream switched protocols unasked"));
  }
  // The cache's say on a revalidation's 304 or a failure (stale-if-error):
  // it may answer with its entry instead.
  if (ctx_.cache.consult && AnsweredFromCache(&head)) return;
  ctx_.response_head_ns = core::LoopNowNs();
  ctx_.response_status = head.status;
  bool http10 = ctx_.request().version == http::Version::kHttp10;
  response_keep_alive_ = head.keep_alive && head.framing != http::BodyFraming::kUntilClose;
  bool has_body = head.framing != http::BodyFraming::kNone &&
                  !(head.framing == http::BodyFraming::kContentLength && head.content_length == 0);
  // Close-delimited bodies, or chunked ones to an HTTP/1.0 client, end the
  // client connection too; HTTP/1.1 clients get them re-framed as chunked.
  BodyForwarder::Options body;
  bool reframe =
      head.framing == http::BodyFraming::kChunked || head.framing == http::BodyFraming::kUntilClose;
  if (reframe) {
    if (http10) {
      close_after_ = true;
    } else {
      body.out = BodyForwarder::Out::kChunked;
    }
  }
  // A request body still arriving after the response cannot be skipped safely.
  if (!request_done_ || service_.removing) close_after_ = true;
  bool keep_alive = !close_after_;

  head_mark_ = client_->send_mark();
  // upstream_head_ is no longer needed (no retry once the answer started) but
  // is left for Finish to clear: its bytes are on a line not touched since.
  WriteResponseHead(head, keep_alive, has_body && body.out == BodyForwarder::Out::kChunked);
  if (!has_body) {
    if (!rest.empty()) call_->MarkDirty();
    return ResponseDone();
  }
  switch (head.framing) {
    case http::BodyFraming::kContentLength:
      body.in = BodyForwarder::In::kContentLength;
      body.length = head.content_length;
      body.allow_splice = true;
      break;
    case http::BodyFraming::kChunked:
      body.in = BodyForwarder::In::kChunked;
      break;
    default:
      body.in = BodyForwarder::In::kUntilEof;
      break;
  }
  if (ctx_.cache.store) KeepBodyForCache(&body);
  response_body_.Start(call_->stream(), client_, body);
  if (!rest.empty()) {
    // Until this returns the head is only queued: a body that is broken from
    // its first byte still gets a 502 instead of a cut.
    head_retractable_ = true;
    response_body_.OnData(rest);
    head_retractable_ = false;
  }
  // A body that came whole with the head has ended the exchange (and the
  // connection has armed the timer for what follows): no timer to move.
  if (!finished_) ArmTimer(TimerPurpose::kResponseBody, request_timeout_ms_);
}

void Exchange::OnUpstreamData(std::string_view data) {
  if (tunnel_ != nullptr) return tunnel_->OnData(call_->stream(), data);
  if (response_body_.active()) {
    response_body_.OnData(data);
    return;
  }
  call_->MarkDirty();  // bytes nobody asked for
}

void Exchange::OnUpstreamEof() {
  if (tunnel_ != nullptr) return tunnel_->OnEof(call_->stream());
  response_body_.OnSourceEof();
}

void Exchange::OnUpstreamFailed(const ProxyError& error) {
  if (call_ != nullptr) call_->MarkDirty();
  // A failure before the head is the instance's, except the keep-alive race
  // (a pooled connection it closed while idle: nothing was asked of it).
  const bool keepalive_race = error.kind == ErrorKind::kUpstreamReset && error.retryable;
  if (call_ != nullptr && !call_->head_received() && !keepalive_race) {
    ReportAttempt(ShardService::AttemptResult::kGatewayError);
  }
  if (!response_started_) {
    if (error.kind == ErrorKind::kConnectRefused || error.kind == ErrorKind::kConnectTimeout ||
        error.kind == ErrorKind::kUpstreamTls) {
      service_.ReportUpstream(config_, ctx_.upstream_index, false);
    }
    if (retries_ != nullptr) {
      if (RetryByPolicy({.error = error.kind,
                         .reused_connection = call_->reused(),
                         .unprocessed = error.retryable})) {
        return;
      }
      // A failure the policy does not name still gets the built-in retry (a
      // failed connect, the keep-alive race): naming statuses must not lose it.
      if (last_verdict_ == filters::RetryVerdict::kNotRetryable && Retry(error)) return;
    } else if (Retry(error)) {
      return;
    }
  }
  Fail(error);
}

void Exchange::OnUpstreamDrained() {
  if (tunnel_ != nullptr) return tunnel_->OnDrained(call_->stream());
  if (reading_body()) return request_body_->OnSinkDrained();
  // The request is out: the client may send its next (pipelined) request.
  if (request_done_) client_->StartReading();
}

void Exchange::OnUpstreamReadStopped() {
  if (tunnel_ != nullptr) return tunnel_->OnReadStopped(call_->stream());
  response_body_.OnSourceReadStopped();
}

// ---- Bodies ---------------------------------------------------------------

void Exchange::OnBodyDone(BodyForwarder* body) {
  if (body == &response_body_) return ResponseDone();
  if (body->TakeHeldInto(&upstream_head_)) {
    // A held chunked body, complete and within the limit: now the upstream
    // gets the head and the body, whole (once it has a connection slot).
    if (!TakeSlot()) return;
    return SendHeldRequest();
  }
  RequestDone();
}

void Exchange::OnBodyFailed(BodyForwarder* body, BodyForwarder::Failure failure) {
  if (call_ != nullptr) call_->MarkDirty();
  using Failure = BodyForwarder::Failure;
  if (body == &response_body_) {
    if (head_retractable_ && failure == Failure::kBadChunk) {
      head_retractable_ = false;
      client_->TruncateTo(head_mark_);
      response_started_ = false;
      return Fail(MakeError(ErrorKind::kBadResponse, "upstream sent an invalid chunked body"));
    }
    // Mid-response: the client must not mistake a cut body for a whole one.
    return Fail(MakeError(ErrorKind::kResponseCut, "upstream response cut short"));
  }
  close_after_ = true;
  switch (failure) {
    case Failure::kBadChunk:
      return Fail(ProxyError{ErrorKind::kBadRequest, 400, false, "invalid chunked request body"});
    case Failure::kTooLarge:
      return Fail(MakeError(ErrorKind::kBodyTooLarge, "request body too large"));
    case Failure::kSourceClosed:
      return Fail(MakeError(ErrorKind::kClientClosed, "client closed mid-body"));
    case Failure::kSinkFailed:
      return Fail(
          MakeError(ErrorKind::kBodyNotDelivered, "request body could not be delivered upstream"));
  }
}

void Exchange::ResponseDone() {
  ctx_.response_body_bytes = response_body_.bytes();
  if (ctx_.cache.store) StoreKeptBody();
  bool reusable = response_keep_alive_ && request_done_ && !response_body_.overrun();
  RetireCall(reusable);
  // The upstream answered before the request body was complete: close.
  Finish(Outcome::kForwarded, request_done_ && !close_after_ ? Next::kKeepAlive : Next::kClose);
}

void Exchange::WriteResponseHead(const http::ResponseHead& head, bool keep_alive,
                                 bool chunk_encode) {
  ctx_.upstream_response = &head;
  Chain().RunResponse(ctx_);
  ctx_.upstream_response = nullptr;
  size_t mark = client_->send_mark();
  BuildClientResponseHead(head, keep_alive, chunk_encode, &client_->SendBuffer(),
                          &ctx_.response_edits);
  ctx_.response_head_bytes = client_->send_mark() - mark;
  response_started_ = true;
}

// ---- Client events ----------------------------------------------------------

bool Exchange::wants_client_data() const {
  return !finished_ && (tunnel_ != nullptr || reading_body());
}

size_t Exchange::OnClientData(std::string_view data) {
  if (tunnel_ != nullptr) {
    tunnel_->OnData(client_, data);
    return data.size();
  }
  return request_body_ != nullptr ? request_body_->OnData(data) : 0;
}

void Exchange::OnClientEof() {
  if (tunnel_ != nullptr) return tunnel_->OnEof(client_);
  if (request_body_ != nullptr) request_body_->OnSourceEof();
}

void Exchange::OnClientDrained() {
  if (finished_) return;
  if (tunnel_ != nullptr) return tunnel_->OnDrained(client_);
  response_body_.OnSinkDrained();
}

void Exchange::OnClientReadStopped() {
  if (finished_) return;
  if (tunnel_ != nullptr) return tunnel_->OnReadStopped(client_);
  if (request_body_ != nullptr) request_body_->OnSourceReadStopped();
}

void Exchange::Abort(ErrorKind kind) {
  if (finished_) return;
  ctx_.error = MakeError(kind, "");
  Finish(Outcome::kError, Next::kAbort);
}

// ---- Endings --------------------------------------------------------------

void Exchange::SendLocal(int status, std::string_view content_type, std::string_view body,
                         const std::vector<http::Header>* fields) {
  ctx_.response_status = status;
  ctx_.response_edits.Clear();  // a retracted upstream head's edits
  ctx_.response_head_ns = core::LoopNowNs();
  Chain().RunResponse(ctx_);
  if (fields != nullptr) {
    for (const http::Header& h : *fields) ctx_.response_edits.Add(h.name, h.value);
  }
  bool head_only = ctx_.has_request() && ctx_.request().method_id == http::Method::kHead;
  bool keep_alive = !close_after_ && !service_.removing;
  if (!keep_alive) close_after_ = true;
  size_t mark = client_->send_mark();
  AppendLocalResponse(status, content_type, body, keep_alive, head_only, &ctx_.response_edits,
                      &client_->SendBuffer());
  ctx_.response_body_bytes = head_only ? 0 : body.size();
  ctx_.response_head_bytes = client_->send_mark() - mark - ctx_.response_body_bytes;
  response_started_ = true;
}

void Exchange::Fail(const ProxyError& error) {
  if (finished_) return;
  ctx_.error = error;
  int status = error.status();
  // Never a truncated response that looks whole: once an answer has begun,
  // or when nobody is left to answer, the connection is cut.
  if (response_started_ || status == 0) return Finish(Outcome::kError, Next::kAbort);
  // stale-if-error: the cache may answer an upstream failure with its entry.
  if (ctx_.cache.consult && status >= 500 && AnsweredFromCache(nullptr)) return;
  // Keep the connection only if the request was read completely and is well
  // framed.
  if (!request_done_) close_after_ = true;
  std::string text(error.detail);
  text.push_back('\n');
  // A circuit breaker's answer says so (Envoy's x-envoy-overloaded).
  static const std::vector<http::Header> kOverloadedFields = {{"x-icaht-overloaded", "true"}};
  SendLocal(status, "text/plain; charset=utf-8", text,
            error.kind == ErrorKind::kOverloaded ? &kOverloadedFields : nullptr);
  Finish(Outcome::kError, close_after_ ? Next::kClose : Next::kKeepAlive);
}

void Exchange::Finish(Outcome outcome, Next next) {
  if (finished_) return;
  finished_ = true;
  timer_purpose_ = TimerPurpose::kNone;  // the connection re-arms its timer for what follows
  if (paused_) Chain().Cancel(ctx_, next_filter_);
  if (tunnel_ != nullptr) tunnel_->Abort();
  if (request_body_ != nullptr) request_body_->Abort();
  response_body_.Abort();
  if (call_ != nullptr) RetireCall(false);
  if (counted_retry_) {
    --service_.retries_in_flight;
    counted_retry_ = false;
  }
  if (slot_ == SlotState::kHeld) {
    service_.ReleaseConnectionSlot();
  } else if (slot_ == SlotState::kQueued) {
    service_.CancelSlotWait(this);
  }
  slot_ = SlotState::kNone;
  if (admitted_) {
    service_.breaker.EndRequest();
    service_.PublishBreakerGauges();
  }
  --service_.requests_in_flight;
  ctx_.outcome = outcome;
  ctx_.end_ns = core::LoopNowNs();
  if (outcome != Outcome::kError) ctx_.error = ProxyError{};
  Chain().RunLog(ctx_);
  if (egress_metrics_ != nullptr) {
    RecordEgress();
  } else {
    RecordExchange(ctx_, service_.series->shard(shard_.index()),
                   subset_ >= 0 && static_cast<size_t>(subset_) < config_->subset_series.size()
                       ? config_->subset_series[subset_]
                       : nullptr,
                   shard_.index());
    if (ctx_.cache.result != filters::CacheResult::kNone || ctx_.cache.unsafe) {
      service_.PublishCacheGauges();
    }
  }
  if (AccessLog* log = shard_.access_log();
      log != nullptr && log->enabled() && config_->access_log) {
    log->Append(ctx_);
  }
  // Nothing reads the head or the response head after this: the buffers go
  // back to the connection for its next exchange (a large body copy is not
  // kept by an idle connection).
  upstream_head_.clear();
  if (replay_body_.capacity() > kKeptBodyCapacity) {
    std::string().swap(replay_body_);
  } else {
    replay_body_.clear();
  }
  owner_->OnExchangeDone(this, next);
}

void Exchange::RetireCall(bool reusable) {
  if (active_index_ >= 0) {
    if (service_.Current(config_)) --service_.upstream_active[active_index_];
    active_index_ = -1;
  }
  call_->Release(reusable);
  core::DeferDelete(call_);
  call_ = nullptr;
  if (request_body_ != nullptr) request_body_->SetSink(nullptr);  // never the closed one
}

}  // namespace icaht::proxy
