#include "metrics/process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace icaht::metrics {
namespace {

// The system's boot time in seconds since the epoch (/proc/stat "btime").
uint64_t BootTime() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint64_t CountFds() {
  // Linux 6.2 on reports the number of open descriptors as the directory's
  // size: no walk over thousands of entries (one per listening port) per scrape.
  struct stat st {};
  if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return static_cast<uint64_t>(st.st_size);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // not the directory's own descriptor
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats s;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  long page = sysconf(_SC_PAGESIZE);
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces and parentheses).
  size_t close = text.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    // Field 3 (state) is the first here; utime is 14, stime 15, threads 20,
    // starttime 22, vsize 23, rss 24.
    for (int i = 3; i <= 24 && fields >> f; ++i) {
      if (i == 14 || i == 15) s.cpu_seconds += std::strtod(f.c_str(), nullptr) / ticks;
      if (i == 20) s.threads = std::strtoull(f.c_str(), nullptr, 10);
      if (i == 22) {
        s.start_time_seconds =
            static_cast<double>(BootTime()) + std::strtod(f.c_str(), nullptr) / ticks;
      }
      if (i == 23) s.virtual_bytes = std::strtoull(f.c_str(), nullptr, 10);
      if (i == 24) s.resident_bytes = std::strtoull(f.c_str(), nullptr, 10) * page;
    }
  }
  s.open_fds = CountFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  return s;
}

}  // namespace icaht::metrics
