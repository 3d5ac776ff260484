#include "proxy/circuit_breaker.h"

#include "core/check.h"

namespace icaht::proxy {
namespace {

uint32_t Share(uint32_t limit, size_t shards) {
  return static_cast<uint32_t>((uint64_t{limit} + shards - 1) / shards);
}

}  // namespace

void CircuitBreaker::SetLimits(const filters::CircuitBreakerSpec& service, size_t shards) {
  ICAHT_CHECK(shards >= 1);
  enabled_ = true;
  limits_.max_connections = Share(service.max_connections, shards);
  // Zero stays zero: nobody waits.
  limits_.max_pending = Share(service.max_pending, shards);
  limits_.max_requests = Share(service.max_requests, shards);
  limits_.max_retries = Share(service.max_retries, shards);
}

void CircuitBreaker::Disable() { enabled_ = false; }

bool CircuitBreaker::AdmitRequest() {
  if (enabled_ && requests_ >= limits_.max_requests) return false;
  ++requests_;
  return true;
}

void CircuitBreaker::EndRequest() {
  ICAHT_CHECK(requests_ > 0);
  --requests_;
}

CircuitBreaker::Slot CircuitBreaker::AcquireConnection(Waiter* waiter) {
  ICAHT_CHECK(!waiter->queued_);
  // First come first served: nobody overtakes a waiter.
  if (head_ == nullptr && (!enabled_ || connections_ < limits_.max_connections)) {
    ++connections_;
    return Slot::kGranted;
  }
  if (enabled_ && pending_ >= limits_.max_pending) return Slot::kRefused;
  waiter->queued_ = true;
  waiter->prev_ = tail_;
  waiter->next_ = nullptr;
  (tail_ != nullptr ? tail_->next_ : head_) = waiter;
  tail_ = waiter;
  ++pending_;
  return Slot::kQueued;
}

CircuitBreaker::Waiter* CircuitBreaker::ReleaseConnection() {
  ICAHT_CHECK(connections_ > 0);
  --connections_;
  return GrantNext();
}

CircuitBreaker::Waiter* CircuitBreaker::GrantNext() {
  if (head_ == nullptr || (enabled_ && connections_ >= limits_.max_connections)) return nullptr;
  Waiter* waiter = head_;
  CancelWait(waiter);
  ++connections_;
  return waiter;
}

void CircuitBreaker::CancelWait(Waiter* waiter) {
  if (!waiter->queued_) return;
  (waiter->prev_ != nullptr ? waiter->prev_->next_ : head_) = waiter->next_;
  (waiter->next_ != nullptr ? waiter->next_->prev_ : tail_) = waiter->prev_;
  waiter->prev_ = waiter->next_ = nullptr;
  waiter->queued_ = false;
  --pending_;
}

}  // namespace icaht::proxy
