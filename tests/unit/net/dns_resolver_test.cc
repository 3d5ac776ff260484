// DnsResolver against a real ring and a tiny DNS server on loopback: literals,
// answers and ports, the TTL cache (injected clock), NXDOMAIN and its negative
// entry, a silent server, shared queries, cancel, destruction in flight and
// /etc/hosts.

#include "net/dns_resolver.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ring.h"
#include "core/timer_queue.h"
#include "fake_dns_server.h"

namespace icaht::net {
namespace dns_resolver_test {

using testing::FakeDnsServer;
constexpr int64_t kSecond = 1'000'000'000;

std::vector<std::string> Strings(const std::vector<Address>& addresses) {
  std::vector<std::string> out;
  for (const Address& address : addresses) out.push_back(address.ToString());
  return out;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::move(*core::Ring::Create(64));
    server_.Set("api.test", {.v4 = {"10.0.0.7"}, .v6 = {"fd00::7"}, .ttl = 1});
    server_.Set("v4only.test", {.v4 = {"10.0.0.8", "10.0.0.9"}, .ttl = 60});
    server_.Set("long.test", {.v4 = {"10.0.0.10"}, .ttl = 3600});
    server_.Set("big.test", {.v4 = {"10.0.0.11"}, .v6 = {"fd00::11"}, .truncate = true});
  }

  void TearDown() override {
    resolver_.reset();
    // Orphaned watches free themselves when their cancelled polls complete.
    RunUntil([] { return DnsResolver::live_watches() == 0; }, 1000);
    EXPECT_EQ(DnsResolver::live_watches(), 0u);
  }

  DnsOptions Options() {
    DnsOptions options;
    options.servers = {server_.address()};
    options.clock = [this] { return now_; };
    return options;
  }

  void MakeResolver(DnsOptions options) {
    auto resolver = DnsResolver::Create(*ring_, std::move(options));
    ASSERT_TRUE(resolver.ok()) << resolver.status();
    resolver_ = std::move(*resolver);
  }

  // Runs the ring until `done()` or `max_ms` pass.
  template <typename Pred>
  bool RunUntil(Pred done, int max_ms) {
    int64_t deadline = core::NowNs() + int64_t{max_ms} * 1'000'000;
    while (!done() && core::NowNs() < deadline) ring_->RunOnce(5'000'000);
    return done();
  }

  // Resolves through the ring and returns the result.
  DnsResolver::Result Resolve(const std::string& host, uint16_t port) {
    std::optional<DnsResolver::Result> result;
    auto lookup = resolver_->Resolve(host, port, [&](DnsResolver::Result r) { result = r; });
    EXPECT_FALSE(result.has_value()) << "done ran inside Resolve";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }, 3000)) << host;
    return result.value_or(absl::InternalError("no answer"));
  }

  FakeDnsServer server_;
  std::unique_ptr<core::Ring> ring_;
  std::unique_ptr<DnsResolver> resolver_;
  int64_t now_ = 1000 * kSecond;
};

TEST_F(DnsResolverTest, IpLiteralsNeedNoQuery) {
  MakeResolver(Options());
  auto v4 = resolver_->Cached("10.1.2.3", 80);
  ASSERT_TRUE(v4.has_value() && v4->ok());
  EXPECT_EQ(Strings(**v4), std::vector<std::string>{"10.1.2.3:80"});
  auto v6 = resolver_->Cached("[::1]", 443);
  ASSERT_TRUE(v6.has_value() && v6->ok());
  EXPECT_EQ(Strings(**v6), std::vector<std::string>{"[::1]:443"});
  auto r = Resolve("fd00::1", 8080);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Strings(*r), std::vector<std::string>{"[fd00::1]:8080"});
  EXPECT_FALSE(resolver_->Cached("api.test", 80).has_value());
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 0);
  EXPECT_EQ(resolver_->stats().queries, 0u);
}

TEST_F(DnsResolverTest, ResolvesANameWithPortIpv4First) {
  MakeResolver(Options());
  auto r = Resolve("api.test", 8443);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Strings(*r), (std::vector<std::string>{"10.0.0.7:8443", "[fd00::7]:8443"}));
  r = Resolve("v4only.test", 80);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Strings(*r), (std::vector<std::string>{"10.0.0.8:80", "10.0.0.9:80"}));
  EXPECT_EQ(resolver_->stats().queries, 2u);
}

