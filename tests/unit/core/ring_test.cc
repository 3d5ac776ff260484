#include "core/ring.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/buf_ring.h"
#include "gtest/gtest.h"

namespace icaht::core {
namespace ring_test {

class Recorder : public Completion {
 public:
  void Complete(int res, uint32_t flags) override {
    results.push_back(res);
    last_flags = flags;
  }
  std::vector<int> results;
  uint32_t last_flags = 0;
};

TEST(RingTest, DispatchesCompletionToItsObject) {
  auto ring = Ring::Create(8);
  ASSERT_TRUE(ring.ok()) << ring.status();
  Recorder nop;
  io_uring_sqe* sqe = (*ring)->GetSqe();
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data(sqe, static_cast<Completion*>(&nop));
  (*ring)->RunOnce(1'000'000'000);
  ASSERT_EQ(nop.results.size(), 1u);
  EXPECT_EQ(nop.results[0], 0);
}

TEST(RingTest, AfterABusyRoundALoneCompletionIsNotHeldForABatch) {
  // A round that reaped many completions makes the next wait ask the kernel
  // for a batch (min_wait, Linux 6.12+). A completion that comes alone must
  // still be delivered soon after it is ready, not at the wait's time limit.
  auto ring = Ring::Create(64);
  ASSERT_TRUE(ring.ok()) << ring.status();
  Recorder rec;
  for (int i = 0; i < 16; ++i) {
    io_uring_sqe* sqe = (*ring)->GetSqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, static_cast<Completion*>(&rec));
  }
  (*ring)->RunOnce(1'000'000'000);
  ASSERT_EQ(rec.results.size(), 16u);

  // The lone completion: a poll on a socket another thread writes to 5 ms
  // later (not a timeout op: the kernel wakes every waiter for those).
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  io_uring_sqe* sqe = (*ring)->GetSqe();
  io_uring_prep_poll_add(sqe, fds[0], POLLIN);
  io_uring_sqe_set_data(sqe, static_cast<Completion*>(&rec));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(write(fds[1], "x", 1), 1);
  });
  int64_t start = NowNs();
  (*ring)->RunOnce(2'000'000'000);
  int64_t waited_ms = (NowNs() - start) / 1'000'000;
  writer.join();
  close(fds[0]);
  close(fds[1]);
  ASSERT_EQ(rec.results.size(), 17u);
  EXPECT_TRUE(rec.results.back() & POLLIN);
  EXPECT_GE(waited_ms, 4);
  EXPECT_LT(waited_ms, 500) << "the lone completion was held for a batch";
}

TEST(RingTest, GetSqeSubmitsWhenFull) {
  auto ring = Ring::Create(4);
  ASSERT_TRUE(ring.ok());
  Recorder nop;
  for (int i = 0; i < 20; ++i) {
    io_uring_sqe* sqe = (*ring)->GetSqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, static_cast<Completion*>(&nop));
  }
  for (int i = 0; i < 20 && nop.results.size() < 20; ++i) (*ring)->RunOnce(100'000'000);
  EXPECT_EQ(nop.results.size(), 20u);
}

TEST(RingTest, IgnoredCompletionsAreSkipped) {
  auto ring = Ring::Create(8);
  ASSERT_TRUE(ring.ok());
  io_uring_sqe* sqe = (*ring)->GetSqe();
  io_uring_prep_nop(sqe);
  Ring::SetIgnored(sqe);
  (*ring)->RunOnce(100'000'000);  // must not crash dereferencing user_data 0
  SUCCEED();
}

TEST(RingTest, TimersFireFromTheLoop) {
  auto ring = Ring::Create(8);
  ASSERT_TRUE(ring.ok());
  int fired = 0;
  Timer timer([&] { ++fired; });
  (*ring)->timers().Arm(&timer, NowNs() + 20'000'000);
  int64_t deadline = NowNs() + 2'000'000'000;
  while (fired == 0 && NowNs() < deadline) (*ring)->RunOnce(1'000'000'000);
  EXPECT_EQ(fired, 1);
}

TEST(BufRingTest, MultishotRecvFillsProvidedBuffers) {
  auto ring = Ring::Create(8);
  ASSERT_TRUE(ring.ok());
  auto bufs = BufRing::Create(**ring, 3, 8, 4096);
  ASSERT_TRUE(bufs.ok()) << bufs.status();
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Recorder recv;
  io_uring_sqe* sqe = (*ring)->GetSqe();
  io_uring_prep_recv_multishot(sqe, fds[0], nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 3;
  io_uring_sqe_set_data(sqe, static_cast<Completion*>(&recv));
  std::string received;
  for (int round = 0; round < 3; ++round) {
    std::string msg = "message " + std::to_string(round);
    ASSERT_EQ(write(fds[1], msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
    size_t before = recv.results.size();
    for (int i = 0; i < 10 && recv.results.size() == before; ++i) (*ring)->RunOnce(100'000'000);
    ASSERT_GT(recv.results.size(), before);
    int res = recv.results.back();
    ASSERT_GT(res, 0);
    EXPECT_TRUE(recv.last_flags & IORING_CQE_F_MORE);
    uint16_t bid = recv.last_flags >> IORING_CQE_BUFFER_SHIFT;
    received.append((*bufs)->Buffer(bid), res);
    (*bufs)->Recycle(bid);
  }
  EXPECT_EQ(received, "message 0message 1message 2");
  close(fds[1]);
  for (int i = 0; i < 10 && recv.results.back() != 0; ++i) (*ring)->RunOnce(100'000'000);
  EXPECT_EQ(recv.results.back(), 0);  // EOF ends the multishot
  close(fds[0]);
}

}  // namespace ring_test
}  // namespace icaht::core
