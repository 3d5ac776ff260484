#include "registry/port_allocator.h"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "gtest/gtest.h"
#include "net/socket.h"

namespace icaht::registry {
namespace port_allocator_test {

// A host where the ports in `busy` are used by other processes and probing
// the ports in `failing` fails (as socket() does at the fd limit); counts probes.
struct FakeHost {
  std::set<uint16_t> busy;
  std::set<uint16_t> failing;
  int probes = 0;

  PortAllocator::Probe probe() {
    return [this](uint16_t port) -> absl::StatusOr<bool> {
      ++probes;
      if (failing.contains(port)) {
        return absl::UnavailableError("too many open files (EMFILE) while probing port " +
                                      std::to_string(port));
      }
      return !busy.contains(port);
    };
  }
};

// Lowers the soft RLIMIT_NOFILE so that the next fd cannot be opened, and
// restores it on destruction.
class NoMoreFds {
 public:
  NoMoreFds() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    int lowest_free = dup(0);  // fds are allocated lowest first
    close(lowest_free);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    ok_ = lowest_free >= 0 && setrlimit(RLIMIT_NOFILE, &low) == 0;
  }
  ~NoMoreFds() { setrlimit(RLIMIT_NOFILE, &saved_); }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

TEST(PortAllocatorTest, AllocatesLowestFreePortInRange) {
  FakeHost host;
  PortAllocator ports(7001, 7999, host.probe());
  EXPECT_EQ(*ports.Allocate(0, "a"), 7001);
  EXPECT_EQ(*ports.Allocate(0, "b"), 7002);
  EXPECT_EQ(*ports.Allocate(0, "c"), 7003);
  EXPECT_EQ(ports.Holder(7002), "b");
  EXPECT_EQ(ports.held_count(), 3u);
  EXPECT_EQ(ports.lo(), 7001);
  EXPECT_EQ(ports.hi(), 7999);
}

TEST(PortAllocatorTest, SkipsPortsTheProbeRejects) {
  FakeHost host;
  host.busy = {7001, 7002, 7004};
  PortAllocator ports(7001, 7010, host.probe());
  EXPECT_EQ(*ports.Allocate(0, "a"), 7003);
  EXPECT_EQ(*ports.Allocate(0, "b"), 7005);
  EXPECT_FALSE(ports.IsHeld(7001));
  EXPECT_FALSE(ports.IsHeld(7004));
}

TEST(PortAllocatorTest, DoesNotProbePortsItHolds) {
  FakeHost host;
  PortAllocator ports(7001, 7010, host.probe());
  ASSERT_TRUE(ports.Allocate(0, "a").ok());
  ASSERT_TRUE(ports.Allocate(0, "b").ok());
  host.probes = 0;
  EXPECT_EQ(*ports.Allocate(0, "c"), 7003);
  EXPECT_EQ(host.probes, 1);
}

TEST(PortAllocatorTest, ExplicitPortMayBeOutsideTheRange) {
  FakeHost host;
  PortAllocator ports(7001, 7010, host.probe());
  EXPECT_EQ(*ports.Allocate(8080, "a"), 8080);
  EXPECT_EQ(*ports.Allocate(7005, "b"), 7005);
  EXPECT_EQ(ports.Holder(8080), "a");
  // Automatic allocation skips the explicit port inside the range.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ports.Allocate(0, "x" + std::to_string(i)).ok());
  EXPECT_EQ(*ports.Allocate(0, "y"), 7006);
}

TEST(PortAllocatorTest, ExplicitPortHeldByAService) {
  FakeHost host;
  PortAllocator ports(7001, 7010, host.probe());
  ASSERT_TRUE(ports.Allocate(7005, "x").ok());
  absl::StatusOr<uint16_t> again = ports.Allocate(7005, "y");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "port 7005 is already used by service 'x'");
  EXPECT_EQ(ports.Holder(7005), "x");
  EXPECT_EQ(ports.held_count(), 1u);
}

TEST(PortAllocatorTest, ExplicitPortUsedByAnotherProcess) {
  FakeHost host;
  host.busy = {9000};
  PortAllocator ports(7001, 7010, host.probe());
  absl::StatusOr<uint16_t> port = ports.Allocate(9000, "a");
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(port.status().message(), "port 9000 is in use by another process");
  EXPECT_EQ(ports.held_count(), 0u);
}

TEST(PortAllocatorTest, Exhaustion) {
  FakeHost host;
  host.busy = {7003};
  PortAllocator ports(7001, 7003, host.probe());
  ASSERT_TRUE(ports.Allocate(0, "a").ok());
  ASSERT_TRUE(ports.Allocate(0, "b").ok());
  absl::StatusOr<uint16_t> none = ports.Allocate(0, "c");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(none.status().message(), "no free port in 7001-7003");
  EXPECT_EQ(ports.held_count(), 2u);
}

TEST(PortAllocatorTest, ReleaseMakesThePortReusable) {
  FakeHost host;
  PortAllocator ports(7001, 7002, host.probe());
  ASSERT_EQ(*ports.Allocate(0, "a"), 7001);
  ASSERT_EQ(*ports.Allocate(0, "b"), 7002);
  ports.Release(7001);
  EXPECT_FALSE(ports.IsHeld(7001));
  EXPECT_EQ(ports.Holder(7001), std::nullopt);
  EXPECT_EQ(*ports.Allocate(0, "c"), 7001);
  EXPECT_EQ(ports.Holder(7001), "c");
  ports.Release(7001);
  EXPECT_EQ(*ports.Allocate(7001, "d"), 7001);
  ports.Release(4242);  // not held: no-op
  EXPECT_EQ(ports.held_count(), 2u);
}

TEST(PortAllocatorTest, LowestFreeAcrossManyHeldWords) {
  // Thousands held (whole 64-port words skipped at once): the lowest free
  // one is still found, at a word's edge, inside a word and at the top.
  FakeHost host;
  PortAllocator ports(40000, 49999, host.probe());
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(*ports.Allocate(0, "s"), 40000 + i);
  for (uint16_t port : {40064, 40000, 44321, 44999}) ports.Release(port);
  EXPECT_EQ(*ports.Allocate(0, "a"), 40000);
  EXPECT_EQ(*ports.Allocate(0, "b"), 40064);
  EXPECT_EQ(*ports.Allocate(0, "c"), 44321);
  EXPECT_EQ(*ports.Allocate(0, "d"), 44999);
  EXPECT_EQ(*ports.Allocate(0, "e"), 45000);
  host.busy = {45001};
  EXPECT_EQ(*ports.Allocate(0, "f"), 45002);
  for (int port = 45003; port <= 49999; ++port) ASSERT_TRUE(ports.Allocate(0, "g").ok()) << port;
  host.busy.clear();  // the other process let it go
  EXPECT_EQ(*ports.Allocate(0, "h"), 45001);
  EXPECT_EQ(ports.Allocate(0, "i").status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(PortAllocatorTest, FullPortSpaceAndNoProbe) {
  PortAllocator ports(65535, 65535, nullptr);  // no probe: every port counts as free
  EXPECT_EQ(*ports.Allocate(0, "a"), 65535);
  EXPECT_EQ(ports.Allocate(0, "b").status().message(), "no free port in 65535-65535");
}

TEST(PortAllocatorTest, AfterSkipsThePortsUpToIt) {
  FakeHost host;
  host.busy = {7004};
  PortAllocator ports(7001, 7006, host.probe());
  EXPECT_EQ(*ports.Allocate(0, "a", 7002), 7003);
  EXPECT_EQ(*ports.Allocate(0, "b", 7003), 7005);  // 7004 busy
  EXPECT_EQ(*ports.Allocate(0, "c", 1000), 7001);  // below the range: the whole range
  EXPECT_EQ(*ports.Allocate(0, "d"), 7002);
  absl::StatusOr<uint16_t> none = ports.Allocate(0, "e", 7006);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*ports.Allocate(0, "e", 7005), 7006);
  EXPECT_EQ(ports.Allocate(0, "f", 65535).status().code(), absl::StatusCode::kResourceExhausted);
  // An explicit port ignores `after`.
  EXPECT_EQ(*ports.Allocate(8080, "g", 9000), 8080);
}

TEST(PortAllocatorTest, ProbeErrorStopsTheScanAndIsNotExhaustion) {
  FakeHost host;
  host.busy = {7001};
  host.failing = {7002};
  PortAllocator ports(7001, 7010, host.probe());
  absl::StatusOr<uint16_t> port = ports.Allocate(0, "a");
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(port.status().message(),
            "service 'a': too many open files (EMFILE) while probing port 7002");
  EXPECT_EQ(host.probes, 2);  // 7003.. were not tried
  EXPECT_EQ(ports.held_count(), 0u);
  // The same for an explicit port: not "in use by another process".
  port = ports.Allocate(7002, "b");
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ports.held_count(), 0u);
}

TEST(HostPortProbeTest, ListenerIsTakenAndFreePortIsFree) {
  absl::StatusOr<net::Address> any = net::Address::ParseListen("127.0.0.1:0");
  ASSERT_TRUE(any.ok());
  absl::StatusOr<net::Fd> listener = net::ListenTcp(*any, {});
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<uint16_t> taken = net::LocalPort(listener->get());
  ASSERT_TRUE(taken.ok());
  PortAllocator::Probe probe = HostPortProbe(*any);
  absl::StatusOr<bool> free = probe(*taken);
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_FALSE(*free);
  listener->Reset();
  free = probe(*taken);
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_TRUE(*free);
}

TEST(HostPortProbeTest, FdLimitIsAnErrorNamingTheLimit) {
  absl::StatusOr<net::Address> any = net::Address::ParseListen("127.0.0.1:0");
  ASSERT_TRUE(any.ok());
  PortAllocator ports(7001, 7010, HostPortProbe(*any));
  absl::StatusOr<uint16_t> port;
  {
    NoMoreFds limit;
    if (!limit.ok()) GTEST_SKIP() << "cannot lower RLIMIT_NOFILE here";
    port = ports.Allocate(0, "orders");
  }
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(port.status().message(),
            "service 'orders': too many open files (EMFILE) while probing port 7001; raise the "
            "fd limit (LimitNOFILE, ulimit -n)");
  EXPECT_EQ(ports.held_count(), 0u);
}

}  // namespace port_allocator_test
}  // namespace icaht::registry
