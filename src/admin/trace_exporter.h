#pragma once
// The span exporter (control thread): every second it takes each shard's
// finished spans (a CollectSpansCommand round, through `collect`), queues
// them (tracing::SpanQueue: bounded, batches, backoff), and posts each batch
// to --trace-endpoint as OTLP/HTTP JSON or Zipkin v2 JSON with the daemon's
// own HTTP client, one batch in flight at a time. Nothing here runs on a
// shard; a slow or absent collector costs dropped spans, counted.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "net/http_url.h"
#include "proxy/http_client.h"
#include "tracing/encode.h"
#include "tracing/span_buffer.h"
#include "tracing/span_queue.h"

namespace icaht::admin {

class TraceExporter {
 public:
  using Harvests = std::vector<std::shared_ptr<tracing::SpanBuffer::Harvest>>;
  // Asks every shard for its spans and calls back (on this thread) with what
  // each one had.
  using Collect = std::function<void(std::function<void(Harvests)>)>;

  // `endpoint` as --trace-endpoint validated it: the format follows the path
  // (ending in /api/v2/spans: Zipkin; anything else: OTLP, "/" meaning
  // /v1/traces).
  static absl::StatusOr<std::unique_ptr<TraceExporter>> Create(core::Ring& ring,
                                                               core::BufRing& bufs,
                                                               std::string_view endpoint,
                                                               Collect collect);
  ~TraceExporter();

  void Start();
  // Shutdown: stops collecting, adds `last` (the shards' final spans) and
  // sends what is queued, one attempt per batch, within a bounded time; then
  // `done`.
  void Flush(Harvests last, std::function<void()> done);

  tracing::ExportFormat format() const { return format_; }
  const std::string& endpoint() const { return endpoint_; }
  uint64_t exported() const { return queue_.exported(); }
  // Lost: shard buffers full, the queue full, or a batch given up.
  uint64_t dropped() const { return queue_.dropped() + dropped_in_shards_; }
  uint64_t retries() const { return queue_.retries(); }
  size_t queued() const { return queue_.size(); }

 private:
  TraceExporter(core::Ring& ring, core::BufRing& bufs, net::HttpUrl url,
                tracing::ExportFormat format, std::string endpoint, Collect collect);
  void OnTimer();
  void StartCollect();
  void OnHarvests(const Harvests& harvests);
  // Sends the next batch when one is ready and none is in flight; re-arms.
  void Pump();
  void Send(const tracing::SpanQueue::Batch& batch);
  void OnResponse(const absl::StatusOr<http::ClientResponse>& response);
  void ArmTimer();
  void FinishFlush();

  core::Ring& ring_;
  core::BufRing& bufs_;
  net::HttpUrl url_;
  tracing::ExportFormat format_;
  std::string endpoint_;
  Collect collect_;
  tracing::ExportResource resource_;
  tracing::SpanQueue queue_;
  core::Timer timer_;
  int64_t next_collect_ns_ = 0;
  bool collecting_ = false;
  proxy::HttpClientCall* call_ = nullptr;
  std::string body_;  // the batch in flight, encoded (kept for its retries)
  uint64_t dropped_in_shards_ = 0;
  bool flushing_ = false;
  std::function<void()> flush_done_;
  core::Timer flush_deadline_;
};

}  // namespace icaht::admin
