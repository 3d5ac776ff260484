#include "admin/watchdog.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "core/log.h"

namespace icaht::admin {

std::vector<size_t> PingRound::Silent() const {
  std::vector<size_t> silent;
  for (size_t i = 0; i < answered_.size(); ++i) {
    if (!answered_[i]) silent.push_back(i);
  }
  return silent;
}

int64_t Watchdog::IntervalFromEnv() {
  const char* usec = getenv("WATCHDOG_USEC");
  if (usec == nullptr) return 0;
  if (const char* pid = getenv("WATCHDOG_PID"); pid != nullptr && pid[0] != '\0') {
    int64_t value = 0;
    if (!absl::SimpleAtoi(pid, &value) || value != getpid()) return 0;  // meant for another
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(usec, &value) || value <= 0) return 0;
  return value * 1000;
}

Watchdog::Watchdog(core::Ring& ring, size_t shards, int64_t interval_ns, Ping ping,
                   std::function<void(std::string_view)> notify)
    : ring_(ring),
      shards_(shards),
      interval_ns_(interval_ns),
      ping_(std::move(ping)),
      notify_(std::move(notify)),
      timer_([this] { Tick(); }) {}

void Watchdog::Start() {
  if (interval_ns_ <= 0 || started_) return;
  started_ = true;
  notify_("WATCHDOG=1");  // the first keep-alive: the shards just started
  round_.Begin(0);
  Tick();
}

void Watchdog::Stop() {
  started_ = false;
  ring_.timers().Cancel(&timer_);
}

void Watchdog::Tick() {
  if (!started_) return;
  std::vector<size_t> silent = round_.Silent();
  if (silent.empty()) {
    notify_("WATCHDOG=1");
  } else {
    ICAHT_LOG_LIMITED(kError, "shard ", absl::StrJoin(silent, ", "),
                      " did not answer the watchdog ping within ", interval_ns_ / 2'000'000,
                      " ms: not telling systemd we are alive");
  }
  // The next round: every shard must answer before the next tick.
  round_.Begin(shards_);
  const uint64_t generation = ++generation_;
  for (size_t i = 0; i < shards_; ++i) {
    ping_(i, [this, i, generation] {
      if (generation == generation_) round_.Answer(i);
    });
  }
  ring_.timers().Arm(&timer_, core::NowNs() + interval_ns_ / 2);
}

}  // namespace icaht::admin
