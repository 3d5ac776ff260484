// The exchange's way to an instance and its retries (exchange.h): circuit
// breaker connection slots, the hashing policies' key, the built-in retry,
// the record's retry policy with its backoff and shared deadline.

#include "core/random.h"
#include "proxy/exchange.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {
namespace {

using filters::ErrorKind;
using filters::ProxyError;

double Random01() {
  thread_local core::FastRandom random = core::FastRandom::FromEntropy();
  return random.NextDouble();
}

}  // namespace

bool Exchange::HoldsBody() const {
  return ctx_.request().framing == http::BodyFraming::kChunked && config_->max_body_bytes != 0;
}

bool Exchange::TakeSlot() {
  if (!admitted_) return true;  // no breakers when the request came in
  switch (service_.breaker.AcquireConnection(this)) {
    case CircuitBreaker::Slot::kGranted:
      slot_ = SlotState::kHeld;
      return true;
    case CircuitBreaker::Slot::kQueued:
      // Waiting for a slot counts against the request's deadline.
      slot_ = SlotState::kQueued;
      service_.PublishBreakerGauges();
      ArmTimer(TimerPurpose::kResponseHead, request_timeout_ms_);
      return false;
    case CircuitBreaker::Slot::kRefused:
      Overloaded(filters::RequestContext::Overflow::kPending,
                 "too many requests waiting for a connection");
      return false;
  }
  return false;
}

void Exchange::OnConnectionSlot() {
  if (finished_) return;
  slot_ = SlotState::kHeld;
  if (request_body_ != nullptr && request_body_->done()) return SendHeldRequest();
  SendRequest();
}

void Exchange::SendHeldRequest() {
  if (!Connect(-1, upstream_head_)) return;
  RequestDone();
}

void Exchange::Overloaded(filters::RequestContext::Overflow reason, const char* detail) {
  ctx_.overflow = reason;
  Fail(MakeError(ErrorKind::kOverloaded, detail));
}

std::optional<uint64_t> Exchange::BalanceHash() const {
  std::string_view key;
  switch (config_->hash_on.kind) {
    case HashOn::Kind::kClientIp:
      key = ctx_.client_ip;
      break;
    case HashOn::Kind::kHeader:
      if (const http::Header* h = ctx_.FindRequestHeader(config_->hash_on.name)) key = h->value;
      break;
    case HashOn::Kind::kCookie:
      key = ctx_.FindCookie(config_->hash_on.name);
      break;
  }
  if (key.empty()) return std::nullopt;
  return StableHash(key);
}

uint32_t Exchange::ResponseHeadTimeoutMs() const {
  if (retries_ == nullptr) return request_timeout_ms_;
  uint32_t ms = request_timeout_ms_;
  if (retries_->per_try_timeout_ms != 0) {
    ms = std::min(retries_->per_try_timeout_ms, ms);
  }
  if (ctx_.attempts > 1) {
    // Retries share one deadline: request_ms from the first attempt.
    const int64_t left_ms = (RetryDeadlineNs() - core::LoopNowNs()) / 1'000'000;
    ms = static_cast<uint32_t>(std::clamp<int64_t>(left_ms, 1, ms));
  }
  return ms;
}

int64_t Exchange::RetryDeadlineNs() const {
  const int64_t deadline = ctx_.upstream_start_ns + int64_t{request_timeout_ms_} * 1'000'000;
  return total_deadline_ns_ != 0 ? std::min(deadline, total_deadline_ns_) : deadline;
}

bool Exchange::RetryByPolicy(const filters::AttemptEnd& end) {
  const uint32_t in_flight = service_.requests_in_flight;
  filters::RetryContext context{
      .method = ctx_.request().method_id,
      .has_body = has_request_body_,
      .body_replayable = body_replayable(),
      .attempts_made = ctx_.attempts,
      .instances = config_->upstreams.size(),
      .retries_in_flight = service_.retries_in_flight - (counted_retry_ ? 1 : 0),
      .requests_in_flight = in_flight};
  filters::RetryVerdict verdict = filters::DecideRetry(*retries_, end, context);
  last_verdict_ = verdict;
  if (verdict == filters::RetryVerdict::kBudgetExhausted) ctx_.retry_budget_exhausted = true;
  if (verdict != filters::RetryVerdict::kRetry) return false;
  if (!counted_retry_ && !service_.breaker.AdmitRetry(service_.retries_in_flight)) {
    ctx_.overflow = filters::RequestContext::Overflow::kRetries;
    return false;
  }
  // A body still streaming in (or one not kept, which only a failed connect
  // retries) goes to the next instance at once: what was sent, then the rest.
  const bool at_once = has_request_body_ && !(body_replayable() && request_done_);
  const int64_t backoff_ns = filters::RetryBackoffNs(*retries_, ctx_.attempts, Random01());
  // No retry that could not get an answer before the shared deadline.
  if (!at_once && core::LoopNowNs() + backoff_ns + 1'000'000 >= RetryDeadlineNs()) {
    return false;
  }
  if (!counted_retry_) {
    counted_retry_ = true;
    ++service_.retries_in_flight;
  }
  if (at_once) {
    RetryNow(body_replayable() ? upstream_head_ + replay_body_ : call_->TakeUnsent());
    return true;
  }
  RetireCall(false);
  if (backoff_ns < 1'000'000) {
    StartRetry();
  } else {
    ArmTimer(TimerPurpose::kRetryBackoff, static_cast<uint32_t>(backoff_ns / 1'000'000));
  }
  return true;
}

void Exchange::StartRetry() {
  // The head (with a held body), then a kept body.
  if (!Connect(LastInstance(), upstream_head_)) return;
  if (!replay_body_.empty()) call_->stream()->Send(replay_body_);
  RequestDone();
}

int Exchange::LastInstance() const {
  // Never the same instance twice in a row when another exists.
  return Candidates() > 1 ? ctx_.upstream_index : -1;
}

void Exchange::RetryNow(std::string bytes) {
  RetireCall(false);
  Connect(LastInstance(), bytes);  // a body still streaming follows (or answered 503)
}

bool Exchange::Retry(const ProxyError& error) {
  // A failed connect sent nothing; a pooled connection closed under a
  // bodiless request (the keep-alive race) did nothing either.
  bool connect_failed = !call_->stream()->connected();
  bool safe = error.retryable && (connect_failed || !has_request_body_);
  int max_attempts = std::min<int>(3, Candidates() + (call_->reused() ? 1 : 0));
  if (!safe || ctx_.attempts >= max_attempts) return false;
  // Circuit breakers bound these retries too.
  if (!counted_retry_) {
    if (!service_.breaker.AdmitRetry(service_.retries_in_flight)) {
      ctx_.overflow = filters::RequestContext::Overflow::kRetries;
      return false;
    }
    counted_retry_ = true;
    ++service_.retries_in_flight;
  }
  RetryNow(connect_failed ? call_->TakeUnsent() : upstream_head_);
  return true;
}

}  // namespace icaht::proxy
