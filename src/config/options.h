#pragma once
// The option table behind flags and config-file keys (options.cc): each
// setting's name, how it is written, its --help line and its setter.
// daemon_config.cc reads flags and files through it.

#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "config/daemon_config.h"

namespace icaht::config {

// How an option's value is written in the config file. On the command line
// every value is text.
enum class Kind {
  kString,
  kInt,
  kBool,
  kList,  // a comma-separated string, or an array of strings in the file
};

// Applies an option's text to the config; on error returns the problem
// (without the "--flag: " or "file: field 'x': " prefix).
using Setter = absl::Status (*)(std::string_view text, DaemonConfig& config);

struct Option {
  std::string_view name;  // the JSON key; the flag is "--" + name with '_' -> '-'
  Kind kind;
  std::string_view value_name;  // in --help: "--shards N"
  std::string_view expected;    // "expected <this>, got '...'"
  std::string_view help;
  Setter set;
  bool not_built = false;  // validated, then refused by LoadDaemonConfig
};

// Every daemon setting, in --help order.
std::span<const Option> Options();
// nullptr when unknown.
const Option* FindOption(std::string_view name);
// For names spelled in code (aborts on a typo).
const Option& FindOptionOrDie(std::string_view name);
// By "--flag-name".
const Option* FindFlag(std::string_view flag);
// "--" + name with '_' -> '-'.
std::string FlagName(std::string_view name);

}  // namespace icaht::config
