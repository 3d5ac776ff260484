#include "filters/plugin_filter.h"

#include <utility>

#include "core/check.h"
#include "core/log.h"
#include "filters/extension_api.h"

namespace icaht::filters {
namespace {

using Phase = ExtensionCall::Phase;

// The handle a plugin gets is the exchange's context itself.
RequestContext& Ctx(icaht_exchange* x) { return *reinterpret_cast<RequestContext*>(x); }
const RequestContext& Ctx(const icaht_exchange* x) {
  return *reinterpret_cast<const RequestContext*>(x);
}
icaht_exchange* Handle(const RequestContext& ctx) {
  return reinterpret_cast<icaht_exchange*>(const_cast<RequestContext*>(&ctx));
}
icaht_str Str(std::string_view s) { return {s.data(), s.size()}; }

// A (pointer, length) pair from a plugin; nullopt for NULL with a length.
std::optional<std::string_view> View(const char* data, size_t len) {
  if (data == nullptr) {
    if (len != 0) return std::nullopt;
    return std::string_view();
  }
  return std::string_view(data, len);
}

int Found(std::optional<std::string_view> value, icaht_str* out) {
  if (!value) return 0;
  if (out != nullptr) *out = Str(*value);
  return 1;
}

// ---- The host functions (icaht_host_api) ----------------------------------

icaht_str HostMethod(const icaht_exchange* x) { return Str(Ctx(x).request().method); }
icaht_str HostPath(const icaht_exchange* x) { return Str(Ctx(x).path()); }
icaht_str HostTarget(const icaht_exchange* x) { return Str(Ctx(x).request().target); }

int HostRequestHeader(const icaht_exchange* x, const char* name, size_t len, icaht_str* value) {
  std::optional<std::string_view> n = View(name, len);
  return n ? Found(extension::RequestHeader(Ctx(x), *n), value) : 0;
}

int HostResponseHeader(const icaht_exchange* x, const char* name, size_t len, icaht_str* value) {
  std::optional<std::string_view> n = View(name, len);
  return n ? Found(extension::ResponseHeader(Ctx(x), *n), value) : 0;
}

int HostSetRequestHeader(icaht_exchange* x, const char* name, size_t name_len, const char* value,
                         size_t value_len) {
  auto n = View(name, name_len);
  auto v = View(value, value_len);
  if (!n || !v) return extension::Fail(Ctx(x), "NULL string with a length");
  return extension::SetRequestHeader(Ctx(x), *n, *v);
}

int HostRemoveRequestHeader(icaht_exchange* x, const char* name, size_t name_len) {
  auto n = View(name, name_len);
  if (!n) return extension::Fail(Ctx(x), "NULL string with a length");
  return extension::RemoveRequestHeader(Ctx(x), *n);
}

int HostRespond(icaht_exchange* x, int status, const char* body, size_t body_len) {
  auto b = View(body, body_len);
  if (!b) return extension::Fail(Ctx(x), "NULL string with a length");
  return extension::Respond(Ctx(x), status, *b);
}

int SetOrAddResponseHeader(icaht_exchange* x, const char* name, size_t name_len, const char* value,
                           size_t value_len, bool add) {
  auto n = View(name, name_len);
  auto v = View(value, value_len);
  if (!n || !v) return extension::Fail(Ctx(x), "NULL string with a length");
  return extension::SetResponseHeader(Ctx(x), *n, *v, add);
}

int HostSetResponseHeader(icaht_exchange* x, const char* name, size_t name_len, const char* value,
                          size_t value_len) {
  return SetOrAddResponseHeader(x, name, name_len, value, value_len, false);
}

int HostAddResponseHeader(icaht_exchange* x, const char* name, size_t name_len, const char* value,
                          size_t value_len) {
  return SetOrAddResponseHeader(x, name, name_len, value, value_len, true);
}

int HostRemoveResponseHeader(icaht_exchange* x, const char* name, size_t name_len) {
  auto n = View(name, name_len);
  if (!n) return extension::Fail(Ctx(x), "NULL string with a length");
  return extension::RemoveResponseHeader(Ctx(x), *n);
}

int HostSetStatus(icaht_exchange* x, int status) { return extension::SetStatus(Ctx(x), status); }
int HostStatus(const icaht_exchange* x) { return extension::Status(Ctx(x)); }
int64_t HostDurationUs(const icaht_exchange* x) { return extension::DurationUs(Ctx(x)); }
icaht_str HostUpstream(const icaht_exchange* x) { return Str(Ctx(x).upstream_address); }
icaht_str HostRequestId(const icaht_exchange* x) { return Str(Ctx(x).request_id); }
icaht_str HostService(const icaht_exchange* x) { return Str(Ctx(x).service_name); }
icaht_str HostClientIp(const icaht_exchange* x) { return Str(Ctx(x).client_ip); }

int HostAfterMs(icaht_exchange* x, uint32_t ms, icaht_timer_cb cb, void* arg) {
  RequestContext& ctx = Ctx(x);
  if (ctx.extension.phase != Phase::kRequest || ctx.extension.owner == nullptr || cb == nullptr ||
      ms > 3'600'000) {
    return extension::Fail(ctx,
                           "after_ms() outside the request phase, without a callback or "
                           "over 3600000 ms");
  }
  return static_cast<PluginFilter*>(ctx.extension.owner)->ArmTimer(ctx, ms, cb, arg);
}

void HostResume(icaht_exchange* x, int verdict) {
  RequestContext& ctx = Ctx(x);
  if (!ctx.extension.paused || ctx.extension.owner == nullptr) {
    extension::Fail(ctx, "resume() of an exchange that is not paused");
    return;
  }
  static_cast<PluginFilter*>(ctx.extension.owner)->Resume(ctx, verdict);
}

void HostLog(int level, const char* message, size_t len) {
  auto text = View(message, len);
  if (!text) return;
  core::LogLevel log_level = level <= 0   ? core::LogLevel::kDebug
                             : level == 1 ? core::LogLevel::kInfo
                             : level == 2 ? core::LogLevel::kWarn
                                          : core::LogLevel::kError;
  core::Log(log_level, "plugin: ", std::string(*text));
}

constexpr icaht_host_api kHostApi = {
    .abi_major = ICAHT_PLUGIN_ABI_MAJOR,
    .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
    .method = HostMethod,
    .path = HostPath,
    .target = HostTarget,
    .request_header = HostRequestHeader,
    .set_request_header = HostSetRequestHeader,
    .remove_request_header = HostRemoveRequestHeader,
    .respond = HostRespond,
    .set_response_header = HostSetResponseHeader,
    .add_response_header = HostAddResponseHeader,
    .remove_response_header = HostRemoveResponseHeader,
    .response_header = HostResponseHeader,
    .set_status = HostSetStatus,
    .status = HostStatus,
    .duration_us = HostDurationUs,
    .upstream = HostUpstream,
    .request_id = HostRequestId,
    .service = HostService,
    .client_ip = HostClientIp,
    .after_ms = HostAfterMs,
    .resume = HostResume,
    .log = HostLog,
};

}  // namespace

const icaht_host_api* PluginHostApi() { return &kHostApi; }

PluginFilter::PluginFilter(const PluginSpec& spec, std::string_view service, uint32_t shard_index,
                           core::TimerQueue* timers)
    : table_(spec.library != nullptr ? spec.library->table : nullptr),
      plugin_name_(spec.library != nullptr ? spec.library->name : spec.path),
      service_(service),
      timers_(timers) {
  if (table_ != nullptr) {
    instance_ =
        table_->create(&kHostApi, spec.config_json.data(), spec.config_json.size(), shard_index);
  }
  if (instance_ == nullptr) {
    ICAHT_LOG(kError, "plugin '", plugin_name_, "' (service '", service_, "', shard ", shard_index,
              "): create() failed; the service's requests are answered 500");
  }
}

PluginFilter::~PluginFilter() {
  if (instance_ != nullptr) table_->destroy(instance_);
}

void PluginFilter::Failed(RequestContext& ctx, std::string_view phase, std::string_view why) {
  ++failures_;
  ICAHT_LOG_LIMITED(kWarn, "plugin '", plugin_name_, "' (service '", service_, "') ",
                    std::string(phase), ": ", std::string(why), "; answered 500");
  paused_.erase(&ctx);
  EndPause(ctx);
  extension::FillFailure(ctx);
}

void PluginFilter::EndPause(RequestContext& ctx) {
  ctx.extension.paused = false;
  ctx.extension.timer_armed = false;
  ctx.extension.callbacks = nullptr;
  ctx.extension.resumed = nullptr;
}

Verdict PluginFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) {
  if (instance_ == nullptr) {
    Failed(ctx, "on_request", "no instance (create() failed)");
    return Verdict::kRespond;
  }
  if (table_->on_request == nullptr) return Verdict::kContinue;
  extension::Begin(ctx, Phase::kRequest, this);
  const int verdict = table_->on_request(instance_, Handle(ctx));
  if (ctx.extension.failed) {
    Failed(ctx, "on_request", ctx.extension.failure);
    return Verdict::kRespond;
  }
  switch (verdict) {
    case ICAHT_CONTINUE:
      if (!ctx.extension.timer_armed) return Verdict::kContinue;
      Failed(ctx, "on_request", "CONTINUE with a timer armed");
      return Verdict::kRespond;
    case ICAHT_RESPOND:
      // A timer left armed would fire into an exchange that has ended.
      if (!ctx.extension.responded || ctx.extension.timer_armed) {
        Failed(ctx, "on_request", "RESPOND without respond(), or with a timer armed");
      }
      return Verdict::kRespond;
    case ICAHT_PAUSE:
      if (!ctx.extension.timer_armed) {
        Failed(ctx, "on_request", "PAUSE without after_ms()");
        return Verdict::kRespond;
      }
      ctx.extension.paused = true;
      ctx.extension.callbacks = &callbacks;
      return Verdict::kPause;
    default:
      Failed(ctx, "on_request", absl::StrCat("unknown verdict ", verdict));
      return Verdict::kRespond;
  }
}

