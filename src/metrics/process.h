#pragma once
// The daemon's process metrics (the names every Prometheus client library
// exports), read from /proc at scrape time.

#include <cstdint>

namespace icaht::metrics {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system, all threads
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  uint64_t threads = 0;
};

// Fields it cannot read stay 0.
ProcessStats ReadProcessStats();

}  // namespace icaht::metrics
