// Micro benchmark of cross-shard messaging (Seastar's smp_submit_to_perf): a core::Message
// posted from one core::Ring to another on a second thread with IORING_OP_MSG_RING, and
// replied back. This is the path every registry change takes (control thread -> each shard ->
// ack), so its round trip bounds register->serving latency from below.
//
// BM_MsgRingRoundTrip: one message in flight; the time per iteration is one full round trip
// including both threads' wake-ups. BM_MsgRingBatch/N: N messages in flight at once (the
// control thread fanning out); reported per message.
//
// When the machine has >= 2 CPUs, the origin runs on CPU 0 and the target on CPU 1 (as shards
// are pinned); otherwise both share the one CPU.

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "core/check.h"
#include "core/message.h"
#include "core/ring.h"
#include "core/timer_queue.h"

namespace icaht::core {
namespace {

void PinTo(int cpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void Unpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN); ++i) CPU_SET(i, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// A ring running on its own thread, as a shard's does, until stopped.
class TargetThread {
 public:
  TargetThread() {
    std::promise<int> ready;
    auto fut = ready.get_future();
    thread_ = std::thread([this, &ready] {
      PinTo(1);
      auto r = Ring::Create(256);
      ICAHT_CHECK(r.ok());
      ring_ = std::move(*r);
      ready.set_value(ring_->fd());
      while (!stop_.load(std::memory_order_relaxed)) ring_->RunOnce(10'000'000);
      for (int i = 0; i < 5; ++i) ring_->RunOnce(0);
    });
    fd_ = fut.get();
  }
  ~TargetThread() {
    stop_.store(true);
    thread_.join();
  }
  int fd() const { return fd_; }
  Ring& ring() { return *ring_; }

 private:
  std::unique_ptr<Ring> ring_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int fd_ = -1;
};

class PingMessage final : public Message {
 public:
  explicit PingMessage(TargetThread* target) : target_(target) {}
  bool returned = false;
  uint64_t value = 0;

 protected:
  void OnArrive() override {
    ++value;  // a write on the target, read back on the origin
    Reply(target_->ring());
  }
  void OnReturn() override { returned = true; }

 private:
  TargetThread* target_;
};

void BM_MsgRingRoundTrip(benchmark::State& state) {
  PinTo(0);
  TargetThread target;
  auto origin = Ring::Create(256);
  ICAHT_CHECK(origin.ok());
  PingMessage msg(&target);
  for (auto _ : state) {
    msg.returned = false;
    msg.Post(**origin, target.fd());
    int64_t deadline = NowNs() + 5'000'000'000;
    while (!msg.returned) {
      (*origin)->RunOnce(100'000'000);
      ICAHT_CHECK(NowNs() < deadline);
    }
  }
  ICAHT_CHECK(msg.value == static_cast<uint64_t>(state.iterations()));
  Unpin();
}
BENCHMARK(BM_MsgRingRoundTrip)->UseRealTime();

void BM_MsgRingBatch(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  PinTo(0);
  TargetThread target;
  auto origin = Ring::Create(256);
  ICAHT_CHECK(origin.ok());
  std::vector<std::unique_ptr<PingMessage>> msgs;
  for (int i = 0; i < n; ++i) msgs.push_back(std::make_unique<PingMessage>(&target));
  for (auto _ : state) {
    for (auto& m : msgs) {
      m->returned = false;
      m->Post(**origin, target.fd());
    }
    int64_t deadline = NowNs() + 5'000'000'000;
    for (auto& m : msgs) {
      while (!m->returned) {
        (*origin)->RunOnce(100'000'000);
        ICAHT_CHECK(NowNs() < deadline);
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  Unpin();
}
BENCHMARK(BM_MsgRingBatch)->Arg(8)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace icaht::core

BENCHMARK_MAIN();
