#include "proxy/http_connection.h"

#include "core/check.h"
#include "core/log.h"
#include "http/request_parser.h"
#include "net/tls_session.h"

namespace icaht::proxy {
namespace {
// Pipelined bytes buffered while an exchange is in flight.
constexpr size_t kMaxPipelined = 256 * 1024;
}  // namespace

HttpConnection::HttpConnection(ShardProxy* shard, ShardService* service, int fd,
                               std::string client_ip)
    : shard_(shard),
      service_(service),
      client_(new net::Stream(shard->ring(), shard->bufs(), fd, this)),
      client_ip_(std::move(client_ip)),
      timer_([this] { OnTimer(); }),
      next_task_([this] {
        if (closed_) return;
        client_->StartReading();
        ProcessHead();
      }),
      feed_task_([this] { FeedExchange(); }) {
  if (service->config->tls != nullptr) {
    client_->StartTls(net::TlsSession::ForServer(service->config->tls));
  }
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Start() {
  client_->StartReading();
  ArmTimer(TimerPurpose::kIdle, service_->config->idle_timeout_ms);
}

void HttpConnection::Drain() {
  close_after_ = true;
  if (idle()) Destroy();
}

void HttpConnection::Abort() {
  if (exchange_ != nullptr) exchange_->Abort(filters::ErrorKind::kDrained);
  Destroy();
}

void HttpConnection::RouteReady() {
  route_key_.clear();
  next_task_.Post();  // reads again and routes the head anew
}

void HttpConnection::ArmTimer(TimerPurpose purpose, uint32_t ms) {
  timer_purpose_ = purpose;
  shard_->ring().timers().Arm(&timer_, core::LoopNowNs() + static_cast<int64_t>(ms) * 1'000'000);
}

void HttpConnection::OnTimer() {
  if (exchange_ != nullptr) return exchange_->OnTimer();
  switch (timer_purpose_) {
    case TimerPurpose::kIdle:
      return Destroy();
    case TimerPurpose::kHeaderRead:
      NewExchange(*service_);
      return exchange_->StartWithError(
          filters::MakeError(filters::ErrorKind::kHeaderTimeout, "request header read timed out"));
    case TimerPurpose::kNone:
    case TimerPurpose::kExchange:
      return;
  }
}

void HttpConnection::OnData(net::Stream*, std::string_view data) {
  if (exchange_ != nullptr && exchange_->wants_client_data() && in_.empty()) {
    data.remove_prefix(exchange_->OnClientData(data));
    if (data.empty()) return;
  }
  in_.append(data);
  if (!route_key_.empty()) {
    if (in_.size() > kMaxPipelined) client_->PauseReading();
    return;
  }
  if (exchange_ == nullptr) return ProcessHead();
  if (exchange_->wants_client_data()) return FeedExchange();
  if (in_.size() > kMaxPipelined) client_->PauseReading();
}

void HttpConnection::FeedExchange() {
  if (closed_ || exchange_ == nullptr || !exchange_->wants_client_data()) return;
  if (!in_.empty()) {
    std::string pending = std::move(in_);
    in_.clear();
    size_t used = exchange_->OnClientData(pending);
    // Bytes past the body: the next (pipelined) request, ahead of anything
    // that arrived meanwhile.
    if (used < pending.size()) in_.insert(0, pending, used);
  }
  // The client's EOF came while the exchange was not reading yet (a filter
  // held it): it will not come again.
  if (client_eof_ && exchange_ != nullptr && exchange_->wants_client_data()) {
    exchange_->OnClientEof();
  }
}

void HttpConnection::ProcessHead() {
  if (closed_ || exchange_ != nullptr || !route_key_.empty()) return;
  if (in_.empty()) {
    if (client_eof_ || close_after_ || service_->removing) return CloseGracefully();
    return ArmTimer(TimerPurpose::kIdle, service_->config->idle_timeout_ms);
  }
  http::ParseError error = http::ParseError::kNone;
  http::ParseStatus status = http::ParseRequestHead(in_, service_->config->limits, &head_, &error);
  if (status == http::ParseStatus::kIncomplete) {
    if (client_eof_) return Destroy();  // half a head, and nothing more will come
    if (timer_purpose_ != TimerPurpose::kHeaderRead) {
      ArmTimer(TimerPurpose::kHeaderRead, service_->config->request_timeout_ms);
    }
    return;
  }
  if (status == http::ParseStatus::kError) {
    NewExchange(*service_);
    // Framing is unsafe after a bad head: answer and close.
    return exchange_->StartWithError(filters::ProxyError{
        filters::ErrorKind::kBadRequest, static_cast<uint16_t>(http::StatusFor(error)), false,
        head_.error_detail});
  }
  // After a half-close, the last request received is answered with close.
  size_t head_size = head_.head_size;
  uint64_t body = head_.framing == http::BodyFraming::kContentLength ? head_.content_length : 0;
  bool last = client_eof_ && in_.size() - head_size <= body;
  if (service_->config->egress_listener) {
    // The egress listener: each request goes to the service it names.
    EgressRoute route = shard_->RouteEgress(head_);
    if (!route.pending.empty()) {
      // Its name is being resolved: the lookup has its own deadline, and
      // RouteReady brings this head back.
      route_key_ = std::move(route.pending);
      timer_purpose_ = TimerPurpose::kNone;
      return shard_->WaitForRoute(route_key_, this);
    }
    NewExchange(route.service != nullptr ? *route.service : *service_);
    Exchange* exchange = exchange_;
    exchange->StartEgress(head_, in_, close_after_ || last, route);
  } else {
    NewExchange(*service_);
    Exchange* exchange = exchange_;
    exchange->Start(head_, in_, close_after_ || last);
  }
  // The exchange copied the head; whatever follows is its body or the next
  // request (fed from a posted task, never re-entrantly).
  in_.erase(0, head_size);
}

void HttpConnection::NewExchange(ShardService& service) {
  // The timer stays armed (an early expiry finds the exchange, which re-arms
  // or ignores it): moving it is cheaper than cancelling it per request.
  timer_purpose_ = TimerPurpose::kExchange;
  // The exchange points at its service's config; the connection keeps it alive.
  // (An egress request for another service runs with its route's config,
  // which the exchange owns: nothing of that service is pinned here.)
  if (&service == service_ && config_pin_ != service.config) {
    // Rare: the record changed since the last exchange.
    retired_pin_ = std::move(config_pin_);
    config_pin_ = service.config;
  }
  exchange_ = new Exchange(*shard_, service, client_, this, client_ip_, tls_info_.get(), &timer_,
                           &buffers_);
}

void HttpConnection::OnConnected(net::Stream*) {
  // The TLS handshake is done (plain streams never call this).
  FillTlsInfo();
  metrics::ShardSeries& series = service_->series->shard(shard_->index());
  series.tls_handshakes.Add(1);
  if (tls_info_->resumed) series.tls_resumed.Add(1);
}

void HttpConnection::FillTlsInfo() {
  const net::TlsSession& tls = *client_->tls();
  auto info = std::make_unique<filters::ConnectionTls>();
  info->version = tls.version();
  info->server_name = std::string(tls.server_name());
  info->resumed = tls.resumed();
  info->peer_subject = tls.PeerSubject();
  info->peer_uri_sans = tls.PeerUriSans();
  if (!info->peer_subject.empty() || !info->peer_uri_sans.empty()) {
    // Envoy's x-forwarded-client-cert shape: Subject="...";URI=...;URI=...
    std::string& value = info->peer_header_value;
    value.append("Subject=\"");
    for (char c : info->peer_subject) {
      if (c == '"' || c == '\\') value.push_back('\\');
      value.push_back(c);
    }
    value.push_back('"');
    net::AnyUri(info->peer_uri_sans, [&value](std::string_view uri) {
      value.append(";URI=").append(uri);
      return false;  // every one
    });
  }
  tls_info_ = std::move(info);
}

void HttpConnection::OnExchangeDone(Exchange* exchange, Exchange::Next next) {
  ICAHT_CHECK(exchange == exchange_);
  core::DeferDelete(exchange_);
  exchange_ = nullptr;
  feed_task_.Cancel();
  if (closed_) return;
  switch (next) {
    case Exchange::Next::kAbort:
      return Destroy();
    case Exchange::Next::kClose:
      return CloseGracefully();
    case Exchange::Next::kKeepAlive:
      if (close_after_ || service_->removing) return CloseGracefully();
      next_task_.Post();
      return;
  }
}

void HttpConnection::OnEof(net::Stream*) {
  client_eof_ = true;
  if (exchange_ != nullptr && exchange_->wants_client_data()) {
    // Mid-body (the exchange fails) or a tunnel (the half-close travels on).
    return FeedExchange();
  }
  // A half-close ends reading, not the requests already received: they are
  // answered, then the connection closes.
  if (exchange_ == nullptr) ProcessHead();
}

void HttpConnection::OnError(net::Stream* stream, int error) {
  if (stream->tls() != nullptr && !stream->tls()->established()) {
    service_->series->shard(shard_->index()).tls_handshake_failures.Add(1);
    if (!stream->tls()->error().empty()) {
      ICAHT_LOG_LIMITED(kInfo, "service '", service_->config->name, "': TLS handshake with ",
                        client_ip_, " failed: ", stream->tls()->error());
    }
  }
  if (exchange_ != nullptr) exchange_->Abort(filters::ErrorKind::kClientClosed);
  Destroy();
}

void HttpConnection::OnSendDrained(net::Stream*) {
  if (exchange_ != nullptr) exchange_->OnClientDrained();
}

void HttpConnection::OnReadStopped(net::Stream*) {
  if (exchange_ != nullptr) exchange_->OnClientReadStopped();
}

void HttpConnection::CloseGracefully() {
  if (closed_) return;
  client_->CloseGracefully();
  client_ = nullptr;
  Destroy();
}

void HttpConnection::Destroy() {
  if (closed_) return;
  closed_ = true;
  if (exchange_ != nullptr) exchange_->Abort(filters::ErrorKind::kClientClosed);
  shard_->ring().timers().Cancel(&timer_);
  if (!route_key_.empty()) shard_->CancelRouteWait(route_key_, this);
  next_task_.Cancel();
  feed_task_.Cancel();
  if (client_ != nullptr) client_->Close();
  client_ = nullptr;
  shard_->ConnectionClosed(this, service_);
  core::DeferDelete(this);
}

}  // namespace icaht::proxy
