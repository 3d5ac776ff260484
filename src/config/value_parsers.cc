#include "config/value_parsers.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace icaht::config {

bool ParseUint(std::string_view text, uint64_t& out) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseId(std::string_view text, bool is_group, uint32_t& out) {
  uint64_t n = 0;
  if (ParseUint(text, n)) {
    if (n > UINT32_MAX - 1) return false;
    out = static_cast<uint32_t>(n);
    return true;
  }
  std::string name(text);
  if (is_group) {
    const struct group* g = getgrnam(name.c_str());
    if (g == nullptr) return false;
    out = g->gr_gid;
  } else {
    const struct passwd* p = getpwnam(name.c_str());
    if (p == nullptr) return false;
    out = p->pw_uid;
  }
  return true;
}

bool ParseIdList(std::string_view text, bool is_group, std::vector<uint32_t>& out) {
  std::vector<uint32_t> ids;
  for (absl::string_view piece : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    uint32_t id = 0;
    if (!ParseId(std::string_view(piece.data(), piece.size()), is_group, id)) return false;
    ids.push_back(id);
  }
  out = std::move(ids);
  return true;
}

std::string_view TrimTrailingSpace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

uint32_t OnlineCpus() {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) return 1;
  return cpus > 256 ? 256 : static_cast<uint32_t>(cpus);
}

absl::StatusOr<std::string> ReadConfigText(const std::string& path) {
  constexpr size_t kMaxConfigBytes = 16 << 20;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrFormat("%s: cannot open", path));
  std::string text;
  char buf[1 << 14];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxConfigBytes) {
      std::fclose(file);
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: larger than %d bytes", path, kMaxConfigBytes));
    }
  }
  int read_errno = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (read_errno != 0) {
    return absl::ErrnoToStatus(read_errno, absl::StrFormat("%s: cannot read", path));
  }
  return text;
}

}  // namespace icaht::config
