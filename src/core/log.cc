#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

#include "core/json_string.h"

namespace icaht::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};
}  // namespace

void SetLogJson(bool json) { g_json.store(json); }

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void LogLine(LogLevel level, std::string_view message) {
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  // absl::string_view is not std::string_view in Debian's abseil, so no StrCat here.
  std::string line;
  if (g_json.load(std::memory_order_relaxed)) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    char time[40];
    size_t n = strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(time + n, sizeof time - n, ".%03ldZ", ts.tv_nsec / 1'000'000);
    line = "{\"time\":\"";
    line += time;
    line += "\",\"level\":\"";
    line += kNames[static_cast<int>(level)];
    line += "\",\"msg\":";
    AppendJsonString(line, message);
    line += "}\n";
  } else {
    line = "icaht-sidecar: ";
    line += kNames[static_cast<int>(level)];
    line += ": ";
    line += message;
    line += '\n';
  }
  // One write per line keeps lines from different threads whole.
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

bool LogRateLimiter::Allow(int64_t now_ns, uint64_t* suppressed) {
  if (now_ns < next_ns_) {
    ++suppressed_;
    return false;
  }
  next_ns_ = now_ns + interval_ns_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace icaht::core
