#include "proxy/balancer.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"

namespace icaht::proxy {
namespace {

// Points per unit of weight: an instance's points depend on its own weight
// only, so one joining or leaving moves no other instance's keys.
constexpr uint64_t kRingPointsPerWeight = 256;
constexpr uint64_t kMaxRingSize = 1 << 16;

}  // namespace

std::optional<LbPolicy> ParseLbPolicy(std::string_view name) {
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    if (LbPolicyName(policy) == name) return policy;
  }
  return std::nullopt;
}

std::string_view LbPolicyName(LbPolicy policy) {
  switch (policy) {
    case LbPolicy::kRoundRobin:
      return "round_robin";
    case LbPolicy::kLeastRequest:
      return "least_request";
    case LbPolicy::kRandom:
      return "random";
    case LbPolicy::kRingHash:
      return "ring_hash";
    case LbPolicy::kMaglev:
      return "maglev";
  }
  return "round_robin";
}

uint64_t StableHash(std::string_view data, uint64_t seed) {
  // FNV-1a, then a finalizer for avalanche (FNV alone clusters short keys).
  uint64_t h = 0xcbf29ce484222325ULL ^ core::Mix64(seed + 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return core::Mix64(h);
}

Balancer::Balancer() : random_(core::FastRandom::FromEntropy()) {}

void Balancer::Reset(LbPolicy policy, const std::vector<UpstreamConfig>& upstreams) {
  policy_ = policy;
  round_robin_.Reset(upstreams);
  ring_.clear();
  maglev_.clear();
  if (policy == LbPolicy::kRingHash) BuildRing(upstreams);
  if (policy == LbPolicy::kMaglev) BuildMaglev(upstreams);
}

bool Balancer::Eligible(const Request& request, size_t i) const {
  if (i < 64 && (request.tried >> i) & 1) return false;
  return request.out == nullptr || !(*request.out)[i];
}

int Balancer::Pick(const std::vector<UpstreamConfig>& upstreams, const Request& request) {
  if (upstreams.empty()) return -1;
  // One instance (most services): nothing to choose, whatever was tried or
  // skipped; only whether it is out of rotation.
  if (upstreams.size() == 1) return request.out == nullptr || !(*request.out)[0] ? 0 : -1;
  Request r = request;
  // Instances tried already count as out unless that leaves none; `skip` the
  // same, unless it is the only one left.
  auto count = [&](bool but_skip) {
    size_t n = 0;
    for (size_t i = 0; i < upstreams.size(); ++i) {
      n += Eligible(r, i) && !(but_skip && static_cast<int>(i) == r.skip);
    }
    return n;
  };
  if (r.tried != 0 && count(true) == 0) r.tried = 0;
  const size_t eligible = count(false);
  if (eligible == 0) return -1;
  if (r.skip >= 0 && (eligible == 1 || static_cast<size_t>(r.skip) >= upstreams.size() ||
                      !Eligible(r, static_cast<size_t>(r.skip)))) {
    r.skip = -1;
  }
  switch (policy_) {
    case LbPolicy::kRoundRobin:
      if (r.tried != 0) return PickWeightedRandom(upstreams, r, -1);  // a third try and later
      return round_robin_.Next(upstreams, r.skip, r.out);
    case LbPolicy::kLeastRequest:
      return PickLeastRequest(upstreams, r);
    case LbPolicy::kRandom:
      return PickWeightedRandom(upstreams, r, -1);
    case LbPolicy::kRingHash:
      if (r.hash && !ring_.empty()) return PickRing(r, *r.hash);
      return PickWeightedRandom(upstreams, r, -1);
    case LbPolicy::kMaglev:
      if (r.hash && !maglev_.empty()) return PickMaglev(r, *r.hash);
      return PickWeightedRandom(upstreams, r, -1);
  }
  return -1;
}

int Balancer::PickAny(const std::vector<UpstreamConfig>& upstreams, int skip,
                      const std::vector<bool>* out) {
  Request r{.out = out, .skip = skip};
  // `skip` only while another instance can be picked.
  bool other = false;
  for (size_t i = 0; i < upstreams.size() && !other; ++i) {
    other = static_cast<int>(i) != skip && Eligible(r, i);
  }
  if (!other) r.skip = -1;
  return PickWeightedRandom(upstreams, r, -1);
}

int Balancer::PickWeightedRandom(const std::vector<UpstreamConfig>& upstreams,
                                 const Request& request, int avoid) {
  auto usable = [&](size_t i) {
    return Eligible(request, i) && static_cast<int>(i) != request.skip &&
           static_cast<int>(i) != avoid;
  };
  uint64_t total = 0;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (usable(i)) total += upstreams[i].weight;
  }
  if (total == 0) return -1;
  uint64_t r = random_.Next() % total;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (!usable(i)) continue;
    if (r < upstreams[i].weight) return static_cast<int>(i);
    r -= upstreams[i].weight;
  }
  return -1;
}