int PluginFilter::ArmTimer(RequestContext& ctx, uint32_t ms, icaht_timer_cb cb, void* arg) {
  RequestContext* c = &ctx;
  auto paused = std::make_unique<Paused>([this, c] { TimerFired(c); });
  paused->cb = cb;
  paused->arg = arg;
  timers_->Arm(&paused->timer, core::LoopNowNs() + int64_t{ms} * 1'000'000);
  paused_[&ctx] = std::move(paused);  // a timer armed before is dropped (disarmed)
  ctx.extension.timer_armed = true;
  return ICAHT_OK;
}

void PluginFilter::TimerFired(RequestContext* ctx) {
  auto it = paused_.find(ctx);
  ICAHT_CHECK(it != paused_.end());
  Paused* fired = it->second.release();
  paused_.erase(it);
  core::DeferDelete(fired);  // this is its timer's callback
  ctx->extension.timer_armed = false;
  extension::Begin(*ctx, Phase::kRequest, this);
  bool resumed = false;
  ctx->extension.resumed = &resumed;
  fired->cb(instance_, Handle(*ctx), fired->arg);
  // After resume() the exchange went on (and may have ended): touch nothing.
  if (resumed) return;
  ctx->extension.resumed = nullptr;
  if (!ctx->extension.failed && ctx->extension.timer_armed) return;  // waits again
  FilterCallbacks* callbacks = ctx->extension.callbacks;
  Failed(*ctx, "timer callback",
         ctx->extension.failed ? ctx->extension.failure : "neither resume() nor after_ms()");
  callbacks->RespondLocally();
}

