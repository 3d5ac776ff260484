#include "filters/lua_filter.h"

#include <sys/stat.h>

#include <utility>

#include "core/log.h"
#include "core/timer_queue.h"
#include "filters/extension_api.h"

namespace icaht::filters {

using Phase = ExtensionCall::Phase;

LuaFilter::LuaFilter(LuaSpec spec, std::string_view service, uint32_t shard_index)
    : spec_(std::move(spec)), service_(service), shard_index_(shard_index) {
  next_check_ns_ = core::LoopNowNs() + kCheckIntervalNs;
  Load(Stamp(spec_.file));
}

LuaFilter::FileStamp LuaFilter::Stamp(const std::string& file) {
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return {};
  return {.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
          .size = st.st_size,
          .inode = st.st_ino};
}

void LuaFilter::Load(const FileStamp& stamp) {
  stamp_ = stamp;
  absl::StatusOr<std::unique_ptr<LuaScript>> script =
      LuaScript::Load(spec_.file, spec_.config_json, service_, shard_index_);
  if (!script.ok()) {
    ICAHT_LOG(kError, "lua (service '", service_, "', shard ", shard_index_,
              "): ", std::string(script.status().message()),
              script_ != nullptr ? "; the script loaded before stays in force" : "");
    return;
  }
  script_ = *std::move(script);
}

void LuaFilter::MaybeReload() {
  const int64_t now = core::LoopNowNs();
  if (now < next_check_ns_) return;
  next_check_ns_ = now + kCheckIntervalNs;
  FileStamp stamp = Stamp(spec_.file);
  if (stamp == stamp_) return;
  ++reloads_;
  Load(stamp);
}

void LuaFilter::LogFailure(std::string_view phase, std::string_view error) {
  ++failures_;
  ICAHT_LOG_LIMITED(kWarn, "lua (service '", service_, "') ", std::string(phase), ": ",
                    std::string(error), phase == "on_log" ? "" : "; answered 500");
}

Verdict LuaFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) {
  MaybeReload();
  if (script_ == nullptr) {
    LogFailure("on_request", "no script loaded");
    extension::FillFailure(ctx);
    return Verdict::kRespond;
  }
  if (!script_->has_on_request()) return Verdict::kContinue;
  extension::Begin(ctx, Phase::kRequest, this);
  std::string error;
  if (!script_->OnRequest(ctx, &error)) {
    LogFailure("on_request", error);
    extension::FillFailure(ctx);
    return Verdict::kRespond;
  }
  // respond() gave the exchange its answer.
  return ctx.extension.responded ? Verdict::kRespond : Verdict::kContinue;
}

void LuaFilter::OnResponseHead(RequestContext& ctx) {
  if (script_ == nullptr || !script_->has_on_response()) return;
  extension::Begin(ctx, Phase::kResponse, this);
  std::string error;
  if (script_->OnResponse(ctx, &error)) return;
  LogFailure("on_response", error);
  extension::FailResponse(ctx);
}

void LuaFilter::OnLog(const RequestContext& ctx) {
  if (script_ == nullptr || !script_->has_on_log()) return;
  extension::Begin(ctx, Phase::kLog, this);
  std::string error;
  if (!script_->OnLog(ctx, &error)) LogFailure("on_log", error);
}

}  // namespace icaht::filters
