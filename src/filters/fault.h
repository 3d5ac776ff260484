#pragma once
// Fault injection (`fault` in the service record; Envoy's HTTP fault filter,
// kept small): a testing tool that makes a service look slow or broken to its
// clients without touching the upstream. Off unless the record names it.
//
//   gate    with `header` set, only requests carrying that field (any value)
//           are subject to faults; the field goes upstream untouched
//   delay   delay_percent % of the subject requests wait delay_ms (the
//           exchange pauses, the shard goes on), then continue
//   abort   then, abort_percent % of them (delayed or not: a separate draw,
//           made after the delay, as Envoy does) are answered here with
//           abort_status, "fault injected\n" and `x-icaht-fault: abort`; the
//           upstream never sees them
//
// Placed after the rate limit, before anything upstream: an injected fault
// looks like upstream trouble, so auth and limits still refuse first, and a
// refused request is never delayed.
//
// A delay runs within the exchange's deadline for a paused filter,
// timeouts.request_ms (the record refuses a delay_ms that long); the upstream
// then gets its own request_ms as usual.
//
// Percentages are exact at 0 and 100 (no draw is made); in between, each
// decision is one draw of the shard's FastRandom.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/deferred.h"
#include "core/random.h"
#include "core/timer_queue.h"
#include "filters/filter.h"

namespace icaht::filters {

struct FaultSpec {
  uint32_t delay_ms = 0;      // 0: no delay; else 1..3600000 (below timeouts.request_ms)
  double delay_percent = 0;   // 0..100, fractions allowed
  uint16_t abort_status = 0;  // 0: no abort; else 200..599
  double abort_percent = 0;   // 0..100, fractions allowed
  std::string header;         // lower case; "": every request is subject

  bool has_delay() const { return delay_ms != 0; }
  bool has_abort() const { return abort_status != 0; }
  friend bool operator==(const FaultSpec&, const FaultSpec&) = default;
};

// The access log's name for what was injected ("delay", "abort",
// "delay+abort"; "" for none).
std::string_view FaultInjectedLabel(RequestContext::FaultInjected fault);

class FaultFilter final : public Filter {
 public:
  // `spec` as the record validates it (a delay or an abort or both).
  // `timers` (the shard's, which outlives the filter) arms the delays; it may
  // be null when the spec has none. Tests pass a seeded `random`.
  FaultFilter(FaultSpec spec, core::TimerQueue* timers,
              core::FastRandom random = core::FastRandom::FromEntropy());

  std::string_view name() const override { return "fault"; }
  // Continues, answers the abort (kRespond) or pauses for the delay; a
  // delayed exchange is resumed (or answered with the abort) from the timer.
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  // Disarms the exchange's delay and forgets its callbacks.
  void OnCancel(RequestContext& ctx) override;

  uint64_t delays() const { return delays_; }  // requests delayed
  uint64_t aborts() const { return aborts_; }  // requests answered with abort_status
  size_t delayed_now() const { return delayed_.size(); }

 private:
  // One delayed exchange, until its timer fires or it is cancelled. Deleted
  // through DeferDelete when its own timer fired (the timer's callback is
  // still on the stack), else at once.
  struct Delayed final : core::DeferredDeletable {
    explicit Delayed(std::function<void()> on_fire) : timer(std::move(on_fire)) {}
    core::Timer timer;
    FilterCallbacks* callbacks = nullptr;
  };

  // True with probability `ratio` (0..1; no draw at 0 or 1).
  bool Draw(double ratio);
  // The abort draw; on a hit, fills ctx.local_response and returns true.
  bool MaybeAbort(RequestContext& ctx);
  void DelayDone(RequestContext* ctx);

  FaultSpec spec_;
  core::TimerQueue* timers_;
  core::FastRandom random_;
  double delay_ratio_;
  double abort_ratio_;
  uint64_t delays_ = 0;
  uint64_t aborts_ = 0;
  // By the exchange's context (one exchange per context at a time). Empty
  // when the filter is destroyed: an exchange keeps its config, and so this
  // chain, until it ends, and an ending exchange that is paused here calls
  // OnCancel first. Were it not, destroying an entry disarms its timer (a
  // Timer cancels itself), so no timer could fire into a freed filter.
  absl::flat_hash_map<RequestContext*, std::unique_ptr<Delayed>> delayed_;
};

}  // namespace icaht::filters