TEST_F(DnsResolverTest, ServesFromCacheWithinTtlAndQueriesAfter) {
  MakeResolver(Options());
  ASSERT_TRUE(Resolve("api.test", 1).ok());
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 1);

  // Within the 1 s TTL: the cache answers, synchronously or through Resolve,
  // whatever the port and the name's case.
  now_ += 999'000'000;
  auto cached = resolver_->Cached("API.Test", 9000);
  ASSERT_TRUE(cached.has_value() && cached->ok());
  EXPECT_EQ(Strings(**cached), (std::vector<std::string>{"10.0.0.7:9000", "[fd00::7]:9000"}));
  auto r = Resolve("api.test", 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Strings(*r)[0], "10.0.0.7:7");
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 1);
  EXPECT_EQ(resolver_->stats().cache_hits, 2u);

  // Past it: a new query.
  now_ += 2'000'000;
  EXPECT_FALSE(resolver_->Cached("api.test", 1).has_value());
  ASSERT_TRUE(Resolve("api.test", 1).ok());
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 2);
}

TEST_F(DnsResolverTest, TruncatedAnswerIsAskedAgainOverTcp) {
  // The TCP socket is watched for writability while it connects and sends.
  MakeResolver(Options());
  auto r = Resolve("big.test", 443);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Strings(*r), (std::vector<std::string>{"10.0.0.11:443", "[fd00::11]:443"}));
  EXPECT_GE(server_.tcp_queries(), 1);
}

TEST_F(DnsResolverTest, TtlIsClampedToMaxAndMin) {
  DnsOptions options = Options();
  options.max_ttl_s = 300;
  options.min_ttl_s = 30;
  MakeResolver(std::move(options));
  ASSERT_TRUE(Resolve("long.test", 1).ok());  // TTL 3600
  ASSERT_TRUE(Resolve("api.test", 1).ok());   // TTL 1
  now_ += 29 * kSecond;
  EXPECT_TRUE(resolver_->Cached("api.test", 1).has_value());
  now_ += 2 * kSecond;
  EXPECT_FALSE(resolver_->Cached("api.test", 1).has_value());
  now_ += 268 * kSecond;  // 299 s
  EXPECT_TRUE(resolver_->Cached("long.test", 1).has_value());
  now_ += 2 * kSecond;
  EXPECT_FALSE(resolver_->Cached("long.test", 1).has_value());
}

TEST_F(DnsResolverTest, NxdomainIsNotFoundAndNegativelyCached) {
  DnsOptions options = Options();
  options.negative_ttl_s = 5;
  MakeResolver(std::move(options));
  auto r = Resolve("missing.test", 80);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("missing.test"), std::string::npos) << r.status();
  int queries = server_.queries(FakeDnsServer::kTypeA);
  EXPECT_EQ(queries, 1);

  now_ += 4 * kSecond;
  auto cached = resolver_->Cached("missing.test", 80);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Resolve("missing.test", 80).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), queries);

  now_ += 2 * kSecond;
  EXPECT_FALSE(resolver_->Cached("missing.test", 80).has_value());
  EXPECT_EQ(Resolve("missing.test", 80).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), queries + 1);
  EXPECT_EQ(resolver_->stats().failures, 2u);
}

TEST_F(DnsResolverTest, SilentServerIsDeadlineExceededWithinTimeout) {
  server_.set_silent(true);
  DnsOptions options = Options();
  options.timeout_ms = 300;
  options.tries = 2;
  MakeResolver(std::move(options));
  int64_t start = core::NowNs();
  auto r = Resolve("api.test", 80);
  int64_t elapsed_ms = (core::NowNs() - start) / 1'000'000;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LE(elapsed_ms, 300 + 150);  // c-ares ends it, not our test's patience
  EXPECT_GE(elapsed_ms, 200);        // it did retry
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 2);
  // A time-out is not remembered: the next lookup asks again.
  EXPECT_FALSE(resolver_->Cached("api.test", 80).has_value());
}

