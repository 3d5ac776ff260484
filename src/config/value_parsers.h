#pragma once
// The plain value syntaxes of flags and config-file keys, and reading the
// file, without the option table (daemon_config.cc words the errors).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace icaht::config {

// Decimal digits only (no sign, no spaces, no exponent).
bool ParseUint(std::string_view text, uint64_t& out);

// A user or group: a number, or a name the system knows (getpwnam/getgrnam).
bool ParseId(std::string_view text, bool is_group, uint32_t& out);
// Comma-separated ParseId values.
bool ParseIdList(std::string_view text, bool is_group, std::vector<uint32_t>& out);

// `text` without trailing spaces, tabs and line ends.
std::string_view TrimTrailingSpace(std::string_view text);

// A config file's text, at most 16 MiB; errors name the path.
absl::StatusOr<std::string> ReadConfigText(const std::string& path);

// Online CPUs, 1..256.
uint32_t OnlineCpus();

}  // namespace icaht::config
