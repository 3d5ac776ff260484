#include "filters/health.h"

namespace icaht::filters {

Verdict HealthFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks&) {
  http::Method method = ctx.request().method_id;
  if (method != http::Method::kGet && method != http::Method::kHead) return Verdict::kContinue;
  std::string_view path = ctx.path();
  if (!spec_.path.empty() && path == spec_.path) {
    bool serving = !view_->draining();
    Answer(ctx, serving, "status", serving ? "\"serving\"" : "\"draining\"");
    return Verdict::kRespond;
  }
  if (!spec_.ready_path.empty() && path == spec_.ready_path) {
    bool ready = false;
    for (size_t i = 0; i < view_->upstream_count(); ++i) ready |= view_->upstream_usable(i);
    ready &= !view_->draining();
    Answer(ctx, ready, "ready", ready ? "true" : "false");
    return Verdict::kRespond;
  }
  return Verdict::kContinue;
}

void HealthFilter::Answer(RequestContext& ctx, bool ok, std::string_view key,
                          std::string_view value) const {
  // Service names and instance addresses need no JSON escaping (record
  // validation allows [a-z0-9._-] and IP:port only).
  LocalResponse& r = ctx.local_response;
  r.status = ok ? 200 : 503;
  r.content_type = "application/json";
  r.body.clear();
  r.body.append("{\"service\":\"").append(service_).append("\",\"");
  r.body.append(key).append("\":").append(value).append(",\"instances\":[");
  for (size_t i = 0; i < view_->upstream_count(); ++i) {
    if (i > 0) r.body.push_back(',');
    r.body.append("{\"address\":\"").append(view_->upstream_address(i)).append("\",\"state\":\"");
    std::string_view state = view_->upstream_ejected_now(i) ? "ejected"
                             : view_->upstream_usable(i)    ? "up"
                                                            : "down";
    r.body.append(state).append("\"}");
  }
  r.body.append("]}");
}

}  // namespace icaht::filters
