#include "registry/registry.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace icaht::registry {
namespace registry_test {

ServiceRecord Record(std::string name, uint16_t port = 0) {
  ServiceRecord r;
  r.name = std::move(name);
  UpstreamSpec upstream;
  upstream.address = "127.0.0.1:8080";
  upstream.resolved = *net::Address::Parse(upstream.address);
  r.upstreams.push_back(upstream);
  r.port = port;
  r.route_rule = DefaultRouteRule(r.name);
  return r;
}

class RegistryTest : public ::testing::Test {
 protected:
  // Registers `record` the way the control thread does, with every shard acking.
  uint16_t Register(ServiceRecord record) {
    absl::StatusOr<uint16_t> port = registry_.ReservePort(record);
    EXPECT_TRUE(port.ok()) << port.status();
    record.port = *port;
    registry_.Commit(std::move(record));
    return *port;
  }

  // A snapshot of everything observable, to prove a refused call changed nothing.
  std::string Snapshot() const {
    std::string out;
    for (const ServiceRecord* r : registry_.List()) out += ToJson(*r) + "\n";
    for (uint32_t port = 1; port <= 65535; ++port) {
      if (auto holder = registry_.ports().Holder(static_cast<uint16_t>(port))) {
        out += std::to_string(port) + "=" + *holder + "\n";
      }
    }
    return out;
  }

  std::set<uint16_t> busy_;
  absl::Status probe_error_;  // when not OK, every probe fails with it
  PortAllocator Ports() {
    return PortAllocator(7001, 7003, [this](uint16_t p) -> absl::StatusOr<bool> {
      if (!probe_error_.ok()) return probe_error_;
      return !busy_.contains(p);
    });
  }

  Registry registry_{Ports(), *net::Address::FromIp("127.0.0.1", 0)};
};

TEST_F(RegistryTest, RegisterAllocatesAndCommits) {
  EXPECT_EQ(Register(Record("orders")), 7001);
  EXPECT_EQ(Register(Record("billing")), 7002);
  ASSERT_NE(registry_.Find("orders"), nullptr);
  EXPECT_EQ(registry_.Find("orders")->port, 7001);
  EXPECT_EQ(registry_.Find("nope"), nullptr);
  EXPECT_EQ(registry_.size(), 2u);
  std::vector<const ServiceRecord*> list = registry_.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->name, "billing");  // sorted by name
  EXPECT_EQ(list[1]->name, "orders");
}

TEST_F(RegistryTest, DuplicateNameIsRefusedAndChangesNothing) {
  Register(Record("orders"));
  std::string before = Snapshot();
  absl::Status check = registry_.CheckAdd(Record("orders"));
  EXPECT_EQ(check.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(check.message(), "service 'orders' is already registered");
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("orders"));
  EXPECT_EQ(port.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("orders"));
}

TEST_F(RegistryTest, ExplicitPortConflictsAreRefusedAndChangeNothing) {
  Register(Record("orders", 7002));
  std::string before = Snapshot();
  absl::Status check = registry_.CheckAdd(Record("billing", 7002));
  EXPECT_EQ(check.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(check.message(), "port 7002 is already used by service 'orders'");
  EXPECT_FALSE(registry_.ReservePort(Record("billing", 7002)).ok());

  busy_.insert(9000);
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("billing", 9000));
  EXPECT_EQ(port.status().message(), "port 9000 is in use by another process");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("billing"));
}

TEST_F(RegistryTest, ExhaustedRangeChangesNothing) {
  Register(Record("a"));
  Register(Record("b"));
  Register(Record("c"));
  std::string before = Snapshot();
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("d"));
  EXPECT_EQ(port.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("d"));
}

TEST_F(RegistryTest, PendingRegisterBlocksTheSameNameAndFindHidesIt) {
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("orders"));
  ASSERT_TRUE(port.ok());
  EXPECT_TRUE(registry_.InFlight("orders"));
  EXPECT_EQ(registry_.Find("orders"), nullptr);
  EXPECT_EQ(registry_.size(), 0u);
  absl::Status again = registry_.CheckAdd(Record("orders"));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "service 'orders' is already being registered");
  // A concurrent register of another name gets another port.
  EXPECT_EQ(*registry_.ReservePort(Record("billing")), 7002);
}

