#pragma once
// Per-ring deadlines. Single-threaded; owned by the ring's thread.

#include <cstdint>
#include <functional>
#include <map>

namespace icaht::core {

// Monotonic clock in nanoseconds.
int64_t NowNs();
// Wall clock (CLOCK_REALTIME) in nanoseconds since the Unix epoch: for
// timestamps shown to people and other programs, never for deadlines.
int64_t WallClockNs();

// NowNs() as of the current dispatch round of the calling thread's ring
// (Ring::RunOnce refreshes it after each wait), or NowNs() on a thread that
// runs no ring. For deadlines and activity stamps on the hot path: one clock
// read per round instead of one per event; stale by at most one round.
int64_t LoopNowNs();
void SetLoopNowNs(int64_t now_ns);

class TimerQueue;

// A restartable one-shot timer. Cancels itself when destroyed.
class Timer {
 public:
  explicit Timer(std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return queue_ != nullptr; }

 private:
  friend class TimerQueue;
  std::function<void()> on_fire_;
  TimerQueue* queue_ = nullptr;
  int64_t deadline_ = 0;  // may be later than the map key: see TimerQueue::Arm
  std::multimap<int64_t, Timer*>::iterator pos_;
};

class TimerQueue {
 public:
  // (Re)arms `timer` to fire at `deadline_ns` (NowNs() clock). Pushing an
  // armed timer later (the common case: a keep-alive connection re-arming per
  // request) only records the new deadline; the entry is moved when its old
  // slot comes up, so the hot path does no tree insert/erase.
  void Arm(Timer* timer, int64_t deadline_ns);
  void Cancel(Timer* timer);
  // Deadline of the earliest armed timer, or INT64_MAX.
  int64_t NextDeadline() const;
  // Fires every timer whose deadline is <= now.
  void FireExpired(int64_t now_ns);

 private:
  std::multimap<int64_t, Timer*> timers_;
};

}  // namespace icaht::core
