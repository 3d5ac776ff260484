#pragma once
// A small HTTP/1.1 client for the daemon's own calls: active health checks
// and key-set fetches (control thread), forward-auth checks and mirror copies
// (shards, as side calls: filters::SideCalls). One request per call on a new
// connection ("Connection: close"), one deadline for connect + whole
// response, a bounded body, the strict response parser. Runs on the calling
// thread's ring; never blocks. A streaming mode (ClientCallSpec::on_body)
// hands the body over as it arrives, for answers that do not end (an etcd
// watch).
//
//   HttpClientCall::Start(ring, bufs, std::move(spec),
//                         [](absl::StatusOr<http::ClientResponse> r) {...});

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/buf_ring.h"
#include "core/deferred.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "filters/side_call.h"
#include "http/chunked.h"
#include "http/client_response.h"
#include "http/message.h"
#include "net/address.h"
#include "net/stream.h"
#include "net/tls_context.h"

namespace icaht::proxy {

struct ClientCallSpec {
  net::Address address;
  http::Method method = http::Method::kGet;  // decides the response's framing (HEAD)
  // The whole request as sent: head (which should say "Connection: close")
  // and body. BuildClientRequest writes the usual one.
  std::string request;
  uint32_t timeout_ms = 1000;           // connect + request + whole response
  size_t max_body_bytes = 1024 * 1024;  // a longer body fails the call
  // The body is read to its end (framing checked) but not kept, and
  // max_body_bytes does not apply.
  bool discard_body = false;
  // Streaming: when set, the body is not kept (max_body_bytes and
  // discard_body do not apply): each piece of it, decoded from its framing,
  // goes to `on_body` as it arrives, with the response's status and headers
  // (`head.body` empty). `timeout_ms` then covers only connect, request and
  // response head; the body may take as long as it takes (the caller ends it
  // with Cancel(), which on_body may call). `done` runs when the body ended,
  // with the head, or on an error.
  std::function<void(const http::ClientResponse& head, std::string_view data)> on_body;
  http::Limits limits;  // for the response head
  // With a context: over TLS, verifying `server_name` (also the SNI).
  std::shared_ptr<const net::TlsClientContext> tls;
  std::string server_name;
};

// "GET /path HTTP/1.1\r\nHost: host\r\nConnection: close\r\n" + `extra`
// (complete "Name: value\r\n" lines) + "\r\n".
std::string BuildClientRequest(std::string_view method, std::string_view target,
                               std::string_view host, std::string_view extra = {});

class HttpClientCall final : public core::DeferredDeletable,
                             public filters::SideCall,
                             private net::StreamHandler {
 public:
  // Errors: Unavailable (connect refused or failed, connection closed early),
  // DeadlineExceeded (timeout), DataLoss (malformed response),
  // ResourceExhausted (body over the limit, no socket).
  using Done = std::function<void(absl::StatusOr<http::ClientResponse>)>;

  // Starts the call. `done` runs exactly once, never inside Start, unless
  // Cancel() comes first. The call deletes itself after `done`.
  static HttpClientCall* Start(core::Ring& ring, core::BufRing& bufs, ClientCallSpec spec,
                               Done done);
  // No `done` after this; the connection is closed. Only before `done` ran.
  void Cancel() override;

 private:
  HttpClientCall(core::Ring& ring, ClientCallSpec spec, Done done);
  ~HttpClientCall() override = default;

  void OnData(net::Stream* stream, std::string_view data) override;
  void OnEof(net::Stream* stream) override;
  void OnError(net::Stream* stream, int error) override;
  void OnConnected(net::Stream* stream) override;

  void ParseHead();
  void TakeBody(std::string_view data);
  void KeepBody(std::string_view data);
  bool BodyOverLimit() const {
    return !spec_.discard_body && !spec_.on_body && response_.body.size() > spec_.max_body_bytes;
  }
  void Finish(absl::StatusOr<http::ClientResponse> result);

  core::Ring& ring_;
  ClientCallSpec spec_;
  Done done_;
  net::Stream* stream_ = nullptr;
  core::Timer timer_;
  core::DeferredTask fail_task_;  // reports a failure found inside Start
  absl::Status start_error_;
  std::string in_;  // bytes of the response head until it parses
  bool head_done_ = false;
  http::BodyFraming framing_ = http::BodyFraming::kNone;
  uint64_t remaining_ = 0;  // Content-Length bytes still to come
  http::ChunkedDecoder chunked_;
  http::ClientResponse response_;
  bool finished_ = false;
};

}  // namespace icaht::proxy
