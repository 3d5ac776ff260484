#pragma once
// A service's circuit breakers on one shard (the record's circuit_breaker;
// Envoy's cluster thresholds): concurrency limits that answer 503 at once
// instead of letting a struggling service's queue grow without bound.
//
//   requests     exchanges past the filters that want the upstream (waiting
//                for a connection, or holding one) <= max_requests
//   connections  exchanges holding an upstream connection slot (HTTP/1.1:
//                one connection per request in flight, from the first attempt
//                to the end of the response, retries included) <= max_connections
//   pending      exchanges queued for a slot, first come first served
//                <= max_pending (0: none wait, over the limit is refused)
//   retries      retries in flight <= max_retries (ShardService counts them)
//
// The record's limits are for the service; each shard enforces its share,
// the limit divided by the shard count and rounded up (SO_REUSEPORT spreads
// connections, so the shares fill about evenly).
//
// Shard-owned (one per ShardService, kept across config swaps: the counts
// are about live exchanges, whichever config they started with).

#include <cstddef>
#include <cstdint>

#include "filters/upstream_policy.h"

namespace icaht::proxy {

class CircuitBreaker {
 public:
  // An exchange queued for a connection slot. Intrusive: a waiter is in the
  // breaker's queue or not, and costs the breaker no allocation.
  class Waiter {
   public:
    // The slot is the waiter's now (it is counted in connections).
    virtual void OnConnectionSlot() = 0;

   protected:
    ~Waiter() = default;

   private:
    friend class CircuitBreaker;
    Waiter* prev_ = nullptr;
    Waiter* next_ = nullptr;
    bool queued_ = false;
  };

  // The limits this shard enforces: `service`'s divided by `shards`.
  void SetLimits(const filters::CircuitBreakerSpec& service, size_t shards);
  // No limits (the record has none); the counts go on.
  void Disable();
  bool enabled() const { return enabled_; }
  const filters::CircuitBreakerSpec& limits() const { return limits_; }

  // A request that wants the upstream: false (overflow kRequests) when
  // max_requests are in already. Each admitted one calls EndRequest once.
  bool AdmitRequest();
  void EndRequest();

  enum class Slot : uint8_t { kGranted, kQueued, kRefused };
  // A connection slot for `waiter`: granted now, or queued (OnConnectionSlot
  // comes later, from ReleaseConnection), or refused (the queue is full).
  Slot AcquireConnection(Waiter* waiter);
  // Gives a slot back. When someone waits, the slot passes to the first in
  // line, returned here for the caller to notify (not from inside this call:
  // the releasing exchange is on the stack); nullptr when nobody waits.
  Waiter* ReleaseConnection();
  // A queued waiter that gives up (its exchange ended).
  void CancelWait(Waiter* waiter);
  // The first waiter, given a slot if the limits (new ones, or none) allow
  // one now; nullptr otherwise. After SetLimits, call until nullptr.
  Waiter* GrantNext();

  // Whether one more retry may start while `in_flight` run.
  bool AdmitRetry(uint32_t in_flight) const { return !enabled_ || in_flight < limits_.max_retries; }

  uint32_t requests() const { return requests_; }
  uint32_t connections() const { return connections_; }
  uint32_t pending() const { return pending_; }

 private:
  bool enabled_ = false;
  filters::CircuitBreakerSpec limits_;
  uint32_t requests_ = 0;
  uint32_t connections_ = 0;
  uint32_t pending_ = 0;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace icaht::proxy
