#include "core/recycled.h"

#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace icaht::core {
namespace recycled_test {

struct Counted : Recycled<Counted> {
  Counted() { ++constructed; }
  ~Counted() { ++destroyed; }
  char payload[200] = {};
  static inline int constructed = 0;
  static inline int destroyed = 0;
};

TEST(RecycledTest, ConstructsAndDestroysAsPlainNewDelete) {
  Counted::constructed = Counted::destroyed = 0;
  auto* a = new Counted;
  a->payload[0] = 'x';
  delete a;
  auto* b = new Counted;
  EXPECT_EQ(b->payload[0], 0);  // constructed anew, whatever the block held
  delete b;
  EXPECT_EQ(Counted::constructed, 2);
  EXPECT_EQ(Counted::destroyed, 2);
}

TEST(RecycledTest, ReusesTheLastFreedBlockOnTheSameThread) {
  if (!ICAHT_RECYCLE_BLOCKS) GTEST_SKIP() << "blocks are not recycled under ASan";
  auto* a = new Counted;
  void* block = a;
  delete a;
  auto* b = new Counted;
  EXPECT_EQ(static_cast<void*>(b), block);
  delete b;
}

TEST(RecycledTest, ThreadsKeepTheirOwnBlocks) {
  if (!ICAHT_RECYCLE_BLOCKS) GTEST_SKIP() << "blocks are not recycled under ASan";
  auto* a = new Counted;
  void* block = a;
  delete a;
  void* other = nullptr;
  std::thread([&] {
    auto* b = new Counted;
    other = b;
    delete b;
  }).join();
  EXPECT_NE(other, block);
  auto* c = new Counted;
  EXPECT_EQ(static_cast<void*>(c), block);
  delete c;
}

}  // namespace recycled_test
}  // namespace icaht::core
