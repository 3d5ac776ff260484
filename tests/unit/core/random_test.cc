#include "core/random.h"

#include <gtest/gtest.h>

#include <set>

namespace icaht::core {
namespace random_test {

TEST(FastRandomTest, SameSeedSameSequence) {
  FastRandom a(42);
  FastRandom b(42);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Next(), b.Next());
}

TEST(FastRandomTest, SeedsAndEntropyGiveDifferentSequences) {
  std::set<uint64_t> firsts;
  for (uint64_t seed = 0; seed < 100; ++seed) firsts.insert(FastRandom(seed).Next());
  EXPECT_EQ(firsts.size(), 100u);
  FastRandom x = FastRandom::FromEntropy();
  FastRandom y = FastRandom::FromEntropy();
  EXPECT_NE(x.Next(), y.Next());
}

TEST(FastRandomTest, ZeroSeedIsUsable) {
  FastRandom r(0);
  uint64_t any = 0;
  for (int i = 0; i < 4; ++i) any |= r.Next();
  EXPECT_NE(any, 0u);
}

TEST(FastRandomTest, DoublesAreInUnitIntervalAndSpreadOut) {
  FastRandom r(7);
  int below_half = 0;
  for (int i = 0; i < 10000; ++i) {
    const double d = r.NextDouble();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    below_half += d < 0.5;
  }
  EXPECT_NEAR(below_half, 5000, 300);
}

}  // namespace random_test
}  // namespace icaht::core
