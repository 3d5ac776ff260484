#pragma once
// A shard's access log sink: lines are formatted into a buffer on the request
// path and written by io_uring (one write in flight; the next lines gather
// meanwhile), at 64 KiB or within 50 ms. Never blocks the request path: when
// the sink falls behind by more than 4 MiB, new lines are dropped and
// counted, never queued without bound. A file is written with O_APPEND (each
// write whole lines, so shards do not tear each other's lines); a pipe or
// socket (stdout under journald) gets writes of at most PIPE_BUF bytes of
// whole lines, which the kernel keeps whole.
//
// Shard-owned; the counters are read by the metrics scrape (metric.h).

#include <cstdint>
#include <string>

#include "core/ring.h"
#include "core/timer_queue.h"
#include "metrics/metric.h"
#include "net/socket.h"
#include "proxy/access_log_line.h"

namespace icaht::proxy {

struct AccessLogStats {
  metrics::Counter lines;    // written (or handed to the kernel)
  metrics::Counter dropped;  // lost: the sink fell behind or failed
};

class AccessLog final : private core::Completion {
 public:
  AccessLog(core::Ring& ring, AccessLogStats* stats);
  ~AccessLog();

  // A new sink (a descriptor of its own, e.g. dup'd by the control thread),
  // or an invalid Fd to stop logging. The old one is closed once its write
  // in flight is done (SIGUSR1 reopening after logrotate).
  void SetSink(net::Fd fd);
  bool enabled() const { return fd_.valid(); }

  void Append(const filters::RequestContext& ctx);
  // At shutdown: waits (bounded) for the write in flight and writes the rest
  // with plain write(2).
  void FlushBlocking();

 private:
  void Complete(int res, uint32_t flags) override;
  void StartWrite();
  void DropWriting(int error);

  core::Ring& ring_;
  AccessLogStats* stats_;
  net::Fd fd_;
  net::Fd retired_;       // the sink before SetSink, until its write completes
  bool chunked_ = false;  // a pipe or socket: writes of at most PIPE_BUF
  std::string pending_;   // formatted lines waiting for the next write
  size_t pending_lines_ = 0;
  std::string writing_;  // the buffer the kernel is writing from
  size_t writing_lines_ = 0;
  size_t written_ = 0;  // bytes of writing_ done
  size_t chunk_end_ = 0;
  bool in_flight_ = false;
  core::Timer flush_timer_;
  TimeFormatter time_;
  int64_t wall_offset_ns_ = 0;  // wall clock minus monotonic, refreshed each flush
};

}  // namespace icaht::proxy
