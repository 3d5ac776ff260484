#pragma once
// Calls a filter makes to another HTTP service while it holds an exchange
// paused (forward auth asks an auth service), and the copies the proxy's
// mirror sends (proxy/mirror.h). Filters never see sockets or rings: the
// shard implements SideCalls over its own ring (proxy::ShardProxy with
// proxy::HttpClientCall); unit tests bring a fake.
//
// Shard-owned: Start, Cancel and `done` all run on the shard's thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "http/client_response.h"
#include "http/message.h"
#include "net/address.h"

namespace icaht::filters {

struct SideCallRequest {
  net::Address address;
  // The whole request as sent: a head that says "Connection: close" (one
  // request per connection), then the body its head frames, if any.
  std::string bytes;
  // The request's method: it decides the response's framing (HEAD).
  http::Method method = http::Method::kGet;
  uint32_t timeout_ms = 1000;  // connect + request + whole response
  size_t max_body_bytes = 64 * 1024;
  // The response body is read to its end but not kept (ClientResponse::body
  // stays empty) and max_body_bytes does not apply: a mirror's copy.
  bool discard_body = false;
};

// A call in flight, until its `done` runs.
class SideCall {
 public:
  // No `done` after this. Only while the call is in flight (before `done`).
  virtual void Cancel() = 0;

 protected:
  ~SideCall() = default;
};

class SideCalls {
 public:
  // Errors: Unavailable (refused, unreachable, closed early), DeadlineExceeded
  // (timeout_ms passed), DataLoss (malformed answer), ResourceExhausted (body
  // over max_body_bytes, no socket).
  using Done = std::function<void(absl::StatusOr<http::ClientResponse>)>;

  // Starts a call. `done` runs exactly once, later (never inside Start),
  // unless the returned call is cancelled first.
  virtual SideCall* StartSideCall(SideCallRequest request, Done done) = 0;

 protected:
  ~SideCalls() = default;
};

}  // namespace icaht::filters
