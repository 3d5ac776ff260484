#include "filters/fault.h"

#include <utility>

#include "core/check.h"

namespace icaht::filters {

std::string_view FaultInjectedLabel(RequestContext::FaultInjected fault) {
  switch (fault) {
    case RequestContext::FaultInjected::kNone:
      return "";
    case RequestContext::FaultInjected::kDelay:
      return "delay";
    case RequestContext::FaultInjected::kAbort:
      return "abort";
    case RequestContext::FaultInjected::kDelayAndAbort:
      return "delay+abort";
  }
  return "";
}

FaultFilter::FaultFilter(FaultSpec spec, core::TimerQueue* timers, core::FastRandom random)
    : spec_(std::move(spec)),
      timers_(timers),
      random_(random),
      delay_ratio_(spec_.has_delay() ? spec_.delay_percent / 100 : 0),
      abort_ratio_(spec_.has_abort() ? spec_.abort_percent / 100 : 0) {
  ICAHT_CHECK(spec_.has_delay() || spec_.has_abort());
  ICAHT_CHECK(!spec_.has_delay() || timers_ != nullptr);
}

bool FaultFilter::Draw(double ratio) {
  // NextDouble() is in [0, 1): 1 always hits and 0 never does, so these two
  // need no draw.
  if (ratio <= 0) return false;
  if (ratio >= 1) return true;
  return random_.NextDouble() < ratio;
}

bool FaultFilter::MaybeAbort(RequestContext& ctx) {
  if (!Draw(abort_ratio_)) return false;
  ++aborts_;
  ctx.fault = ctx.fault == RequestContext::FaultInjected::kDelay
                  ? RequestContext::FaultInjected::kDelayAndAbort
                  : RequestContext::FaultInjected::kAbort;
  LocalResponse& response = ctx.local_response;
  response.status = spec_.abort_status;
  response.body = "fault injected\n";
  response.fields.push_back({"x-icaht-fault", "abort"});
  return true;
}

Verdict FaultFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) {
  if (!spec_.header.empty() && ctx.FindRequestHeader(spec_.header) == nullptr) {
    return Verdict::kContinue;
  }
  if (Draw(delay_ratio_)) {
    ++delays_;
    ctx.fault = RequestContext::FaultInjected::kDelay;
    RequestContext* c = &ctx;
    auto delayed = std::make_unique<Delayed>([this, c] { DelayDone(c); });
    delayed->callbacks = &callbacks;
    timers_->Arm(&delayed->timer, core::LoopNowNs() + int64_t{spec_.delay_ms} * 1'000'000);
    auto [it, inserted] = delayed_.emplace(&ctx, std::move(delayed));
    ICAHT_CHECK(inserted);  // an exchange is paused here at most once
    return Verdict::kPause;
  }
  return MaybeAbort(ctx) ? Verdict::kRespond : Verdict::kContinue;
}

void FaultFilter::DelayDone(RequestContext* ctx) {
  auto it = delayed_.find(ctx);
  ICAHT_CHECK(it != delayed_.end());
  FilterCallbacks* callbacks = it->second->callbacks;
  core::DeferDelete(it->second.release());  // this is its timer's callback
  delayed_.erase(it);
  if (MaybeAbort(*ctx)) return callbacks->RespondLocally();
  callbacks->Resume();
}

void FaultFilter::OnCancel(RequestContext& ctx) {
  // Destroying the entry disarms its timer.
  delayed_.erase(&ctx);
}

}  // namespace icaht::filters
