#include "proxy/balancer.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace icaht::proxy {
namespace balancer_test {

std::vector<UpstreamConfig> Instances(const std::vector<uint32_t>& weights) {
  std::vector<UpstreamConfig> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    UpstreamConfig u;
    u.text = absl::StrCat("10.0.0.", i + 1, ":8080");
    u.address = *net::Address::Parse(u.text);
    u.weight = weights[i];
    out.push_back(u);
  }
  return out;
}

// Picks for keys "user-0" .. "user-<n-1>" (hashing policies), or n unkeyed picks.
std::vector<int> Picks(Balancer& b, const std::vector<UpstreamConfig>& u, int n, bool keyed,
                       const std::vector<bool>* out = nullptr) {
  std::vector<int> picks;
  for (int k = 0; k < n; ++k) {
    Balancer::Request r;
    r.out = out;
    if (keyed) r.hash = StableHash(absl::StrCat("user-", k));
    picks.push_back(b.Pick(u, r));
  }
  return picks;
}

std::map<int, int> Count(const std::vector<int>& picks) {
  std::map<int, int> counts;
  for (int p : picks) ++counts[p];
  return counts;
}

TEST(BalancerTest, PolicyNames) {
  for (std::string_view name : {"round_robin", "least_request", "random", "ring_hash", "maglev"}) {
    ASSERT_TRUE(ParseLbPolicy(name).has_value()) << name;
    EXPECT_EQ(LbPolicyName(*ParseLbPolicy(name)), name);
  }
  EXPECT_FALSE(ParseLbPolicy("roundrobin").has_value());
}

TEST(BalancerTest, StableHashIsFixed) {
  // Every host and every version must map a key alike: the values are part of the contract.
  EXPECT_EQ(StableHash(""), StableHash(""));
  EXPECT_NE(StableHash("a"), StableHash("b"));
  EXPECT_NE(StableHash("a", 1), StableHash("a", 2));
  EXPECT_EQ(StableHash("10.0.0.1:8080"), 17264454825351428012ULL);
}

// 10,000 picks over weights 1:2:3:4 land within 10% of their shares.
TEST(BalancerTest, EveryPolicyHonoursWeights) {
  const std::vector<UpstreamConfig> u = Instances({1, 2, 3, 4});
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer b;
    b.Reset(policy, u);
    bool keyed = policy == LbPolicy::kRingHash || policy == LbPolicy::kMaglev;
    std::map<int, int> counts = Count(Picks(b, u, 10000, keyed));
    for (int i = 0; i < 4; ++i) {
      double share = counts[i] / 10000.0;
      double want = (i + 1) / 10.0;
      EXPECT_NEAR(share, want, want * 0.1 + 0.01) << LbPolicyName(policy) << " instance " << i;
    }
  }
}

TEST(BalancerTest, HashingPoliciesAreConsistentAndFallBackToRandom) {
  const std::vector<UpstreamConfig> u = Instances({1, 1, 1});
  for (LbPolicy policy : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer a, b;
    a.Reset(policy, u);
    b.Reset(policy, u);  // another shard, or another host
    EXPECT_EQ(Picks(a, u, 1000, true), Picks(b, u, 1000, true)) << LbPolicyName(policy);
    // No key: spread, not all on one instance.
    EXPECT_EQ(Count(Picks(a, u, 3000, false)).size(), 3u) << LbPolicyName(policy);
  }
}

