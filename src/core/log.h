#pragma once
// Minimal leveled logging to stderr (journald picks it up under systemd).
// Thread-safe: each line is one write(2).

#include <string_view>

#include "absl/strings/str_cat.h"

namespace icaht::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, const Args&... args) {
  if (LogEnabled(level)) LogLine(level, absl::StrCat(args...));
}

}  // namespace icaht::core

#define ICAHT_LOG(level, ...) ::icaht::core::Log(::icaht::core::LogLevel::level, __VA_ARGS__)
