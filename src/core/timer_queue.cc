#include "core/timer_queue.h"

#include <time.h>

#include <climits>

#include "core/deferred.h"

namespace icaht::core {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t WallClockNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {
thread_local int64_t t_loop_now_ns = 0;
}  // namespace

int64_t LoopNowNs() { return t_loop_now_ns != 0 ? t_loop_now_ns : NowNs(); }
void SetLoopNowNs(int64_t now_ns) { t_loop_now_ns = now_ns; }

Timer::~Timer() {
  if (queue_ != nullptr) queue_->Cancel(this);
}

void TimerQueue::Arm(Timer* timer, int64_t deadline_ns) {
  if (timer->queue_ == this && deadline_ns >= timer->pos_->first) {
    timer->deadline_ = deadline_ns;
    return;
  }
  if (timer->queue_ == this) {
    // Earlier than its slot: move the node (no allocation, as on every
    // request whose deadline is shorter than the idle one).
    auto node = timers_.extract(timer->pos_);
    node.key() = deadline_ns;
    timer->pos_ = timers_.insert(std::move(node));
    timer->deadline_ = deadline_ns;
    return;
  }
  if (timer->queue_ != nullptr) timer->queue_->Cancel(timer);
  timer->pos_ = timers_.emplace(deadline_ns, timer);
  timer->deadline_ = deadline_ns;
  timer->queue_ = this;
}

void TimerQueue::Cancel(Timer* timer) {
  if (timer->queue_ != this) return;
  timers_.erase(timer->pos_);
  timer->queue_ = nullptr;
}

int64_t TimerQueue::NextDeadline() const {
  return timers_.empty() ? INT64_MAX : timers_.begin()->first;
}

void TimerQueue::FireExpired(int64_t now_ns) {
  // A fired callback may arm, cancel or destroy other timers, so take one at a time.
  while (!timers_.empty() && timers_.begin()->first <= now_ns) {
    Timer* timer = timers_.begin()->second;
    timers_.erase(timers_.begin());
    if (timer->deadline_ > now_ns) {
      timer->pos_ = timers_.emplace(timer->deadline_, timer);  // was pushed later
      continue;
    }
    timer->queue_ = nullptr;
    timer->on_fire_();
    RunDeferred();
  }
}

}  // namespace icaht::core
