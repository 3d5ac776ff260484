#pragma once
// Minimal leveled logging to stderr (journald picks it up under systemd).
// Thread-safe: each line is one write(2).

#include <cstdint>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace icaht::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
// JSON lines ({"time","level","msg"}) instead of "icaht-sidecar: level: msg".
void SetLogJson(bool json);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);
int64_t NowNs();  // timer_queue.h: the monotonic clock

template <typename... Args>
void Log(LogLevel level, const Args&... args) {
  if (LogEnabled(level)) LogLine(level, absl::StrCat(args...));
}

// Lets one line through per interval and counts the ones it holds back, so
// that an error that repeats in a loop (accept at the fd limit, a failing
// disk) costs one line per interval instead of a line per event. Not
// thread-safe: one per thread and call site (ICAHT_LOG_LIMITED makes a
// thread_local one per call site). The clock is passed in so tests need no
// sleeps.
class LogRateLimiter {
 public:
  static constexpr int64_t kDefaultIntervalNs = 1'000'000'000;

  explicit LogRateLimiter(int64_t interval_ns = kDefaultIntervalNs) : interval_ns_(interval_ns) {}

  // True when a line may be written at `now_ns`; `*suppressed` is then the
  // number of lines held back since the last one written. False counts one
  // more held-back line.
  bool Allow(int64_t now_ns, uint64_t* suppressed);

 private:
  int64_t interval_ns_;
  int64_t next_ns_ = INT64_MIN;
  uint64_t suppressed_ = 0;
};

// Log() through `limiter` (NowNs() clock); a line written after others were
// held back ends with "(N similar lines suppressed)".
template <typename... Args>
void LogLimited(LogRateLimiter& limiter, LogLevel level, const Args&... args) {
  if (!LogEnabled(level)) return;
  uint64_t suppressed = 0;
  if (!limiter.Allow(NowNs(), &suppressed)) return;
  std::string line = absl::StrCat(args...);
  if (suppressed > 0) absl::StrAppend(&line, " (", suppressed, " similar lines suppressed)");
  LogLine(level, line);
}

}  // namespace icaht::core

#define ICAHT_LOG(level, ...) ::icaht::core::Log(::icaht::core::LogLevel::level, __VA_ARGS__)

// ICAHT_LOG for lines that can repeat without bound: at most one per second
// per call site and thread, with a count of the ones held back.
#define ICAHT_LOG_LIMITED(level, ...)                                                          \
  do {                                                                                         \
    static thread_local ::icaht::core::LogRateLimiter icaht_log_limiter;                       \
    ::icaht::core::LogLimited(icaht_log_limiter, ::icaht::core::LogLevel::level, __VA_ARGS__); \
  } while (0)
