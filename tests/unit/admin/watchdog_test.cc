#include "admin/watchdog.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace icaht::admin {
namespace watchdog_test {

TEST(PingRoundTest, NamesTheShardsThatDidNotAnswer) {
  PingRound round;
  EXPECT_TRUE(round.Silent().empty());  // no round yet
  round.Begin(3);
  EXPECT_EQ(round.Silent(), (std::vector<size_t>{0, 1, 2}));
  round.Answer(2);
  round.Answer(0);
  round.Answer(7);  // not a shard of this round: ignored
  EXPECT_EQ(round.Silent(), (std::vector<size_t>{1}));
  round.Answer(1);
  EXPECT_TRUE(round.Silent().empty());
  round.Begin(3);  // a new round forgets the old answers
  EXPECT_EQ(round.Silent().size(), 3u);
}

TEST(WatchdogTest, IntervalFromEnvironment) {
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(Watchdog::IntervalFromEnv(), 0);
  setenv("WATCHDOG_USEC", "2000000", 1);
  EXPECT_EQ(Watchdog::IntervalFromEnv(), 2'000'000'000);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(Watchdog::IntervalFromEnv(), 2'000'000'000);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(Watchdog::IntervalFromEnv(), 0);  // meant for another process
  unsetenv("WATCHDOG_PID");
  setenv("WATCHDOG_USEC", "soon", 1);
  EXPECT_EQ(Watchdog::IntervalFromEnv(), 0);
  unsetenv("WATCHDOG_USEC");
}

}  // namespace watchdog_test
}  // namespace icaht::admin
