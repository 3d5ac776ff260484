#pragma once
// Forward auth (`auth.forward`; Traefik's ForwardAuth, Envoy's ext_authz):
// every request that is not on a public endpoint is put to an auth service
// before it goes upstream. Placed right after the auth filter, so it runs
// once a JWT or API key passed, and knows ctx.public_endpoint.
//
//   request  fields named in copy_response_headers are removed from what the
//            client sent (always, so a client can never forge them); then
//            "GET <path>" goes to the auth service with X-Forwarded-Method,
//            -Uri (the target as received), -Host, -Proto ("http"), -For (the
//            client's address), the client's copy_request_headers fields and
//            "Connection: close"; the exchange pauses, the shard goes on.
//   2xx      the answer's copy_response_headers fields are added to the
//            upstream request, and the chain goes on.
//   3xx-5xx  the client gets the auth service's answer: its status, body,
//            Content-Type, WWW-Authenticate, Location and Set-Cookie
//            (counted in denials(); ctx.auth_failure kForwardDenied).
//   failure  no complete answer within timeout_ms, a refused connect, a
//            malformed answer, a body over 64 KiB or a status outside
//            200-599: 503 (fail closed), counted in failures()
//            (ctx.auth_failure kForwardUnavailable).
//
// Lifetimes: a call in flight is cancelled when its exchange ends without it
// (OnCancel), so its callback never sees a freed exchange; and the filter
// outlives its calls, since an exchange holds the config (and so the chain)
// it started with until it ends, even when the service is re-registered.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "filters/auth.h"
#include "filters/auth_spec.h"
#include "filters/filter.h"
#include "filters/side_call.h"

namespace icaht::filters {

class ForwardAuthFilter final : public Filter {
 public:
  // `calls` (the shard's) must outlive the filter.
  ForwardAuthFilter(const ForwardAuthSpec& spec, SideCalls* calls);
  static bool Enabled(const AuthSpec& auth) { return auth.forward.enabled; }

  std::string_view name() const override { return "forward_auth"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnCancel(RequestContext& ctx) override;

  // The largest auth service answer body taken (a refusal's body is passed on).
  static constexpr size_t kMaxAnswerBytes = 64 * 1024;

  uint64_t failures() const { return failures_; }  // answered 503: the auth service failed
  uint64_t denials() const { return denials_; }    // the auth service's refusals passed on

 private:
  // The request to the auth service into `out`; false if a value would break
  // its framing (CR, LF or NUL: never from our parser, checked all the same,
  // since an injected field would be an auth bypass).
  bool BuildRequest(const RequestContext& ctx, std::string* out) const;
  void OnAnswer(RequestContext& ctx, FilterCallbacks& callbacks,
                absl::StatusOr<http::ClientResponse> answer);
  // The 503 of a failed check, in ctx.local_response.
  void FailClosed(RequestContext& ctx, absl::string_view why);
  // The auth service's refusal, in ctx.local_response (views into ctx.forward_auth).
  void PassRefusal(RequestContext& ctx, http::ClientResponse& answer);

  ForwardAuthSpec spec_;
  SideCalls* calls_;
  uint64_t failures_ = 0;
  uint64_t denials_ = 0;
};

}  // namespace icaht::filters
