// Traffic splitting (issue 19): the route of an exchange, chosen once after
// the request filters and before the first attempt (proxy/route_table.h).

#include "core/random.h"
#include "proxy/exchange.h"

namespace icaht::proxy {

bool Exchange::SelectRoute(TargetRewrite* rewrite) {
  const RouteTable& table = *config_->route_table;
  const http::RequestHead& head = ctx_.request();
  // An absolute-form target (a proxy's request) is routed on its path.
  std::string_view target = head.target;
  size_t origin_at = 0;
  if (!target.starts_with('/')) {
    size_t scheme = target.find("://");
    size_t slash = scheme == std::string_view::npos ? scheme : target.find('/', scheme + 3);
    if (slash != std::string_view::npos) origin_at = slash;
  }
  const RouteTable::Route* route =
      table.Match(head.method, target.substr(origin_at), [this](std::string_view name) {
        const http::Header* h = ctx_.FindRequestHeader(name);
        return h != nullptr ? std::optional<std::string_view>(h->value) : std::nullopt;
      });
  if (route == nullptr) return true;  // every instance, the config's policy
  const filters::RouteSpec& spec = route->spec;
  ctx_.route_name = route->name;
  if (spec.direct_response) {
    ctx_.local_response.status = spec.direct_response->status;
    ctx_.local_response.body_view = spec.direct_response->body;
    RespondLocally();
    return false;
  }
  // Sticky with hash_on (a client stays on one side while the weights stay).
  std::optional<uint64_t> key;
  if (config_->hash_on_set && spec.to.size() > 1) key = BalanceHash();
  if (!key) {
    thread_local core::FastRandom random = core::FastRandom::FromEntropy();
    key = random.Next();
  }
  subset_ = table.PickSubset(*route, *key);
  if (subset_ >= 0) ctx_.subset = table.SubsetName(subset_);
  if (spec.rewrite_path_prefix) {
    rewrite->strip = origin_at + spec.match.path.size();  // the result is origin-form
    rewrite->prefix = *spec.rewrite_path_prefix;
  }
  if (config_->egress_call) return true;  // the egress policy's timeouts and retries
  const filters::RouteTimeouts& t = spec.timeouts;
  if (t.connect_ms) connect_timeout_ms_ = *t.connect_ms;
  if (t.request_ms) request_timeout_ms_ = *t.request_ms;
  if (t.total_ms || t.trust_header) {
    SetTotalDeadline(t.total_ms.value_or(config_->total_timeout_ms),
                     t.trust_header.value_or(config_->trust_timeout_header));
  }
  if (spec.retries) retries_ = &*spec.retries;
  return true;
}

}  // namespace icaht::proxy
