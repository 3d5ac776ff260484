#pragma once
// The filter contract (Envoy's FilterStatus, Pingora's ProxyHttp phases, kept
// small). A filter sees its own service's configuration and the exchange's
// RequestContext; never a socket, the registry or another service.
//
//   request phase   in chain order; each filter answers kContinue, kRespond
//                   (ctx.local_response is the answer) or kPause (resume later
//                   through FilterCallbacks, e.g. after a cross-shard lookup)
//   response phase  in reverse order, for every answer the client gets (the
//                   upstream's, a filter's, or an error): add or remove headers
//   log phase       once per exchange, on every way it ends
//
// Filters are built once per service config per shard (factories in
// filter_chain.cc) and shared by all that config's exchanges, so per-request
// state lives in the RequestContext. Shard-owned: no locks, no atomics.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "filters/request_context.h"
#include "net/address.h"

namespace icaht::filters {

enum class Verdict : uint8_t { kContinue, kRespond, kPause };

// How a filter that paused an exchange resumes it. Valid until the filter
// calls one of these, or until its OnCancel for that exchange.
class FilterCallbacks {
 public:
  // Goes on with the next filter.
  virtual void Resume() = 0;
  // Answers with ctx.local_response (which the filter has filled in).
  virtual void RespondLocally() = 0;

 protected:
  ~FilterCallbacks() = default;
};

// Read-only state of the filter's service on this shard (for health and
// readiness answers). Implemented by the proxy; valid while the chain lives.
class ServiceView {
 public:
  virtual bool draining() const = 0;
  virtual size_t upstream_count() const = 0;
  virtual std::string upstream_address(size_t i) const = 0;
  // False after a connect to it failed and before one succeeded again.
  virtual bool upstream_usable(size_t i) const = 0;
  // Out of the rotation by outlier detection (passive health).
  virtual bool upstream_ejected_now(size_t i) const { return false; }
  // The instance's address when it speaks plain HTTP (nullptr with TLS), for
  // a filter's own calls to it (the cache's background revalidation).
  virtual const net::Address* plain_upstream(size_t i) const { return nullptr; }
  // The response cache's invalidation after an unsafe method: these primary
  // keys go from the service's stores on the other shards too (this shard's
  // already went), before any request those shards read later.
  virtual void InvalidateCacheElsewhere(const std::vector<std::string>& keys) const {}
  // The store changed outside an exchange (a background refresh): its
  // gauges are published again.
  virtual void CacheChanged() const {}

 protected:
  ~ServiceView() = default;
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;
  virtual Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) {
    return Verdict::kContinue;
  }
  virtual void OnResponseHead(RequestContext& ctx) {}
  // Only for exchanges that ask for them (RequestContext::cache.consult):
  // the upstream answered with `status` (ctx.upstream_response is its head);
  // kRespond answers ctx.local_response instead, the upstream's is dropped.
  virtual Verdict OnUpstreamResponse(RequestContext& ctx, int status) { return Verdict::kContinue; }
  // ...and the upstream's answer was forwarded whole.
  virtual void OnResponseComplete(RequestContext& ctx) {}
  virtual void OnLog(const RequestContext& ctx) {}
  // The exchange ended while this filter held it paused: forget `callbacks`.
  virtual void OnCancel(RequestContext& ctx) {}
};

}  // namespace icaht::filters