// One of ten instances leaves: about a tenth of the keys move, and (nearly) only those that
// were on it.
TEST(BalancerTest, ConsistentHashingRemapsAboutOneTenth) {
  const std::vector<UpstreamConfig> ten = Instances(std::vector<uint32_t>(10, 1));
  std::vector<UpstreamConfig> nine = ten;
  nine.erase(nine.begin() + 4);
  for (LbPolicy policy : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer before, after;
    before.Reset(policy, ten);
    after.Reset(policy, nine);
    std::vector<int> a = Picks(before, ten, 10000, true);
    std::vector<int> b = Picks(after, nine, 10000, true);
    int moved = 0, moved_from_others = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      const std::string& was = ten[a[k]].text;
      const std::string& now = nine[b[k]].text;
      if (was != now) {
        ++moved;
        if (a[k] != 4) ++moved_from_others;
      }
    }
    EXPECT_NEAR(moved / 10000.0, 0.1, 0.03) << LbPolicyName(policy);
    // The ring keeps every other key; Maglev nearly (its paper: a few percent of the table).
    EXPECT_LE(moved_from_others, policy == LbPolicy::kRingHash ? 0 : 300) << LbPolicyName(policy);
  }
}

// Weights in other terms (1000:1000 is 1:1) and instances listed in another order (another
// host's record) map every key alike; big weights keep the ring small.
TEST(BalancerTest, HashingIgnoresWeightScaleAndListingOrder) {
  const std::vector<UpstreamConfig> ones = Instances({1, 1, 1, 1});
  std::vector<UpstreamConfig> big = Instances({1000, 1000, 1000, 1000});
  std::vector<UpstreamConfig> reversed(ones.rbegin(), ones.rend());
  for (LbPolicy policy : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer a, b, c;
    a.Reset(policy, ones);
    b.Reset(policy, big);
    c.Reset(policy, reversed);
    std::vector<int> pa = Picks(a, ones, 2000, true);
    EXPECT_EQ(pa, Picks(b, big, 2000, true)) << LbPolicyName(policy);
    std::vector<int> pc = Picks(c, reversed, 2000, true);
    for (size_t k = 0; k < pa.size(); ++k) {
      ASSERT_EQ(ones[pa[k]].text, reversed[pc[k]].text) << LbPolicyName(policy) << " key " << k;
    }
  }
}

TEST(BalancerTest, TriedInstancesAreLeftOutUntilNoneRemain) {
  const std::vector<UpstreamConfig> u = Instances({1, 1, 1});
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer b;
    b.Reset(policy, u);
    for (int k = 0; k < 50; ++k) {
      // Third try: 0 tried before, 1 just now.
      Balancer::Request r{.skip = 1, .tried = 1, .hash = StableHash(absl::StrCat(k))};
      EXPECT_EQ(b.Pick(u, r), 2) << LbPolicyName(policy);
    }
    Balancer::Request all{.skip = 2, .tried = 0b011, .hash = StableHash("k")};
    EXPECT_NE(b.Pick(u, all), 2) << LbPolicyName(policy);  // every one tried: any but the last
  }
}

// An instance out of rotation loses its keys to the others; theirs stay.
TEST(BalancerTest, OutOfRotationInstancesAreSkipped) {
  const std::vector<UpstreamConfig> u = Instances({1, 1, 1, 1});
  std::vector<bool> out = {false, true, false, false};
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer b;
    b.Reset(policy, u);
    bool keyed = policy == LbPolicy::kRingHash || policy == LbPolicy::kMaglev;
    std::vector<int> all = Picks(b, u, 4000, keyed);
    std::vector<int> some = Picks(b, u, 4000, keyed, &out);
    EXPECT_EQ(Count(some).count(1), 0u) << LbPolicyName(policy);
    EXPECT_EQ(Count(some).size(), 3u) << LbPolicyName(policy);
    if (keyed) {
      for (size_t k = 0; k < all.size(); ++k) {
        if (all[k] != 1) {
          EXPECT_EQ(all[k], some[k]) << LbPolicyName(policy) << " key " << k;
        }
      }
    }
    std::vector<bool> none(4, true);
    Balancer::Request r{.out = &none};
    EXPECT_EQ(b.Pick(u, r), -1);
  }
}

