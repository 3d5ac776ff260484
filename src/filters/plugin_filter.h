#pragma once
// A native plugin on a service's chain (`plugins` in the service record;
// the ABI is include/icaht/plugin.h, loading filters/plugin_library.h).
//
// One filter, and one plugin instance, per plugin per service config per
// shard: built with the chain (create() on the shard's thread) and destroyed
// with it (destroy()). Plugins run last on the request phase (after the
// cache), first on the response phase.
//
// The host is defensive about what a plugin returns, never about what it
// does (native code may crash the process): an unknown verdict, RESPOND
// without respond(), PAUSE without a timer, a refused header edit or a
// timer callback that neither resumes nor re-arms answers the exchange 500
// and logs one line (at most one per second per shard), and the shard goes
// on. In the response phase, where the head is not yet written but the body
// will follow, a failure turns the status into 500.
//
// Pauses: the plugin arms a timer (after_ms) and returns PAUSE; the timer's
// callback runs on the shard and calls resume(). Paused exchanges are kept
// by their context (one pause per exchange at a time), as the fault filter
// does; OnCancel disarms the timer and tells the plugin (on_cancel).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/deferred.h"
#include "core/timer_queue.h"
#include "filters/filter.h"
#include "filters/plugin_library.h"

namespace icaht::filters {

struct PluginSpec {
  std::string path;                // the real path (resolved and checked by the control thread)
  std::string config_json = "{}";  // the record's `config`, as JSON text
  const PluginLibrary* library = nullptr;  // loaded by the control thread; lives forever

  friend bool operator==(const PluginSpec& a, const PluginSpec& b) {
    return a.path == b.path && a.config_json == b.config_json;
  }
};

class PluginFilter final : public Filter {
 public:
  // `spec.library` loaded; `timers` the shard's (outlives the filter).
  PluginFilter(const PluginSpec& spec, std::string_view service, uint32_t shard_index,
               core::TimerQueue* timers);
  ~PluginFilter() override;

  std::string_view name() const override { return "plugin"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnResponseHead(RequestContext& ctx) override;
  void OnLog(const RequestContext& ctx) override;
  void OnCancel(RequestContext& ctx) override;

  // The host functions after_ms() and resume() (plugin_filter.cc).
  int ArmTimer(RequestContext& ctx, uint32_t ms, icaht_timer_cb cb, void* arg);
  void Resume(RequestContext& ctx, int verdict);

  bool has_instance() const { return instance_ != nullptr; }
  size_t paused_now() const { return paused_.size(); }
  uint64_t failures() const { return failures_; }

 private:
  struct Paused final : core::DeferredDeletable {
    explicit Paused(std::function<void()> on_fire) : timer(std::move(on_fire)) {}
    core::Timer timer;
    icaht_timer_cb cb = nullptr;
    void* arg = nullptr;
  };

  void TimerFired(RequestContext* ctx);
  // Logs `why` (rate-limited) and fills the 500.
  void Failed(RequestContext& ctx, std::string_view phase, std::string_view why);
  void EndPause(RequestContext& ctx);

  const icaht_plugin_v1* table_;
  std::string plugin_name_;
  std::string service_;
  core::TimerQueue* timers_;
  void* instance_ = nullptr;
  uint64_t failures_ = 0;
  absl::flat_hash_map<RequestContext*, std::unique_ptr<Paused>> paused_;
};

}  // namespace icaht::filters