void PluginFilter::Resume(RequestContext& ctx, int verdict) {
  if (bool* resumed = ctx.extension.resumed) *resumed = true;
  FilterCallbacks* callbacks = ctx.extension.callbacks;
  ICAHT_CHECK(callbacks != nullptr);
  paused_.erase(&ctx);  // a timer armed again in the callback
  EndPause(ctx);
  if (ctx.extension.failed) {
    Failed(ctx, "resume", ctx.extension.failure);
    return callbacks->RespondLocally();
  }
  if (verdict == ICAHT_CONTINUE) return callbacks->Resume();
  if (verdict == ICAHT_RESPOND && ctx.local_response.status != 0) {
    return callbacks->RespondLocally();
  }
  Failed(ctx, "resume",
         verdict == ICAHT_RESPOND ? "RESPOND without respond()"
                                  : absl::StrCat("invalid verdict ", verdict));
  callbacks->RespondLocally();
}

void PluginFilter::OnResponseHead(RequestContext& ctx) {
  if (instance_ == nullptr || table_->on_response == nullptr) return;
  extension::Begin(ctx, Phase::kResponse, this);
  const int verdict = table_->on_response(instance_, Handle(ctx));
  if (!ctx.extension.failed && verdict == ICAHT_CONTINUE) return;
  ++failures_;
  const std::string why = ctx.extension.failed ? std::string(ctx.extension.failure)
                                               : absl::StrCat("invalid verdict ", verdict);
  ICAHT_LOG_LIMITED(kWarn, "plugin '", plugin_name_, "' (service '", service_,
                    "') on_response: ", why, "; status 500");
  extension::FailResponse(ctx);
}

void PluginFilter::OnLog(const RequestContext& ctx) {
  if (instance_ == nullptr || table_->on_log == nullptr) return;
  extension::Begin(ctx, Phase::kLog, this);
  table_->on_log(instance_, Handle(ctx));
}

void PluginFilter::OnCancel(RequestContext& ctx) {
  paused_.erase(&ctx);  // disarms its timer
  EndPause(ctx);
  if (instance_ != nullptr && table_->on_cancel != nullptr)
    table_->on_cancel(instance_, Handle(ctx));
}

}  // namespace icaht::filters