TEST(BalancerTest, SkipAvoidsTheLastInstanceUnlessItIsTheOnlyOne) {
  const std::vector<UpstreamConfig> u = Instances({1, 1, 1});
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer b;
    b.Reset(policy, u);
    for (int k = 0; k < 300; ++k) {
      Balancer::Request r{.skip = k % 3, .hash = StableHash(absl::StrCat(k))};
      EXPECT_NE(b.Pick(u, r), k % 3) << LbPolicyName(policy);
    }
    std::vector<bool> out = {true, false, true};
    Balancer::Request r{.out = &out, .skip = 1, .hash = StableHash("k")};
    EXPECT_EQ(b.Pick(u, r), 1) << LbPolicyName(policy);
    // A replaced config's pick within a subset: the same rule.
    for (int k = 0; k < 20; ++k) EXPECT_EQ(b.PickAny(u, 1, &out), 1);
    std::vector<bool> two = {false, true, false};
    for (int k = 0; k < 20; ++k) EXPECT_EQ(b.PickAny(u, 0, &two), 2);
  }
}

TEST(BalancerTest, ASingleInstanceIsPickedUnlessItIsOut) {
  const std::vector<UpstreamConfig> u = Instances({3});
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Balancer b;
    b.Reset(policy, u);
    std::vector<uint32_t> active = {5};
    Balancer::Request retry{.skip = 0, .tried = 1, .hash = StableHash("k"), .active = &active};
    EXPECT_EQ(b.Pick(u, retry), 0) << LbPolicyName(policy);  // tried and skipped: still it
    std::vector<bool> in = {false}, out = {true};
    EXPECT_EQ(b.Pick(u, Balancer::Request{.out = &in}), 0) << LbPolicyName(policy);
    EXPECT_EQ(b.Pick(u, Balancer::Request{.out = &out}), -1) << LbPolicyName(policy);
  }
}

TEST(BalancerTest, LeastRequestPrefersTheLessLoaded) {
  const std::vector<UpstreamConfig> u = Instances({1, 1});
  Balancer b;
  b.Reset(LbPolicy::kLeastRequest, u);
  std::vector<uint32_t> active = {10, 2};
  for (int k = 0; k < 100; ++k) {
    Balancer::Request r{.active = &active};
    EXPECT_EQ(b.Pick(u, r), 1);
  }
  // Per unit of weight: 10 in flight on weight 10 is less loaded than 2 on weight 1.
  const std::vector<UpstreamConfig> w = Instances({10, 1});
  b.Reset(LbPolicy::kLeastRequest, w);
  for (int k = 0; k < 100; ++k) {
    Balancer::Request r{.active = &active};
    EXPECT_EQ(b.Pick(w, r), 0);
  }
  // Of many instances, the loaded ones get few requests.
  const std::vector<UpstreamConfig> many = Instances(std::vector<uint32_t>(5, 1));
  b.Reset(LbPolicy::kLeastRequest, many);
  std::vector<uint32_t> load = {50, 50, 50, 0, 0};
  int to_loaded = 0;
  for (int k = 0; k < 1000; ++k) {
    Balancer::Request r{.active = &load};
    to_loaded += b.Pick(many, r) < 3;
  }
  EXPECT_LT(to_loaded, 1000 * 0.35);  // two random draws both loaded: 3/5 * 2/4 = 30%
}

TEST(BalancerTest, MaglevTableIsFullAndWeighted) {
  const std::vector<UpstreamConfig> u = Instances({1, 3});
  Balancer b;
  b.Reset(LbPolicy::kMaglev, u);
  ASSERT_EQ(b.maglev_table().size(), Balancer::kMaglevTableSize);
  std::map<int, int> owners;
  for (int owner : b.maglev_table()) ++owners[owner];
  EXPECT_EQ(owners.count(-1), 0u);
  EXPECT_NEAR(owners[1] / double(Balancer::kMaglevTableSize), 0.75, 0.01);
}

}  // namespace balancer_test
}  // namespace icaht::proxy
