#include "admin/trace_exporter.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"

namespace icaht::admin {
namespace {

constexpr int64_t kCollectPeriodNs = 1'000'000'000;
constexpr uint32_t kCallTimeoutMs = 5000;
constexpr int64_t kFlushBudgetNs = 3'000'000'000;  // shutdown waits at most this for the collector
constexpr int64_t kMaxRetryAfterNs = 60'000'000'000;

// Retry-After in seconds (the HTTP-date form is not worth a parser here).
int64_t RetryAfterNs(const http::ClientResponse& response) {
  const std::string* value = response.Find("retry-after");
  if (value == nullptr) return 0;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec != std::errc() || end != value->data() + value->size() || seconds < 0) return 0;
  return std::min(seconds, kMaxRetryAfterNs / 1'000'000'000) * 1'000'000'000;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TraceExporter>> TraceExporter::Create(core::Ring& ring,
                                                                     core::BufRing& bufs,
                                                                     std::string_view endpoint,
                                                                     Collect collect) {
  absl::StatusOr<net::HttpUrl> url = net::ParseHttpUrl(endpoint);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--trace-endpoint ", std::string(endpoint), ": ", url.status().message()));
  }
  tracing::ExportFormat format = tracing::ExportFormat::kOtlpJson;
  std::string_view path = std::string_view(url->target).substr(0, url->target.find('?'));
  if (absl::EndsWith(absl::string_view(path.data(), path.size()), "/api/v2/spans")) {
    format = tracing::ExportFormat::kZipkinJson;
  } else if (url->target == "/") {
    url->target = std::string(tracing::ExportPath(format));
  }
  return std::unique_ptr<TraceExporter>(new TraceExporter(
      ring, bufs, *std::move(url), format, std::string(endpoint), std::move(collect)));
}

TraceExporter::TraceExporter(core::Ring& ring, core::BufRing& bufs, net::HttpUrl url,
                             tracing::ExportFormat format, std::string endpoint, Collect collect)
    : ring_(ring),
      bufs_(bufs),
      url_(std::move(url)),
      format_(format),
      endpoint_(std::move(endpoint)),
      collect_(std::move(collect)),
      // Spans arrive in bulk once per collection (a second apart): each
      // round's are sent at once, no need to wait for more.
      queue_(tracing::SpanQueueOptions{.flush_interval_ns = 0}),
      timer_([this] { OnTimer(); }),
      flush_deadline_([this] {
        if (call_ != nullptr) {
          call_->Cancel();
          call_ = nullptr;
        }
        FinishFlush();
      }) {
  resource_.host_name = HostName();
}

TraceExporter::~TraceExporter() {
  if (call_ != nullptr) call_->Cancel();
}

void TraceExporter::Start() {
  next_collect_ns_ = core::NowNs() + kCollectPeriodNs;
  ArmTimer();
}

void TraceExporter::ArmTimer() {
  if (flushing_) return;
  int64_t at = std::min(next_collect_ns_, queue_.NextWakeup());
  ring_.timers().Arm(&timer_, std::max(at, core::NowNs()));
}

void TraceExporter::OnTimer() {
  if (core::NowNs() >= next_collect_ns_) {
    next_collect_ns_ = core::NowNs() + kCollectPeriodNs;
    StartCollect();
  }
  Pump();
}

void TraceExporter::StartCollect() {
  if (collecting_) return;  // the last round has not come back yet
  collecting_ = true;
  collect_([this](Harvests harvests) {
    collecting_ = false;
    if (flushing_) return;  // Flush brings the last spans itself
    OnHarvests(harvests);
    Pump();
  });
}

void TraceExporter::OnHarvests(const Harvests& harvests) {
  const int64_t now = core::NowNs();
  for (const auto& harvest : harvests) {
    if (harvest == nullptr) continue;
    dropped_in_shards_ += harvest->dropped;
    if (!harvest->spans.empty()) queue_.Push(std::move(harvest->spans), now);
  }
}

void TraceExporter::Pump() {
  if (call_ == nullptr) {
    if (auto batch = queue_.TakeBatchToSend(core::NowNs(), flushing_)) {
      Send(*batch);
    } else if (flushing_) {
      return FinishFlush();  // nothing left (or a failed batch waits for a retry we skip)
    }
  }
  ArmTimer();
}

void TraceExporter::Send(const tracing::SpanQueue::Batch& batch) {
  if (batch.attempt == 0) {
    body_.clear();
    tracing::EncodeSpans(format_, batch.spans, resource_, body_);
  }
  proxy::ClientCallSpec spec;
  spec.address = url_.address;
  spec.method = http::Method::kPost;
  spec.request = proxy::BuildClientRequest(
      "POST", url_.target, url_.host,
      absl::StrCat("Content-Type: application/json\r\nContent-Length: ", body_.size(),
                   "\r\nUser-Agent: icaht-sidecar/traces\r\n"));
  spec.request += body_;
  spec.timeout_ms = kCallTimeoutMs;
  spec.max_body_bytes = 64 * 1024;
  call_ = proxy::HttpClientCall::Start(
      ring_, bufs_, std::move(spec),
      [this](absl::StatusOr<http::ClientResponse> response) { OnResponse(response); });
}

void TraceExporter::OnResponse(const absl::StatusOr<http::ClientResponse>& response) {
  call_ = nullptr;
  const int64_t now = core::NowNs();
  if (!response.ok()) {
    ICAHT_LOG_LIMITED(kWarn, "trace export to ", endpoint_,
                      " failed: ", response.status().message());
    queue_.OnResult(tracing::SpanQueue::kConnectionFailed, now);
  } else {
    if (response->status / 100 != 2) {
      ICAHT_LOG_LIMITED(kWarn, "trace export to ", endpoint_, " answered ", response->status);
    }
    queue_.OnResult(response->status, now, RetryAfterNs(*response));
  }
  Pump();
}

void TraceExporter::Flush(Harvests last, std::function<void()> done) {
  flushing_ = true;
  flush_done_ = std::move(done);
  ring_.timers().Cancel(&timer_);
  OnHarvests(last);
  ring_.timers().Arm(&flush_deadline_, core::NowNs() + kFlushBudgetNs);
  Pump();
}

void TraceExporter::FinishFlush() {
  if (!flush_done_) return;
  ring_.timers().Cancel(&flush_deadline_);
  if (queue_.size() > 0) {
    ICAHT_LOG(kWarn, "trace export: ", queue_.size(), " spans not sent at shutdown");
  }
  std::function<void()> done = std::move(flush_done_);
  flush_done_ = nullptr;
  done();
}

}  // namespace icaht::admin
