#include "core/message.h"

#include <atomic>
#include <future>
#include <thread>

#include "gtest/gtest.h"

namespace icaht::core {
namespace message_test {

// A message that records on which thread each leg ran.
class PingMessage : public Message {
 public:
  PingMessage(Ring** target_ring, std::atomic<bool>* target_stop)
      : target_ring_(target_ring), target_stop_(target_stop) {}
  std::thread::id arrived_on;
  std::thread::id returned_on;
  int value = 0;
  bool returned = false;
  bool stop_after = false;

 protected:
  void OnArrive() override {
    arrived_on = std::this_thread::get_id();
    value *= 2;  // a write on the target, read back on the origin
    if (stop_after) target_stop_->store(true);
    Reply(**target_ring_);
  }
  void OnReturn() override {
    returned_on = std::this_thread::get_id();
    returned = true;
  }

 private:
  Ring** target_ring_;
  std::atomic<bool>* target_stop_;
};

// Runs a ring on its own thread (as a shard does) until told to stop.
struct TargetThread {
  Ring* ring = nullptr;
  std::atomic<bool> stop{false};
  std::thread thread;
  int fd = -1;
  std::thread::id id;

  void Start() {
    std::promise<int> ready;
    auto fut = ready.get_future();
    thread = std::thread([this, &ready] {
      auto r = Ring::Create(64);
      ASSERT_TRUE(r.ok());
      ring = r->get();
      ready.set_value(ring->fd());
      while (!stop.load()) ring->RunOnce(50'000'000);
      for (int i = 0; i < 5; ++i) ring->RunOnce(0);
      ring = nullptr;
    });
    fd = fut.get();
    id = thread.get_id();
  }
};

TEST(MessageTest, RoundTripRunsEachLegOnItsOwnThread) {
  TargetThread target;
  target.Start();
  auto origin = Ring::Create(64);
  ASSERT_TRUE(origin.ok());

  PingMessage msg(&target.ring, &target.stop);
  msg.value = 21;
  msg.stop_after = true;
  msg.Post(**origin, target.fd);
  int64_t deadline = NowNs() + 5'000'000'000;
  while (!msg.returned && NowNs() < deadline) (*origin)->RunOnce(100'000'000);
  target.thread.join();

  ASSERT_TRUE(msg.returned);
  EXPECT_EQ(msg.arrived_on, target.id);
  EXPECT_EQ(msg.returned_on, std::this_thread::get_id());
  EXPECT_EQ(msg.value, 42);
}

TEST(MessageTest, ManyMessagesToSeveralRingsAllReturn) {
  constexpr int kTargets = 3;
  constexpr int kPerTarget = 200;
  TargetThread targets[kTargets];
  for (auto& t : targets) t.Start();
  auto origin = Ring::Create(256);
  ASSERT_TRUE(origin.ok());

  std::vector<std::unique_ptr<PingMessage>> messages;
  for (int t = 0; t < kTargets; ++t) {
    for (int i = 0; i < kPerTarget; ++i) {
      auto m = std::make_unique<PingMessage>(&targets[t].ring, &targets[t].stop);
      m->value = i;
      m->Post(**origin, targets[t].fd);
      messages.push_back(std::move(m));
    }
  }
  int64_t deadline = NowNs() + 10'000'000'000;
  auto all_back = [&] {
    for (auto& m : messages) {
      if (!m->returned) return false;
    }
    return true;
  };
  while (!all_back() && NowNs() < deadline) (*origin)->RunOnce(100'000'000);
  for (auto& t : targets) {
    t.stop = true;
    t.thread.join();
  }
  ASSERT_TRUE(all_back());
  for (int t = 0; t < kTargets; ++t) {
    for (int i = 0; i < kPerTarget; ++i) {
      const PingMessage& m = *messages[t * kPerTarget + i];
      EXPECT_EQ(m.arrived_on, targets[t].id);
      EXPECT_EQ(m.value, 2 * i);
    }
  }
}

}  // namespace message_test
}  // namespace icaht::core
