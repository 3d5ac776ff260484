#include "proxy/service_config.h"

namespace icaht::proxy {

void WeightedRoundRobin::Reset(const std::vector<UpstreamConfig>& upstreams) {
  current_.assign(upstreams.size(), 0);
}

size_t WeightedRoundRobin::Next(const std::vector<UpstreamConfig>& upstreams, int skip) {
  if (current_.size() != upstreams.size()) Reset(upstreams);
  int64_t total = 0;
  size_t best = 0;
  bool found = false;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    current_[i] += upstreams[i].weight;
    total += upstreams[i].weight;
    if (static_cast<int>(i) == skip && upstreams.size() > 1) continue;
    if (!found || current_[i] > current_[best]) {
      best = i;
      found = true;
    }
  }
  current_[best] -= total;
  return best;
}

}  // namespace icaht::proxy