TEST_F(DnsResolverTest, ConcurrentLookupsOfOneNameShareAQuery) {
  MakeResolver(Options());
  std::optional<DnsResolver::Result> first, second;
  auto a = resolver_->Resolve("v4only.test", 1, [&](DnsResolver::Result r) { first = r; });
  auto b = resolver_->Resolve("V4ONLY.test", 2, [&](DnsResolver::Result r) { second = r; });
  ASSERT_TRUE(RunUntil([&] { return first.has_value() && second.has_value(); }, 3000));
  ASSERT_TRUE(first->ok() && second->ok());
  EXPECT_EQ(Strings(**first)[0], "10.0.0.8:1");
  EXPECT_EQ(Strings(**second)[0], "10.0.0.8:2");
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 1);
  EXPECT_EQ(resolver_->stats().queries, 1u);
  EXPECT_EQ(resolver_->stats().joined, 1u);
}

TEST_F(DnsResolverTest, CancelledLookupNeverRuns) {
  MakeResolver(Options());
  bool ran = false;
  std::optional<DnsResolver::Result> other;
  auto cancelled = resolver_->Resolve("api.test", 1, [&](DnsResolver::Result) { ran = true; });
  auto kept = resolver_->Resolve("api.test", 2, [&](DnsResolver::Result r) { other = r; });
  cancelled->Cancel();
  ASSERT_TRUE(RunUntil([&] { return other.has_value(); }, 3000));
  EXPECT_TRUE(other->ok());
  // A lookup answered from the cache, dropped before its dispatch.
  auto dropped = resolver_->Resolve("api.test", 3, [&](DnsResolver::Result) { ran = true; });
  dropped.reset();
  RunUntil([] { return false; }, 30);
  EXPECT_FALSE(ran);
  cancelled.reset();  // after Cancel: a no-op
}

TEST_F(DnsResolverTest, DestroyingWithALookupInFlightIsClean) {
  server_.set_silent(true);
  MakeResolver(Options());
  bool ran = false;
  auto lookup = resolver_->Resolve("api.test", 1, [&](DnsResolver::Result) { ran = true; });
  ASSERT_TRUE(RunUntil([&] { return server_.queries(FakeDnsServer::kTypeA) > 0; }, 2000));
  ring_->RunOnce(1'000'000);  // the socket's poll is in the kernel now
  EXPECT_GT(DnsResolver::live_watches(), 0u);
  resolver_.reset();                           // the poll is armed: its watch becomes an orphan...
  EXPECT_GT(DnsResolver::live_watches(), 0u);  // ...kept until its poll's CQE arrives
  EXPECT_TRUE(RunUntil([] { return DnsResolver::live_watches() == 0; }, 1000));
  lookup.reset();  // outlives the resolver: inert
  EXPECT_FALSE(ran);
}

TEST_F(DnsResolverTest, LocalhostComesFromEtcHosts) {
  MakeResolver(Options());
  auto r = Resolve("localhost", 8080);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(r->empty());
  EXPECT_EQ(r->front().ToString(), "127.0.0.1:8080");
  EXPECT_EQ(server_.queries(FakeDnsServer::kTypeA), 0);
}

TEST_F(DnsResolverTest, CacheIsBounded) {
  DnsOptions options = Options();
  options.max_entries = 2;
  MakeResolver(std::move(options));
  ASSERT_TRUE(Resolve("api.test", 1).ok());  // expires first (TTL 1)
  ASSERT_TRUE(Resolve("long.test", 1).ok());
  ASSERT_TRUE(Resolve("v4only.test", 1).ok());
  EXPECT_EQ(resolver_->cache_size(), 2u);
  EXPECT_FALSE(resolver_->Cached("api.test", 1).has_value());
  EXPECT_TRUE(resolver_->Cached("long.test", 1).has_value());
}

TEST_F(DnsResolverTest, BadInputIsAnswered) {
  DnsOptions options = Options();
  options.servers = {"not-an-ip:53"};
  EXPECT_EQ(DnsResolver::Create(*ring_, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  MakeResolver(Options());
  EXPECT_EQ(Resolve("", 80).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Resolve(std::string(300, 'a'), 80).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace dns_resolver_test
}  // namespace icaht::net
