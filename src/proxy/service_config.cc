#include "proxy/service_config.h"

namespace icaht::proxy {

const filters::FilterSpecs& ServiceConfig::filters() const {
  static const filters::FilterSpecs kNone;
  return filter_specs != nullptr ? *filter_specs : kNone;
}

filters::FilterSpecs& ServiceConfig::mutable_filters() {
  if (filter_specs == nullptr) {
    filter_specs = std::make_shared<filters::FilterSpecs>();
  } else if (filter_specs.use_count() > 1) {
    filter_specs = std::make_shared<filters::FilterSpecs>(*filter_specs);
  }
  return *filter_specs;
}

void WeightedRoundRobin::Reset(const std::vector<UpstreamConfig>& upstreams) {
  current_.assign(upstreams.size(), 0);
}

int WeightedRoundRobin::Next(const std::vector<UpstreamConfig>& upstreams, int skip,
                             const std::vector<bool>* out) {
  if (current_.size() != upstreams.size()) Reset(upstreams);
  // Only the instances in rotation take part (smooth WRR over that set).
  auto in_rotation = [out](size_t i) { return out == nullptr || !(*out)[i]; };
  size_t eligible = 0;
  for (size_t i = 0; i < upstreams.size(); ++i) eligible += in_rotation(i);
  if (eligible == 0) return -1;
  if (skip >= 0 && eligible > 1) {
    // A retry: the instance next in turn other than `skip`, without moving
    // the rotation (a failing instance must not take every first attempt).
    int best = -1;
    for (size_t i = 0; i < upstreams.size(); ++i) {
      if (!in_rotation(i) || static_cast<int>(i) == skip) continue;
      if (best < 0 || current_[i] + upstreams[i].weight > current_[best] + upstreams[best].weight) {
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) return best;
  }
  int64_t total = 0;
  size_t best = 0;
  bool found = false;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (!in_rotation(i)) continue;
    current_[i] += upstreams[i].weight;
    total += upstreams[i].weight;
    if (static_cast<int>(i) == skip && eligible > 1) continue;
    if (!found || current_[i] > current_[best]) {
      best = i;
      found = true;
    }
  }
  current_[best] -= total;
  return static_cast<int>(best);
}

bool ApplyPeerPolicy(const ServiceConfig& config, filters::RequestContext& ctx) {
  if (!config.peer_header.empty()) {
    // Only we say who the peer is.
    ctx.upstream_edits.Remove(config.peer_header);
    if (ctx.tls != nullptr && !ctx.tls->peer_header_value.empty()) {
      ctx.upstream_edits.Add(config.peer_header, ctx.tls->peer_header_value);
    }
  }
  return config.allow_peers.empty() ||
         (ctx.tls != nullptr && net::PeerAllowed(config.allow_peers, ctx.tls->peer_uri_sans));
}

}  // namespace icaht::proxy