TEST_F(RegistryTest, AbortOfRegisterFreesThePort) {
  std::string before = Snapshot();
  ASSERT_EQ(*registry_.ReservePort(Record("orders")), 7001);
  registry_.Abort("orders");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("orders"));
  EXPECT_EQ(Register(Record("orders")), 7001);
  registry_.Abort("nothing-in-flight");  // no-op
}

TEST_F(RegistryTest, ReplaceKeepsThePort) {
  Register(Record("orders"));
  ServiceRecord next = Record("orders");
  next.version = "2";
  ASSERT_TRUE(registry_.CheckReplace("orders", next).ok());
  ASSERT_TRUE(registry_.BeginReplace("orders", next).ok());
  EXPECT_TRUE(registry_.InFlight("orders"));
  EXPECT_EQ(registry_.Find("orders")->version, "");  // not visible before commit
  registry_.Commit(next);
  EXPECT_FALSE(registry_.InFlight("orders"));
  EXPECT_EQ(registry_.Find("orders")->version, "2");
  EXPECT_EQ(registry_.Find("orders")->port, 7001);
  EXPECT_EQ(registry_.ports().Holder(7001), "orders");

  // Sending the current port explicitly is fine too.
  ServiceRecord same_port = Record("orders", 7001);
  EXPECT_TRUE(registry_.CheckReplace("orders", same_port).ok());
}

TEST_F(RegistryTest, RefusedReplacesChangeNothing) {
  Register(Record("orders"));
  Register(Record("billing"));
  std::string before = Snapshot();

  absl::Status missing = registry_.BeginReplace("nope", Record("nope"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "service 'nope' is not registered");

  absl::Status renamed = registry_.BeginReplace("orders", Record("billing"));
  EXPECT_EQ(renamed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(renamed.message(),
            "field 'name': 'billing' does not match the service 'orders' named in the path");

  absl::Status new_port = registry_.BeginReplace("orders", Record("orders", 7003));
  EXPECT_EQ(new_port.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(new_port.message(),
            "field 'port': service 'orders' keeps its port 7001 on replace; omit the port or send "
            "7001");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("orders"));
}

TEST_F(RegistryTest, ChangesOfANameInFlightAreSerialized) {
  Register(Record("orders"));
  ASSERT_TRUE(registry_.BeginReplace("orders", Record("orders")).ok());
  absl::Status second = registry_.BeginReplace("orders", Record("orders"));
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(second.message(), "service 'orders' has a change in progress; retry when it is done");
  EXPECT_EQ(registry_.BeginRemove("orders").code(), absl::StatusCode::kAborted);
  // Abort leaves the committed record as it was.
  registry_.Abort("orders");
  EXPECT_NE(registry_.Find("orders"), nullptr);
  EXPECT_EQ(registry_.ports().Holder(7001), "orders");
  EXPECT_TRUE(registry_.BeginRemove("orders").ok());
  EXPECT_EQ(registry_.BeginReplace("orders", Record("orders")).code(), absl::StatusCode::kAborted);
}

TEST_F(RegistryTest, RemoveFreesThePort) {
  Register(Record("orders"));
  Register(Record("billing"));
  ASSERT_TRUE(registry_.BeginRemove("orders").ok());
  EXPECT_NE(registry_.Find("orders"), nullptr);  // still served until the shards drained it
  std::optional<ServiceRecord> removed = registry_.Remove("orders");
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->port, 7001);
  EXPECT_EQ(registry_.Find("orders"), nullptr);
  EXPECT_FALSE(registry_.InFlight("orders"));
  EXPECT_FALSE(registry_.ports().IsHeld(7001));
  EXPECT_EQ(registry_.size(), 1u);
  // The lowest free port is the freed one.
  EXPECT_EQ(Register(Record("cart")), 7001);
}

TEST_F(RegistryTest, RemoveOfUnknownNameIsRefused) {
  Register(Record("orders"));
  std::string before = Snapshot();
  absl::Status status = registry_.BeginRemove("nope");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "service 'nope' is not registered");
  EXPECT_EQ(registry_.Remove("nope"), std::nullopt);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(RegistryTest, CommitWithZeroPortTakesTheReservedOne) {
  ASSERT_EQ(*registry_.ReservePort(Record("orders")), 7001);
  registry_.Commit(Record("orders"));  // port 0 in the record
  EXPECT_EQ(registry_.Find("orders")->port, 7001);
}

// The control thread's retry when a shard could not bind the chosen port:
// Abort, then reserve again above the port that failed.
TEST_F(RegistryTest, RetryAfterAbortTakesTheNextPort) {
  ASSERT_EQ(*registry_.ReservePort(Record("orders")), 7001);
  registry_.Abort("orders");  // a shard answered EADDRINUSE for 7001
  EXPECT_FALSE(registry_.ports().IsHeld(7001));
  // 7001 still looks free to the probe (the thief is not seen); `after` skips it.
  ASSERT_EQ(*registry_.ReservePort(Record("orders"), 7001), 7002);
  registry_.Commit(Record("orders"));
  EXPECT_EQ(registry_.Find("orders")->port, 7002);
  // Later registrations without `after` start from the bottom again.
  EXPECT_EQ(Register(Record("billing")), 7001);
}

TEST_F(RegistryTest, RetryPastTheEndOfTheRangeIsExhaustion) {
  ASSERT_EQ(*registry_.ReservePort(Record("orders"), 7002), 7003);
  registry_.Abort("orders");
  std::string before = Snapshot();
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("orders"), 7003);
  EXPECT_EQ(port.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("orders"));
}

