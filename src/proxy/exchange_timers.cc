// The exchange's timer (exchange.h): one per connection, re-armed lazily,
// its purpose saying what an expiry means; the whole exchange's deadline
// (timeouts.total_ms, or a trusted client's x-icaht-timeout-ms: SetTotalDeadline)
// caps every arming but a tunnel's.

#include <charconv>

#include "net/socket.h"
#include "proxy/exchange.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {
namespace {
using filters::ErrorKind;
using filters::MakeError;

// A client's own total timeout (timeouts.trust_header).
constexpr std::string_view kTimeoutHeader = "x-icaht-timeout-ms";
constexpr uint64_t kMaxTimeoutMs = 3'600'000;

// The header's value in milliseconds, or 0 when it is not a number 1..1 hour.
uint64_t TimeoutHeaderMs(std::string_view value) {
  uint64_t ms = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
  if (ec != std::errc() || end != value.data() + value.size() || ms > kMaxTimeoutMs) return 0;
  return ms;
}

}  // namespace

void Exchange::SetTotalDeadline(uint64_t total_ms, bool trust_header) {
  if (trust_header) {
    if (const http::Header* h = ctx_.FindRequestHeader(kTimeoutHeader)) {
      if (uint64_t ms = TimeoutHeaderMs(h->value); ms != 0) total_ms = ms;
      ctx_.upstream_edits.Remove(kTimeoutHeader);  // ours: not the upstream's business
    }
  }
  total_deadline_ns_ =
      total_ms != 0 ? ctx_.start_ns + static_cast<int64_t>(total_ms) * 1'000'000 : 0;
}

bool Exchange::UpstreamStillReading() {
  if (call_ == nullptr || call_->head_received() || !call_->stream()->connected()) return false;
  net::TcpSendState state;
  if (!net::GetTcpSendState(call_->stream()->fd(), &state)) return false;
  bool queued = state.pending || call_->stream()->queued_bytes() > 0 ||
                (request_body_ != nullptr && request_body_->waiting_for_sink());
  if (!queued) {
    // All delivered: if it was still reading at the last look, it took the
    // rest since (progress, once); else nothing is left to make progress with.
    bool took_the_rest = upstream_acked_ != kAckedUnknown && upstream_acked_ != kAckedDelivered;
    upstream_acked_ = kAckedDelivered;
    return took_the_rest;
  }
  // The first look has nothing to compare with: it starts the count.
  bool progressed = upstream_acked_ == kAckedUnknown || upstream_acked_ == kAckedDelivered ||
                    state.bytes_acked > upstream_acked_;
  upstream_acked_ = state.bytes_acked;
  return progressed;
}

void Exchange::ArmTimer(TimerPurpose purpose, uint32_t ms) {
  timer_purpose_ = purpose;
  ArmTimerAt(core::LoopNowNs() + static_cast<int64_t>(ms) * 1'000'000);
}

void Exchange::ArmTimerAt(int64_t at_ns) {
  if (total_deadline_ns_ != 0 && timer_purpose_ != TimerPurpose::kTunnelIdle) {
    at_ns = std::min(at_ns, total_deadline_ns_);
  }
  shard_.ring().timers().Arm(timer_, at_ns);
}

bool Exchange::InactiveFor(uint32_t ms, int64_t last_progress_ns) {
  int64_t limit = int64_t{ms} * 1'000'000;
  int64_t now = core::LoopNowNs();
  int64_t quiet = now - last_progress_ns;
  if (quiet >= limit) return true;
  ArmTimerAt(now + limit - quiet);  // purpose unchanged
  return false;
}

void Exchange::OnTimer() {
  if (total_deadline_ns_ != 0 && core::LoopNowNs() >= total_deadline_ns_ &&
      timer_purpose_ != TimerPurpose::kTunnelIdle && timer_purpose_ != TimerPurpose::kNone) {
    // The whole exchange's deadline: 504 before an answer began, a cut after.
    if (call_ != nullptr) call_->MarkDirty();
    return Fail(MakeError(ErrorKind::kResponseTimeout, "exchange exceeded its total timeout"));
  }
  switch (timer_purpose_) {
    case TimerPurpose::kRequestBody:
      if (!InactiveFor(request_timeout_ms_, request_body_->last_progress_ns())) return;
      // A slow reader takes bytes in bursts far apart (socket buffers
      // refill only when a third of them drained): its acknowledgements are
      // progress too.
      if (UpstreamStillReading()) return ArmTimer(timer_purpose_, request_timeout_ms_);
      if (call_ != nullptr) call_->MarkDirty();
      close_after_ = true;
      // Blame the side that stopped: an upstream that takes no more bytes is
      // the upstream's stall (504), never the client's.
      if (request_body_->waiting_for_sink()) {
        return Fail(
            MakeError(ErrorKind::kUpstreamStalled, "upstream stopped reading the request body"));
      }
      return Fail(MakeError(ErrorKind::kBodyTimeout, "request body read timed out"));
    case TimerPurpose::kResponseHead:
      // The deadline for an answer runs from when the request was delivered,
      // not merely queued or spliced into the socket.
      if (UpstreamStillReading()) return ArmTimer(timer_purpose_, ResponseHeadTimeoutMs());
      if (slot_ == SlotState::kQueued) {
        return Fail(
            MakeError(ErrorKind::kResponseTimeout, "timed out waiting for an upstream connection"));
      }
      if (call_ != nullptr) {
        call_->MarkDirty();
        ReportAttempt(ShardService::AttemptResult::kGatewayError);
        if (retries_ != nullptr && retries_->per_try_timeout_ms != 0 &&
            RetryByPolicy({.per_try_timeout = true, .reused_connection = call_->reused()})) {
          return;
        }
      }
      return Fail(MakeError(ErrorKind::kResponseTimeout, "upstream timed out"));
    case TimerPurpose::kRetryBackoff:
      timer_purpose_ = TimerPurpose::kNone;
      return StartRetry();
    case TimerPurpose::kResponseBody:
      if (!InactiveFor(request_timeout_ms_, response_body_.last_progress_ns())) return;
      // A stalled body: cut it, never let it look complete.
      return Fail(MakeError(ErrorKind::kResponseCut, "upstream response body stalled"));
    case TimerPurpose::kTunnelIdle:
      if (!InactiveFor(config_->idle_timeout_ms, tunnel_->last_progress_ns())) return;
      return Fail(MakeError(ErrorKind::kResponseCut, "tunnel idle"));
    case TimerPurpose::kNone:
      return;
  }
}

}  // namespace icaht::proxy
