#pragma once
// systemd's watchdog (WatchdogSec= in the unit): the control thread sends
// WATCHDOG=1 every half interval, but only while every shard answered the
// ping it was sent half an interval before. A shard whose loop is stuck stops
// the keep-alives, so systemd restarts the daemon (Restart=on-failure), and
// the log says which shard it was.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/ring.h"
#include "core/timer_queue.h"

namespace icaht::admin {

// One round of pings: which shards have answered.
class PingRound {
 public:
  void Begin(size_t shards) { answered_.assign(shards, false); }
  void Answer(size_t shard) {
    if (shard < answered_.size()) answered_[shard] = true;
  }
  // The shards that have not answered (empty: all did, or no round began).
  std::vector<size_t> Silent() const;

 private:
  std::vector<bool> answered_;
};

class Watchdog {
 public:
  // The interval systemd asked for (WATCHDOG_USEC, for this process when
  // WATCHDOG_PID is set), in nanoseconds; 0 when none.
  static int64_t IntervalFromEnv();

  // `ping(shard, answered)` sends the shard a message that calls `answered`
  // when the shard has run it. `notify` sends a state line to systemd.
  using Ping = std::function<void(size_t shard, std::function<void()> answered)>;
  Watchdog(core::Ring& ring, size_t shards, int64_t interval_ns, Ping ping,
           std::function<void(std::string_view)> notify);

  void Start();
  void Stop();

 private:
  void Tick();

  core::Ring& ring_;
  size_t shards_;
  int64_t interval_ns_;
  Ping ping_;
  std::function<void(std::string_view)> notify_;
  PingRound round_;
  uint64_t generation_ = 0;  // answers to an older round are ignored
  bool started_ = false;
  core::Timer timer_;
};

}  // namespace icaht::admin
