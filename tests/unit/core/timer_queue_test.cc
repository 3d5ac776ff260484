#include "core/timer_queue.h"

#include <vector>

#include "gtest/gtest.h"

namespace icaht::core {
namespace timer_queue_test {

TEST(TimerQueueTest, FiresInDeadlineOrderOnlyWhenDue) {
  TimerQueue queue;
  std::vector<int> order;
  Timer a([&] { order.push_back(1); });
  Timer b([&] { order.push_back(2); });
  Timer c([&] { order.push_back(3); });
  queue.Arm(&b, 200);
  queue.Arm(&a, 100);
  queue.Arm(&c, 300);
  EXPECT_EQ(queue.NextDeadline(), 100);
  queue.FireExpired(99);
  EXPECT_TRUE(order.empty());
  queue.FireExpired(250);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_TRUE(c.armed());
  EXPECT_FALSE(a.armed());
}

TEST(TimerQueueTest, RearmMovesAndCancelRemoves) {
  TimerQueue queue;
  int fired = 0;
  Timer t([&] { ++fired; });
  queue.Arm(&t, 100);
  queue.Arm(&t, 500);
  queue.FireExpired(200);
  EXPECT_EQ(fired, 0);
  queue.Cancel(&t);
  queue.FireExpired(1000);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(queue.NextDeadline(), INT64_MAX);
}

TEST(TimerQueueTest, PushedLaterFiresAtTheNewDeadlineOnly) {
  TimerQueue queue;
  int fired = 0;
  Timer t([&] { ++fired; });
  queue.Arm(&t, 100);
  queue.Arm(&t, 300);  // later: recorded lazily
  queue.FireExpired(150);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(t.armed());
  EXPECT_EQ(queue.NextDeadline(), 300);
  queue.Arm(&t, 200);  // earlier than the slot: moved
  queue.FireExpired(250);
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(t.armed());
}

TEST(TimerQueueTest, DestroyedTimerIsForgotten) {
  TimerQueue queue;
  int fired = 0;
  {
    Timer t([&] { ++fired; });
    queue.Arm(&t, 100);
  }
  queue.FireExpired(1000);
  EXPECT_EQ(fired, 0);
}

TEST(TimerQueueTest, CallbackMayArmAnotherTimer) {
  TimerQueue queue;
  std::vector<int> order;
  Timer second([&] { order.push_back(2); });
  Timer first([&] {
    order.push_back(1);
    queue.Arm(&second, 150);
  });
  queue.Arm(&first, 100);
  queue.FireExpired(200);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

}  // namespace timer_queue_test
}  // namespace icaht::core
