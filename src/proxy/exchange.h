#pragma once
// One request and its response on a client connection: the request path top
// to bottom (exchange.cc reads in that order). Owns the RequestContext, the
// upstream attempt (UpstreamCall), one BodyForwarder per direction and, after
// a 101, the Tunnel. Every way it ends goes through Finish(outcome), which
// runs the log phase once and tells the connection what to do next.
//
// Shard-owned. Created by an HttpConnection per request and deleted through
// core::DeferDelete after it reported its end, so no call here has to be a
// tail call; after Finish it makes no further calls and ignores events.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/deferred.h"
#include "core/recycled.h"
#include "core/timer_queue.h"
#include "filters/filter.h"
#include "filters/request_context.h"
#include "net/stream.h"
#include "proxy/body_forwarder.h"
#include "proxy/circuit_breaker.h"
#include "proxy/header_rewrite.h"
#include "proxy/service_config.h"
#include "proxy/shard_proxy.h"
#include "proxy/tunnel.h"
#include "proxy/upstream_call.h"

namespace icaht::proxy {

class ShardProxy;
struct ShardService;

// What an exchange borrows from its connection and gives back when it ends,
// used in place (one exchange runs at a time per connection, and a finished
// one touches none of it): a warm keep-alive connection allocates nothing per
// request, and the exchange itself stays small.
struct ExchangeBuffers {
  filters::RequestContext context;
  std::string upstream_head;
  std::string request_body;  // a request body kept for a retry to send again
  std::string response_in;   // the upstream's response head bytes, then its parse
  http::ResponseHead response;
};

class Exchange final : public core::DeferredDeletable,
                       public core::Recycled<Exchange>,
                       private filters::FilterCallbacks,
                       private UpstreamCall::Handler,
                       private BodyForwarder::Callbacks,
                       private CircuitBreaker::Waiter,
                       private Tunnel::Owner {
 public:
  // What the client connection does after the exchange.
  enum class Next : uint8_t {
    kKeepAlive,  // read the next request
    kClose,      // an answer was queued: send it, then close
    kAbort,      // cut: close at once (a response was cut short, or the client is gone)
  };
  class Owner {
   public:
    virtual void OnExchangeDone(Exchange* exchange, Next next) = 0;
    // The exchange reads the request body now: feed it what is buffered
    // (from a posted task, not from inside this call).
    virtual void OnRequestBodyWanted() = 0;

   protected:
    ~Owner() = default;
  };

  // `timer` is the connection's (one timer per connection, re-armed lazily:
  // no timer-queue insert or erase per request); while the exchange runs, the
  // connection hands its expiries to OnTimer().
  // `buffers` (the connection's) are lent until Finish. The owner keeps
  // `service.config` alive until the exchange is deleted.
  Exchange(ShardProxy& shard, ShardService& service, net::Stream* client, Owner* owner,
           std::string_view client_ip, const filters::ConnectionTls* tls, core::Timer* timer,
           ExchangeBuffers* buffers);
  ~Exchange() override;

  // A parsed request, its head viewing `input`. `close_after`: the connection
  // closes after this exchange whatever the request says.
  void Start(const http::RequestHead& head, std::string_view input, bool close_after);
  // A request that never became one (malformed head, head timeout): answer
  // `error` and close.
  void StartWithError(const filters::ProxyError& error);
  // A request on the egress listener, routed (exchange_egress.cc): to
  // `route.service` with route.config, its target (and for an external host,
  // Host) rewritten and the routing headers removed; or answered with the
  // route's refusal. Counted in the route's egress series, not the service's.
  void StartEgress(const http::RequestHead& head, std::string_view input, bool close_after,
                   EgressRoute& route);

  // Client events, routed by the connection.
  bool wants_client_data() const;
  // Returns how much belongs to this exchange; the rest is the connection's.
  size_t OnClientData(std::string_view data);
  // The client's input ended while this exchange still reads it.
  void OnClientEof();
  void OnClientDrained();
  void OnClientReadStopped();
  // The connection is going away (client error, drain deadline).
  void Abort(filters::ErrorKind kind);

  void OnTimer();

 private:
  enum class TimerPurpose : uint8_t {
    kNone,
    kRequestBody,   // request body inactivity (request_ms)
    kResponseHead,  // filters paused or upstream silent (request_ms deadline) -> 504
    kResponseBody,  // response body inactivity (request_ms) -> cut
    kTunnelIdle,    // tunnel inactivity (idle_ms) -> close
    kRetryBackoff,  // waiting before the next attempt (retries.backoff_*)
  };

  // Request phase: the head is in ctx_.
  void Begin(bool close_after);
  // The total deadline from the exchange's start: `total_ms` (0: none), or
  // with `trust_header` the client's x-icaht-timeout-ms.
  void SetTotalDeadline(uint64_t total_ms, bool trust_header);
  // Traffic splitting (exchange_route.cc), once, after the request filters:
  // the first route that takes the request sets the subset, its timeouts,
  // retries and path rewrite (into `rewrite`); false when its direct
  // response answered the request.
  bool SelectRoute(TargetRewrite* rewrite);
  void RunRequestFilters();
  // Through the circuit breakers (if any), then SendRequest.
  void Forward();
  void OnConnectionSlot() override;
  // A circuit breaker connection slot: true when held (or no breakers);
  // false when queued (OnConnectionSlot follows) or refused (answered).
  bool TakeSlot();
  bool HoldsBody() const;
  // A held body, complete: the head and it to an instance.
  void SendHeldRequest();
  // The head to an instance, and the body after it.
  void SendRequest();
  // A circuit breaker's 503 (x-icaht-overloaded: true).
  void Overloaded(filters::RequestContext::Overflow reason, const char* detail);
  bool Connect(int skip, std::string_view first_bytes);
  void RequestDone();
  // FilterCallbacks.
  void Resume() override;
  void RespondLocally() override;

  // UpstreamCall::Handler.
  void OnUpstreamConnected() override;
  void OnInterimResponse(const http::ResponseHead& head) override;
  void OnResponseHead(const http::ResponseHead& head, std::string_view rest) override;
  void OnUpstreamData(std::string_view data) override;
  void OnUpstreamEof() override;
  void OnUpstreamFailed(const filters::ProxyError& error) override;
  void OnUpstreamDrained() override;
  void OnUpstreamReadStopped() override;
  // The attempt's outcome for outlier detection (with outlier_detection).
  void ReportAttempt(ShardService::AttemptResult result);
  // The built-in retry (no `retries` in the record): a failed connect or a
  // pooled connection closed unanswered, up to 3 attempts, no backoff.
  bool Retry(const filters::ProxyError& error);
  // With the record's `retries`: true when another attempt was made or is
  // waiting out its backoff (the current call is retired either way).
  bool RetryByPolicy(const filters::AttemptEnd& end);
  // The next attempt after a backoff.
  void StartRetry();
  // Retires the call and sends `bytes` (what it had not sent, or the head) to
  // another instance at once; a body still streaming in follows it.
  void RetryNow(std::string bytes);
  // The instance a retry avoids: the last one, if there is another.
  int LastInstance() const;
  // The instances this exchange may go to: its subset's, else all.
  size_t Candidates() const {
    return subset_ >= 0 ? config_->route_table->SubsetInstances(subset_).size()
                        : config_->upstreams.size();
  }
  // The response head's deadline for this attempt: request_ms, or the
  // per-try timeout, within what is left of the retries' shared deadline.
  uint32_t ResponseHeadTimeoutMs() const;
  int64_t RetryDeadlineNs() const;
  bool reading_body() const { return request_body_ != nullptr && request_body_->active(); }
  // Everything of the request body sent so far can be sent again (kept in
  // replay_body_, or held whole in upstream_head_).
  bool body_replayable() const { return request_body_ != nullptr && request_body_->kept_whole(); }

  // BodyForwarder::Callbacks (both directions).
  void OnBodyDone(BodyForwarder* body) override;
  void OnBodyFailed(BodyForwarder* body, BodyForwarder::Failure failure) override;
  void ResponseDone();
  // The response phase over the upstream's head, then the head into the
  // client's send queue.
  void WriteResponseHead(const http::ResponseHead& head, bool keep_alive, bool chunk_encode);

  // Tunnel.
  void StartTunnel(const http::ResponseHead& head, std::string_view rest);
  void OnTunnelClosed(bool clean) override;

  // Endings.
  // `fields`: a filter's local answer's own (LocalResponse::fields).
  void SendLocal(int status, std::string_view content_type, std::string_view body,
                 const std::vector<http::Header>* fields = nullptr);
  void Fail(const filters::ProxyError& error);
  // The cache filter answers instead of the upstream (`head`, or a failure
  // in ctx_.error when null): true when it did and the exchange is over.
  bool AnsweredFromCache(const http::ResponseHead* head);
  // The cache filter marked the upstream's answer for storing: its body is
  // kept as it passes, and handed to the filter once it passed whole.
  void KeepBodyForCache(BodyForwarder::Options* body);
  void StoreKeptBody();
  void Finish(filters::Outcome outcome, Next next);
  void RecordEgress();
  void RetireCall(bool reusable);
  // The hashing policies' key for this request (hash_on), if it has one.
  std::optional<uint64_t> BalanceHash() const;

  void ArmTimer(TimerPurpose purpose, uint32_t ms);
  // Arms the timer for `at_ns`, or the total deadline if that comes first
  // (a tunnel has none).
  void ArmTimerAt(int64_t at_ns);
  // For an inactivity purpose: true if it expired, else the timer is re-armed.
  bool InactiveFor(uint32_t ms, int64_t last_progress_ns);
  // At a request timer's expiry: the upstream acknowledged request bytes
  // since the last look (one getsockopt; a stall is declared within two
  // periods at most). Taking the last of them counts once: the response's
  // deadline then runs a whole period from this look, not from the one before.
  bool UpstreamStillReading();
  static constexpr uint64_t kAckedUnknown = UINT64_MAX;
  static constexpr uint64_t kAckedDelivered = UINT64_MAX - 1;

  ShardProxy& shard_;
  ShardService& service_;
  net::Stream* client_;
  Owner* owner_;
  // The config this exchange started with: the service's at the time, kept
  // alive by the owner (HttpConnection's pin; no reference count touched per
  // request), or an egress route's, owned here.
  const ServiceConfig* config_;
  std::shared_ptr<const ServiceConfig> route_config_;
  // config_'s filter chain (built at the config's first exchange on the shard).
  const filters::FilterChain& Chain() { return service_.ChainFor(*config_); }
  filters::RequestContext& ctx_;  // the connection's, Reset() for this exchange
  core::Timer* timer_;
  TimerPurpose timer_purpose_ = TimerPurpose::kNone;
  // timeouts.total_ms (or a trusted x-icaht-timeout-ms) from the start; 0: none.
  int64_t total_deadline_ns_ = 0;
  // The config's timeouts and retries, or the route's (exchange_route.cc).
  uint32_t connect_timeout_ms_ = 1000;
  uint32_t request_timeout_ms_ = 15000;
  const filters::RetryPolicy* retries_ = nullptr;
  // Traffic splitting: the subset of the config's route table the request
  // goes to (-1: every instance).
  int subset_ = -1;
  size_t next_filter_ = 0;
  uint64_t upstream_acked_ = kAckedUnknown;
  bool paused_ = false;

  std::string& upstream_head_;  // kept until the response starts, for a retry
  std::string& replay_body_;    // the request body as sent, when kept for a retry
  std::string& response_in_;    // UpstreamCall's response head input
  http::ResponseHead& response_head_;
  UpstreamCall* call_ = nullptr;
  int active_index_ = -1;       // the instance call_ counts against (service_.upstream_active)
  bool counted_retry_ = false;  // in service_.retries_in_flight
  // Circuit breakers: admitted among the service's requests, and the state
  // of this exchange's connection slot (held from the first attempt to the end).
  enum class SlotState : uint8_t { kNone, kQueued, kHeld };
  SlotState slot_ = SlotState::kNone;
  bool admitted_ = false;
  uint64_t tried_ = 0;  // instances (index < 64) attempted
  filters::RetryVerdict last_verdict_ = filters::RetryVerdict::kNotRetryable;
  // Only requests with a body have one (keeps the exchange small: it is
  // allocated per request).
  std::unique_ptr<BodyForwarder> request_body_;
  BodyForwarder response_body_;
  std::unique_ptr<Tunnel> tunnel_;
  metrics::EgressPair* egress_metrics_ = nullptr;  // an egress exchange's series

  bool has_request_body_ = false;
  bool request_done_ = false;
  bool mirror_pending_ = false;    // sampled by the mirror, not copied yet
  bool response_started_ = false;  // bytes of an answer are queued for the client
  bool response_keep_alive_ = true;
  bool close_after_ = false;  // the connection closes after this exchange
  size_t head_mark_ = 0;      // client send queue before the response head
  bool head_retractable_ = false;
  bool finished_ = false;
};

}  // namespace icaht::proxy
