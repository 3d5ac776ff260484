// Exchange on the egress listener (exchange.h): a routed request's rewrite,
// a refusal's answer, and the egress series.

#include "core/timer_queue.h"
#include "proxy/exchange.h"

namespace icaht::proxy {

void Exchange::StartEgress(const http::RequestHead& head, std::string_view input, bool close_after,
                           EgressRoute& route) {
  egress_metrics_ = route.metrics;
  if (route.service == nullptr) {
    ctx_.SetRequest(head, input);
    close_after_ = close_after || !head.keep_alive;
    has_request_body_ =
        head.framing == http::BodyFraming::kChunked ||
        (head.framing == http::BodyFraming::kContentLength && head.content_length > 0);
    ctx_.local_response.status = route.status;
    ctx_.local_response.content_type = "application/json";
    ctx_.local_response.body = std::move(route.body);
    return RespondLocally();
  }
  route_config_ = std::move(route.config);
  config_ = route_config_.get();
  ctx_.service_name = config_->name;
  ctx_.SetRequest(head, input);
  const EgressTarget& t = route.target;
  // A service gets the Host the caller sent; an external host its own.
  if (!t.target.empty() || t.kind == EgressTarget::Kind::kExternal) {
    ctx_.RewriteTarget(t.target.empty() ? ctx_.request().target : t.target,
                       t.kind == EgressTarget::Kind::kExternal ? t.authority : "");
  }
  if (t.from_target_header) {
    ctx_.upstream_edits.Remove(kTargetHeader);
    ctx_.upstream_edits.Remove(kInternalHeader);
  }
  ctx_.upstream_edits.Remove("proxy-authorization");  // meant for this hop
  Begin(close_after);
}

void Exchange::RecordEgress() {
  egress_metrics_->requests.Add(ctx_.response_status);
  egress_metrics_->duration.Observe(ctx_.end_ns - ctx_.start_ns);
  // The last egress exchange of a service being removed lets it go.
  if (service_.removing) shard_.SweepRemovedLater();
}

}  // namespace icaht::proxy