TEST_F(RegistryTest, ProbeErrorIsReportedAndChangesNothing) {
  Register(Record("orders"));
  std::string before = Snapshot();
  probe_error_ = absl::UnavailableError("too many open files (EMFILE) while probing port 7002");
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("billing"));
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(port.status().message(),
            "service 'billing': too many open files (EMFILE) while probing port 7002");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(registry_.InFlight("billing"));
}

ServiceRecord WithUpstreams(ServiceRecord record, std::vector<std::string> addresses) {
  record.upstreams.clear();
  for (std::string& address : addresses) {
    UpstreamSpec upstream;
    upstream.resolved = *net::Address::Parse(address);
    upstream.address = std::move(address);
    record.upstreams.push_back(std::move(upstream));
  }
  return record;
}

TEST_F(RegistryTest, SelfLoopIsRefusedNamingTheUpstream) {
  Register(Record("orders"));  // 7001
  // Another service's port, on the bind address, on 0.0.0.0 or "localhost".
  for (const char* target : {"127.0.0.1:7001", "0.0.0.0:7001", "localhost:7001"}) {
    ServiceRecord loop = WithUpstreams(Record("billing"), {"127.0.0.1:8080", target});
    absl::StatusOr<uint16_t> port = registry_.ReservePort(loop);
    ASSERT_TRUE(port.ok());
    loop.port = *port;
    absl::Status status = registry_.CheckNoSelfLoop(loop);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_EQ(status.message(),
              absl::StrCat("field 'upstreams[1]': ", target,
                           " is the port of service 'orders' on this daemon: every request "
                           "would loop back into the proxy"));
    registry_.Abort("billing");
  }
  // Its own port (reserved, not committed yet).
  ServiceRecord self = WithUpstreams(Record("billing", 7002), {"127.0.0.1:7002"});
  ASSERT_TRUE(registry_.ReservePort(self).ok());
  EXPECT_EQ(registry_.CheckNoSelfLoop(self).message(),
            "field 'upstreams[0]': 127.0.0.1:7002 is this service's own port on this daemon: "
            "every request would loop back into the proxy");
  registry_.Abort("billing");
  // Not a loop: a port no service holds, another loopback IP than the one bound.
  EXPECT_TRUE(registry_.CheckNoSelfLoop(WithUpstreams(Record("x", 7003), {"127.0.0.1:7002"})).ok());
  EXPECT_TRUE(registry_.CheckNoSelfLoop(WithUpstreams(Record("x", 7003), {"127.0.0.2:7001"})).ok());
  // With every address bound, any loopback address loops.
  Registry everywhere(Ports(), *net::Address::FromIp("0.0.0.0", 0));
  ASSERT_TRUE(everywhere.ReservePort(Record("orders")).ok());
  everywhere.Commit(Record("orders"));
  EXPECT_FALSE(
      everywhere.CheckNoSelfLoop(WithUpstreams(Record("x", 7003), {"127.0.0.2:7001"})).ok());
}

