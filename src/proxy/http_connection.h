#pragma once
// One client connection on a service port: its socket, its read buffer,
// pipelining, keep-alive and the idle / header-read timer. Each complete
// request head becomes an Exchange; requests are answered one at a time, in
// order (HTTP/1.1 pipelining), and bytes read meanwhile wait in the buffer.
//
// Shard-owned. Created on accept; ends through Destroy(), which hands the
// object to core::DeferDelete, so it stays valid until the completion that
// ended it has returned.

#include <memory>
#include <string>

#include "core/deferred.h"
#include "core/timer_queue.h"
#include "http/message.h"
#include "net/stream.h"
#include "proxy/exchange.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {

class HttpConnection final : public core::DeferredDeletable,
                             private net::StreamHandler,
                             private Exchange::Owner {
 public:
  HttpConnection(ShardProxy* shard, ShardService* service, int fd, std::string client_ip);
  ~HttpConnection() override;

  void Start();
  // Between requests (nothing read, nothing pending)?
  bool idle() const { return exchange_ == nullptr && in_.empty(); }
  // The service is going away: close now if idle, else after this response.
  void Drain();
  // Drain deadline passed: abort whatever is in flight.
  void Abort();
  // The egress destination this connection waits for (ShardProxy::
  // WaitForRoute) is resolved, or failed: route the request again.
  void RouteReady();

 private:
  enum class TimerPurpose : uint8_t {
    kNone,
    kIdle,        // keep-alive idle (idle_ms): close quietly
    kHeaderRead,  // request head incomplete (request_ms): 408
    kExchange,    // the exchange's (it chose the deadline)
  };

  // StreamHandler (the client socket).
  void OnConnected(net::Stream* stream) override;
  void OnData(net::Stream* stream, std::string_view data) override;
  void OnEof(net::Stream* stream) override;
  void OnError(net::Stream* stream, int error) override;
  void OnSendDrained(net::Stream* stream) override;
  void OnReadStopped(net::Stream* stream) override;

  // Exchange::Owner.
  void OnExchangeDone(Exchange* exchange, Exchange::Next next) override;
  void OnRequestBodyWanted() override { feed_task_.Post(); }

  // Parses the next request head from in_ and starts its exchange.
  void ProcessHead();
  // Passes buffered bytes to the exchange that reads its body (or tunnel).
  void FeedExchange();
  // `service`: this port's, or on the egress listener the one a request names.
  void NewExchange(ShardService& service);
  void FillTlsInfo();
  void OnTimer();
  void ArmTimer(TimerPurpose purpose, uint32_t ms);
  // Sends what is queued, then closes.
  void CloseGracefully();
  void Destroy();

  ShardProxy* shard_;
  ShardService* service_;
  net::Stream* client_;
  std::string client_ip_;
  core::Timer timer_;
  TimerPurpose timer_purpose_ = TimerPurpose::kNone;
  core::DeferredTask next_task_;  // after an exchange: the next request
  core::DeferredTask feed_task_;  // the exchange wants the buffered bytes
  std::string in_;                // client bytes not yet consumed
  http::RequestHead head_;        // parse output (views into in_), reused
  Exchange* exchange_ = nullptr;
  // The config the current exchange runs with (exchanges hold a plain
  // pointer: no atomic reference count per request), and the one before,
  // which a finished exchange waiting for deletion may still point to.
  std::shared_ptr<const ServiceConfig> config_pin_;
  std::shared_ptr<const ServiceConfig> retired_pin_;
  ExchangeBuffers buffers_;  // lent to each exchange in turn
  // With TLS: what the handshake settled, filled before the first exchange.
  std::unique_ptr<filters::ConnectionTls> tls_info_;
  bool client_eof_ = false;   // the client half-closed: answer what it sent, then close
  bool close_after_ = false;  // draining: close after the current exchange
  bool closed_ = false;
  // Waiting for the egress destination of the parsed head to resolve (the
  // head stays in in_, reading pauses past kMaxPipelined).
  std::string route_key_;
};

}  // namespace icaht::proxy
