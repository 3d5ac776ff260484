#include "tracing/span_queue.h"

#include <algorithm>
#include <limits>

#include "core/check.h"

namespace icaht::tracing {

SpanQueue::SpanQueue(SpanQueueOptions options, core::FastRandom rng)
    : options_(options), rng_(rng) {
  ICAHT_CHECK(options_.capacity > 0 && options_.batch_size > 0);
  ICAHT_CHECK(options_.initial_backoff_ns > 0 && options_.max_backoff_ns > 0);
}

void SpanQueue::Push(Span span, int64_t now_ns) {
  if (size() >= options_.capacity) {
    ++dropped_full_;
    return;
  }
  pending_.push_back({std::move(span), now_ns});
}

void SpanQueue::Push(std::vector<Span>&& spans, int64_t now_ns) {
  for (Span& span : spans) Push(std::move(span), now_ns);
  spans.clear();
}

std::optional<SpanQueue::Batch> SpanQueue::TakeBatchToSend(int64_t now_ns, bool flush) {
  switch (state_) {
    case State::kInFlight:
      return std::nullopt;
    case State::kBackoff:
      if (now_ns < retry_at_) return std::nullopt;
      state_ = State::kInFlight;
      return Batch{in_flight_, attempt_};
    case State::kIdle:
      break;
  }
  if (pending_.empty()) return std::nullopt;
  const bool full = pending_.size() >= options_.batch_size;
  if (!full && !flush && now_ns - pending_.front().pushed_at < options_.flush_interval_ns) {
    return std::nullopt;
  }
  const size_t n = std::min(pending_.size(), options_.batch_size);
  batch_oldest_ = pending_.front().pushed_at;
  in_flight_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    in_flight_.push_back(std::move(pending_.front().span));
    pending_.pop_front();
  }
  attempt_ = 0;
  state_ = State::kInFlight;
  return Batch{in_flight_, 0};
}

int64_t SpanQueue::Backoff(int retry) {
  int64_t backoff = options_.initial_backoff_ns;
  for (int i = 0; i < retry && backoff < options_.max_backoff_ns; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff_ns);
  if (options_.jitter) {
    const uint64_t half = static_cast<uint64_t>(backoff / 2);
    backoff = static_cast<int64_t>(half + rng_.Next() % (half + 1));
  }
  return backoff;
}

void SpanQueue::EndBatch() {
  in_flight_.clear();
  attempt_ = 0;
  state_ = State::kIdle;
}

void SpanQueue::OnResult(int status, int64_t now_ns, int64_t retry_after_ns) {
  ICAHT_CHECK(state_ == State::kInFlight);
  if (status >= 200 && status < 300) {
    exported_ += in_flight_.size();
    EndBatch();
    return;
  }
  const bool retryable = status == kConnectionFailed || status == 429 || status >= 500;
  if (retryable && attempt_ < options_.max_retries) {
    const int64_t wait = std::max(Backoff(attempt_), retry_after_ns);
    if (now_ns + wait - batch_oldest_ <= options_.max_age_ns) {
      ++attempt_;
      ++retries_;
      retry_at_ = now_ns + wait;
      state_ = State::kBackoff;
      return;
    }
  }
  dropped_failed_ += in_flight_.size();
  EndBatch();
}

int64_t SpanQueue::NextWakeup() const {
  switch (state_) {
    case State::kInFlight:
      return std::numeric_limits<int64_t>::max();
    case State::kBackoff:
      return retry_at_;
    case State::kIdle:
      break;
  }
  if (pending_.empty()) return std::numeric_limits<int64_t>::max();
  if (pending_.size() >= options_.batch_size) return pending_.front().pushed_at;
  return pending_.front().pushed_at + options_.flush_interval_ns;
}

}  // namespace icaht::tracing