// The automatic choice passes over a port a registered service sends to (its
// upstream may just be down): the new service would take that service's
// requests, which then loop back into the proxy. Found by the kill -9 loop of
// test_durability, where such a pair then failed its restore.
TEST_F(RegistryTest, AutomaticPortSkipsAPortAnotherServiceSendsTo) {
  // Nor one the record itself sends to.
  EXPECT_EQ(Register(WithUpstreams(Record("orders"), {"127.0.0.1:7001", "127.0.0.1:7002"})), 7003);
  registry_.Remove("orders");
  Register(WithUpstreams(Record("orders"), {"127.0.0.1:7002"}));  // 7001
  EXPECT_EQ(Register(Record("billing")), 7003);
  // Once orders is gone, 7002 is free to choose again.
  registry_.Remove("orders");
  EXPECT_EQ(Register(Record("stock")), 7001);
  EXPECT_EQ(Register(Record("cart")), 7002);
}

TEST_F(RegistryTest, AutomaticPortSkipsWhatAnInFlightChangeSendsTo) {
  // A register and a replace still waiting for the shards count too.
  ServiceRecord pending = WithUpstreams(Record("orders"), {"localhost:7002"});
  ASSERT_EQ(*registry_.ReservePort(pending), 7001);
  EXPECT_EQ(Register(Record("billing")), 7003);
  registry_.Abort("orders");
  EXPECT_EQ(Register(Record("stock")), 7001);
  ServiceRecord replace = WithUpstreams(Record("stock"), {"127.0.0.1:7002"});
  ASSERT_TRUE(registry_.BeginReplace("stock", replace).ok());
  EXPECT_EQ(registry_.ReservePort(Record("cart")).status().code(),
            absl::StatusCode::kResourceExhausted);
  registry_.Commit(replace);  // the replace lands: stock now sends to 7002
  EXPECT_EQ(registry_.ReservePort(Record("cart")).status().code(),
            absl::StatusCode::kResourceExhausted);
  registry_.Commit(Record("stock"));  // a replace back to 127.0.0.1:8080 frees it
  EXPECT_EQ(Register(Record("cart")), 7002);
}

TEST_F(RegistryTest, ExplicitPortAnotherServiceSendsToIsRefusedAndChangesNothing) {
  Register(WithUpstreams(Record("orders"), {"127.0.0.1:7002"}));
  std::string before = Snapshot();
  absl::StatusOr<uint16_t> port = registry_.ReservePort(Record("billing", 7002));
  EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(port.status().message(),
            "field 'port': service 'orders' sends its requests to port 7002 on this daemon: "
            "they would loop back into the proxy; choose another port or omit it");
  EXPECT_EQ(Snapshot(), before);
  // A restore keeps what was acknowledged, whatever the order it comes back in.
  EXPECT_EQ(*registry_.ReservePort(Record("billing", 7002), 0, /*restoring=*/true), 7002);
  // ...but not a name or a port twice.
  registry_.Commit(Record("billing", 7002));
  EXPECT_EQ(registry_.ReservePort(Record("billing", 7003), 0, true).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_.ReservePort(Record("x", 7002), 0, true).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, ForwardAuthOnAServicePortIsRefusedNamingTheField) {
  Register(Record("orders"));  // 7001
  ServiceRecord record = Record("billing", 7002);
  record.auth.forward.enabled = true;
  record.auth.forward.address = "127.0.0.1:7001";
  record.auth.forward.resolved = *net::Address::Parse(record.auth.forward.address);
  EXPECT_EQ(registry_.CheckNoSelfLoop(record).message(),
            "field 'auth.forward.address': 127.0.0.1:7001 is the port of service 'orders' on "
            "this daemon: every request would loop back into the proxy");
  record.auth.forward.address = "127.0.0.1:9000";
  record.auth.forward.resolved = *net::Address::Parse(record.auth.forward.address);
  EXPECT_TRUE(registry_.CheckNoSelfLoop(record).ok());
}

TEST_F(RegistryTest, MirrorOnAServicePortIsRefusedNamingTheField) {
  Register(Record("orders"));  // 7001
  ServiceRecord record = Record("billing", 7002);
  record.mirror.emplace();
  record.mirror->upstream = "localhost:7001";
  record.mirror->resolved = *net::Address::Parse(record.mirror->upstream);
  EXPECT_EQ(registry_.CheckNoSelfLoop(record).message(),
            "field 'mirror.upstream': localhost:7001 is the port of service 'orders' on "
            "this daemon: every request would loop back into the proxy");
  record.mirror->upstream = "127.0.0.1:9090";
  record.mirror->resolved = *net::Address::Parse(record.mirror->upstream);
  EXPECT_TRUE(registry_.CheckNoSelfLoop(record).ok());
}

}  // namespace registry_test
}  // namespace icaht::registry
