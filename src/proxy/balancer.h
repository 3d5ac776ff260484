#pragma once
// Load-balancing policies (the record's `load_balancer`), one Balancer per
// service per shard: state is per shard, never shared.
//
//   round_robin    smooth weighted round-robin (as nginx): deterministic
//   least_request  power of two choices: two instances drawn by weight, the
//                  one with fewer requests in flight (on this shard) per
//                  unit of weight wins (Envoy's default)
//   random         weighted random
//   ring_hash      consistent hashing on a ring of virtual nodes (ketama:
//                  256 per unit of weight in lowest terms, at most 65536)
//   maglev         consistent hashing with Maglev's lookup table (65537)
//
// The hashing policies hash a key of the request (`hash_on`: the client's
// IP, a header or a cookie) and fall back to random when the request has
// none. The ring and the table are built from the instances' addresses with a
// stable hash, so every shard and every host maps a key alike, and an
// instance joining or leaving moves only about its share of the keys. An
// instance out of rotation (unhealthy, down, ejected) is skipped: its keys go
// to the next instance on the ring or in the table, the others stay.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/random.h"
#include "proxy/service_config.h"

namespace icaht::proxy {

// "round_robin", ... (nullopt for an unknown name).
std::optional<LbPolicy> ParseLbPolicy(std::string_view name);
std::string_view LbPolicyName(LbPolicy policy);

// A stable 64-bit hash (the same in every process and on every host).
uint64_t StableHash(std::string_view data, uint64_t seed = 0);

class Balancer {
 public:
  Balancer();
  // For a new set of instances (a config): rebuilds the ring or table.
  void Reset(LbPolicy policy, const std::vector<UpstreamConfig>& upstreams);

  struct Request {
    // By index: true = not to be picked (out of rotation). Same size as the
    // instances, or null.
    const std::vector<bool>* out = nullptr;
    // Avoided when another instance can be picked (a retry's last one), or -1.
    int skip = -1;
    // Instances (index < 64) a retry tried already: left out unless no other
    // remains.
    uint64_t tried = 0;
    // The hashing policies' key (StableHash of it); none: random.
    std::optional<uint64_t> hash;
    // least_request: requests in flight per instance (this shard's).
    const std::vector<uint32_t>* active = nullptr;
  };
  // The instance's index, or -1 when every instance is out.
  int Pick(const std::vector<UpstreamConfig>& upstreams, const Request& request);

  // Any instance but `skip` (if another exists) and those `out` marks (a
  // subset's others; may be null), by weight, ignoring every other state: for
  // an exchange whose config was replaced meanwhile.
  int PickAny(const std::vector<UpstreamConfig>& upstreams, int skip,
              const std::vector<bool>* out = nullptr);

  LbPolicy policy() const { return policy_; }
  static constexpr uint32_t kMaglevTableSize = 65537;  // prime (Maglev's paper, Envoy)

  // For tests: the table's owners, by slot.
  const std::vector<int>& maglev_table() const { return maglev_; }

 private:
  bool Eligible(const Request& request, size_t i) const;
  int PickWeightedRandom(const std::vector<UpstreamConfig>& upstreams, const Request& request,
                         int avoid);
  int PickLeastRequest(const std::vector<UpstreamConfig>& upstreams, const Request& request);
  int PickRing(const Request& request, uint64_t hash);
  int PickMaglev(const Request& request, uint64_t hash);
  void BuildRing(const std::vector<UpstreamConfig>& upstreams);
  void BuildMaglev(const std::vector<UpstreamConfig>& upstreams);

  LbPolicy policy_ = LbPolicy::kRoundRobin;
  WeightedRoundRobin round_robin_;
  core::FastRandom random_;
  std::vector<std::pair<uint64_t, int>> ring_;  // (point, instance), sorted by point
  std::vector<int> maglev_;                     // slot -> instance
};

}  // namespace icaht::proxy
