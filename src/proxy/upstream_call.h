#pragma once
// One attempt at the upstream: a pooled (or new) connection to one instance,
// the request bytes the exchange queues on it, and the response head read
// back. It ends with a response head or a ProxyError; after the head it
// passes the upstream's events on (body bytes, EOF, drain) to its handler.
//
// Shard-owned, owned by an Exchange, which retires it with Release() and
// hands it to core::DeferDelete (a call may end inside its own callback).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/deferred.h"
#include "core/recycled.h"
#include "filters/proxy_error.h"
#include "http/message.h"
#include "net/address.h"
#include "net/stream.h"
#include "net/tls_context.h"

namespace icaht::proxy {

class ShardProxy;

class UpstreamCall final : public core::DeferredDeletable,
                           public core::Recycled<UpstreamCall>,
                           private net::StreamHandler {
 public:
  class Handler {
   public:
    virtual void OnUpstreamConnected() = 0;
    // A 1xx other than 101 (more heads follow).
    virtual void OnInterimResponse(const http::ResponseHead& head) = 0;
    // The final head (or a 101); `head` and `rest` (bytes after the head)
    // are valid during the call only.
    virtual void OnResponseHead(const http::ResponseHead& head, std::string_view rest) = 0;
    // After the head: body bytes, the upstream's EOF, failures.
    virtual void OnUpstreamData(std::string_view data) = 0;
    virtual void OnUpstreamEof() = 0;
    // Before the head: the attempt failed (retryable says whether nothing of
    // the request can have been acted on). After it: kResponseCut.
    virtual void OnUpstreamFailed(const filters::ProxyError& error) = 0;
    virtual void OnUpstreamDrained() = 0;
    virtual void OnUpstreamReadStopped() = 0;

   protected:
    ~Handler() = default;
  };

  // `head_in` and `head` are the exchange's (reused across attempts and,
  // through the connection, across requests); used until the head is handed
  // over or the call is released.
  UpstreamCall(ShardProxy& shard, Handler* handler, http::Method method, const http::Limits& limits,
               std::string* head_in, http::ResponseHead* head)
      : shard_(shard),
        handler_(handler),
        method_(method),
        limits_(limits),
        head_in_(*head_in),
        head_(*head) {
    head_in_.clear();
  }

  // Takes an idle pooled connection to `address` or starts connecting a new
  // one. False when no socket could be opened (then nothing else happens).
  // With `tls`, the connection speaks TLS, verifying (when the context does)
  // `server_name`, also sent as SNI; a failed handshake is kUpstreamTls.
  // `tls_client`: the answer goes to a TLS client (a new connection then
  // receives into ShardProxy::upstream_bufs(true)).
  bool Start(const net::Address& address, uint32_t connect_timeout_ms,
             const std::shared_ptr<const net::TlsClientContext>& tls = nullptr,
             const std::string& server_name = "", bool tls_client = false);
  net::Stream* stream() const { return stream_; }
  bool reused() const { return reused_; }
  bool head_received() const { return state_ != State::kHead; }
  // The connection must not be pooled again (bytes nobody asked for, a
  // response cut short, an upgrade).
  void MarkDirty() { dirty_ = true; }
  // Everything queued but not yet sent (after a failed connect: all of it).
  std::string TakeUnsent() { return stream_->TakeUnsent(); }
  // Ends the call: the connection goes back to the pool when `reusable` and
  // nothing made it dirty, else it is closed. No handler call after this.
  void Release(bool reusable);
  // Ends a tunnel: what is queued is sent, then the connection closes.
  void CloseGracefully();

 private:
  enum class State : uint8_t { kHead, kBody, kReleased };
  void OnData(net::Stream* stream, std::string_view data) override;
  void OnEof(net::Stream* stream) override;
  void OnError(net::Stream* stream, int error) override;
  void OnConnected(net::Stream* stream) override;
  void OnSendDrained(net::Stream* stream) override;
  void OnReadStopped(net::Stream* stream) override;
  // Parses `data`: head_in_, or (in_place) a receive buffer whose head is
  // copied to head_in_ once complete (and the whole of it when incomplete).
  void ParseHead(std::string_view data, bool in_place);
  // Moves head_'s views from the bytes at `from` to the same bytes at `to`.
  void RebaseViews(const char* from, const char* to);
  void FailBeforeHead(int error);

  ShardProxy& shard_;
  Handler* handler_;
  http::Method method_;
  http::Limits limits_;
  net::Stream* stream_ = nullptr;
  State state_ = State::kHead;
  bool reused_ = false;
  bool dirty_ = false;
  std::string& head_in_;  // response bytes until the head is complete
  http::ResponseHead& head_;
};

}  // namespace icaht::proxy