int Balancer::PickLeastRequest(const std::vector<UpstreamConfig>& upstreams,
                               const Request& request) {
  int a = PickWeightedRandom(upstreams, request, -1);
  if (a < 0) return -1;
  int b = PickWeightedRandom(upstreams, request, a);
  if (b < 0 || request.active == nullptr || request.active->size() != upstreams.size()) return a;
  // Fewer in flight per unit of weight: (active_a + 1) / w_a < (active_b + 1) / w_b.
  uint64_t load_a = (uint64_t{(*request.active)[a]} + 1) * upstreams[b].weight;
  uint64_t load_b = (uint64_t{(*request.active)[b]} + 1) * upstreams[a].weight;
  return load_b < load_a ? b : a;
}

// Instance indices in the order of their addresses: the ring's and the
// table's construction must not depend on the order a record lists them in,
// so that hosts listing them differently still map keys alike.
static std::vector<size_t> ByAddress(const std::vector<UpstreamConfig>& upstreams) {
  std::vector<size_t> order(upstreams.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return upstreams[a].text < upstreams[b].text; });
  return order;
}

void Balancer::BuildRing(const std::vector<UpstreamConfig>& upstreams) {
  // Weights in lowest terms (1000:1000 is 1:1), so the ring stays small.
  uint64_t divisor = 0;
  for (const UpstreamConfig& u : upstreams) divisor = std::gcd(divisor, uint64_t{u.weight});
  if (divisor == 0) return;
  uint64_t total_weight = 0;
  for (const UpstreamConfig& u : upstreams) total_weight += u.weight / divisor;
  // Scaled down only past the cap (large, uneven weights).
  const uint64_t per_weight =
      std::max<uint64_t>(1, std::min(kRingPointsPerWeight, kMaxRingSize / total_weight));
  for (size_t i : ByAddress(upstreams)) {
    const uint64_t points = per_weight * (upstreams[i].weight / divisor);
    const std::string& name = upstreams[i].text;
    for (uint64_t j = 0; j < points; ++j) {
      ring_.emplace_back(StableHash(absl::StrCat(name, "_", j)), static_cast<int>(i));
    }
  }
  std::sort(ring_.begin(), ring_.end());
}

int Balancer::PickRing(const Request& request, uint64_t hash) {
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(hash, -1));
  size_t start = static_cast<size_t>(it - ring_.begin());
  for (size_t n = 0; n < ring_.size(); ++n) {
    int i = ring_[(start + n) % ring_.size()].second;
    if (Eligible(request, static_cast<size_t>(i)) && i != request.skip) return i;
  }
  return -1;
}

void Balancer::BuildMaglev(const std::vector<UpstreamConfig>& upstreams) {
  // Maglev (Eisenbud et al., NSDI 2016), weighted: each round an instance
  // earns weight / max weight of a slot and takes the next free slot of its
  // own permutation of the table for each whole one.
  const size_t n = upstreams.size();
  uint32_t max_weight = 0;
  for (const UpstreamConfig& u : upstreams) max_weight = std::max(max_weight, u.weight);
  if (n == 0 || max_weight == 0) return;
  constexpr uint64_t m = kMaglevTableSize;
  std::vector<uint64_t> offset(n), step(n), next(n, 0);
  std::vector<double> credit(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    offset[i] = StableHash(upstreams[i].text, 1) % m;
    step[i] = StableHash(upstreams[i].text, 2) % (m - 1) + 1;
  }
  maglev_.assign(m, -1);
  const std::vector<size_t> order = ByAddress(upstreams);
  size_t filled = 0;
  while (filled < m) {
    for (size_t i : order) {
      if (filled >= m) break;
      credit[i] += static_cast<double>(upstreams[i].weight) / max_weight;
      while (credit[i] >= 1.0 && filled < m) {
        credit[i] -= 1.0;
        uint64_t slot = 0;
        do {
          slot = (offset[i] + next[i] * step[i]) % m;
          ++next[i];
        } while (maglev_[slot] >= 0);
        maglev_[slot] = static_cast<int>(i);
        ++filled;
      }
    }
  }
}

int Balancer::PickMaglev(const Request& request, uint64_t hash) {
  const size_t start = hash % maglev_.size();
  for (size_t n = 0; n < maglev_.size(); ++n) {
    int i = maglev_[(start + n) % maglev_.size()];
    if (Eligible(request, static_cast<size_t>(i)) && i != request.skip) return i;
  }
  return -1;
}

}  // namespace icaht::proxy
