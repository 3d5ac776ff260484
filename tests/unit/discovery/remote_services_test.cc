// RemoteServices against the etcd v3 JSON gateway's answers as etcd 3.4
// writes them (captured with curl: a range answer, the watch stream's
// "created", PUT (type omitted), DELETE and compaction messages), and
// against values a sidecar publishes (discovery::HostKeys) or garbage.

#include "discovery/remote_services.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "discovery/etcd_layout.h"
#include "gtest/gtest.h"
#include "registry/service_record.h"

namespace icaht::discovery {
namespace remote_services_test {

// A real range answer: icaht/services/orders/2 =
// {"host_id":2,"url":"http://10.0.0.2:7005","record":{"name":"orders",
// "version":"v7","upstreams":[...],"port":7005,"egress":{"allow":true}}}.
constexpr std::string_view kRange =
    R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
    R"("revision":"9","raft_term":"2"},"kvs":[{"key":"aWNhaHQvc2VydmljZXMvb3JkZXJzLzI=",)"
    R"("create_revision":"8","mod_revision":"8","version":"1","value":)"
    R"("eyJob3N0X2lkIjoyLCJ1cmwiOiJodHRwOi8vMTAuMC4wLjI6NzAwNSIsInJlY29yZCI6eyJuYW1lIjoib3JkZXJz)"
    R"(IiwidmVyc2lvbiI6InY3IiwidXBzdHJlYW1zIjpbeyJhZGRyZXNzIjoiMTI3LjAuMC4xOjkiLCJ3ZWlnaHQiOjF9XSwi)"
    R"(cG9ydCI6NzAwNSwiZWdyZXNzIjp7ImFsbG93Ijp0cnVlfX19","lease":"7587899270062434309"}],)"
    R"("count":"1"})";
// An empty range: no kvs, no count.
constexpr std::string_view kEmptyRange =
    R"({"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"}})";
constexpr std::string_view kCreated =
    R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"9","raft_term":"2"},)"
    R"("created":true}})";
// DELETE of icaht/services/orders/2 at revision 10.
constexpr std::string_view kDelete =
    R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"10","raft_term":"2"},)"
    R"("events":[{"type":"DELETE","kv":{"key":"aWNhaHQvc2VydmljZXMvb3JkZXJzLzI=",)"
    R"("mod_revision":"10"}}]}})";
constexpr std::string_view kCompacted =
    R"({"result":{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"canceled":true,)"
    R"("compact_revision":"4"}})";

std::string Value(uint32_t host_id, const std::string& url, const std::string& record) {
  return absl::StrCat(R"({"host_id":)", host_id, R"(,"url":")", url, R"(","record":)", record, "}");
}

std::string Record(const std::string& name, const std::string& extra = "") {
  return absl::StrCat(R"({"name":")", name, R"(","upstreams":["127.0.0.1:9"])", extra, "}");
}

std::string Kv(std::string_view key, std::string_view value, int64_t revision) {
  return absl::StrCat(R"({"key":")", Base64Encode(key), R"(","create_revision":")", revision,
                      R"(","mod_revision":")", revision, R"(","version":"1","value":")",
                      Base64Encode(value), R"("})");
}

// A watch message with PUT events (the gateway omits "type" for PUT).
std::string Puts(int64_t revision, std::vector<std::pair<std::string, std::string>> kvs) {
  std::string events;
  for (const auto& [key, value] : kvs) {
    if (!events.empty()) events += ',';
    events += absl::StrCat(R"({"kv":)", Kv(key, value, revision), "}");
  }
  return absl::StrCat(R"({"result":{"header":{"revision":")", revision, R"("},"events":[)", events,
                      "]}}");
}

std::string RangeOf(int64_t revision, std::vector<std::pair<std::string, std::string>> kvs) {
  std::string out = absl::StrCat(R"({"header":{"revision":")", revision, R"("},"kvs":[)");
  for (size_t i = 0; i < kvs.size(); ++i) {
    if (i > 0) out += ',';
    out += Kv(kvs[i].first, kvs[i].second, revision);
  }
  return out + absl::StrCat(R"(],"count":")", kvs.size(), R"("})");
}

TEST(RemoteServicesTest, RealRangeAnswer) {
  RemoteServices table(1);
  absl::StatusOr<bool> changed = table.Reset(kRange);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(table.revision(), 9);
  const RemoteServices::Instances* orders = table.Find("orders");
  ASSERT_NE(orders, nullptr);
  ASSERT_EQ(orders->size(), 1u);
  EXPECT_EQ((*orders)[0], (RemoteInstance{.host_id = 2,
                                          .scheme = "http",
                                          .host = "10.0.0.2",
                                          .port = 7005,
                                          .record = R"({"name":"orders","version":"v7",)"
                                                    R"("upstreams":[{"address":"127.0.0.1:9",)"
                                                    R"("weight":1}],"port":7005,"egress":)"
                                                    R"({"allow":true}})",
                                          .version = "v7"}));
  EXPECT_EQ(table.Find("other"), nullptr);
  EXPECT_EQ(table.key_count(), 1u);
  changed = table.Reset(kRange);  // the same again
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);

  ASSERT_TRUE(table.Reset(kEmptyRange).ok());
  EXPECT_TRUE(table.services().empty());
  EXPECT_EQ(table.revision(), 2);
}

TEST(RemoteServicesTest, WatchMessagesAsTheGatewayWritesThem) {
  RemoteServices table(1);
  ASSERT_TRUE(table.Reset(kRange).ok());
  absl::StatusOr<WatchMessage> created = table.Apply(kCreated);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_FALSE(created->changed);
  EXPECT_EQ(table.revision(), 9);  // "created" says nothing about events delivered

  // A PUT as etcd sends it (no "type"): a second host of the service.
  absl::StatusOr<WatchMessage> put = table.Apply(
      Puts(10, {{"icaht/services/orders/3",
                 Value(3, "https://[fd00::3]:7443", Record("orders", R"(,"version":"v8")"))}}));
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->changed);
  EXPECT_EQ(put->events, 1u);
  ASSERT_EQ(table.Find("orders")->size(), 2u);
  const RemoteInstance& third = (*table.Find("orders"))[1];
  EXPECT_EQ(third.host_id, 3u);
  EXPECT_EQ(third.scheme, "https");
  EXPECT_EQ(third.host, "fd00::3");
  EXPECT_EQ(third.port, 7443);
  EXPECT_EQ(third.record, Record("orders", R"(,"version":"v8")"));
  EXPECT_EQ(third.version, "v8");
  EXPECT_EQ(table.revision(), 10);

  absl::StatusOr<WatchMessage> deleted = table.Apply(kDelete);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->changed);
  ASSERT_EQ(table.Find("orders")->size(), 1u);
  EXPECT_EQ((*table.Find("orders"))[0].host_id, 3u);

  // The last instance gone: the service goes.
  std::string last = std::string(kDelete);
  last.replace(last.find("aWNhaHQvc2VydmljZXMvb3JkZXJzLzI="), 32,
               "aWNhaHQvc2VydmljZXMvb3JkZXJzLzM=");
  ASSERT_TRUE(table.Apply(last).ok());
  EXPECT_EQ(table.Find("orders"), nullptr);

  // Deleting a key never seen changes nothing.
  absl::StatusOr<WatchMessage> again = table.Apply(last);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
}

TEST(RemoteServicesTest, CanceledAndErrorMessages) {
  RemoteServices table(1);
  absl::StatusOr<WatchMessage> compacted = table.Apply(kCompacted);
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 4);
  EXPECT_EQ(compacted->cancel_reason, "revision compacted up to 4");

  absl::StatusOr<WatchMessage> error =
      table.Apply(R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader",)"
                  R"("http_status":"Service Unavailable"}})");
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_TRUE(error->canceled);
  EXPECT_EQ(error->cancel_reason, "etcdserver: no leader");

  EXPECT_FALSE(table.Apply("{}").ok());
  EXPECT_FALSE(table.Apply("not json").ok());
  EXPECT_FALSE(table.Apply(R"({"result":{"events":[{"type":"PATCH","kv":{"key":"YQ=="}}]}})").ok());
}

TEST(RemoteServicesTest, OwnHostIsIgnored) {
  RemoteServices table(7);
  ASSERT_TRUE(table
                  .Reset(RangeOf(5, {{"icaht/services/a/7", Value(7, "http://h:1", Record("a"))},
                                     {"icaht/services/a/8", Value(8, "http://h:2", Record("a"))},
                                     {"icaht/services/b/7", Value(7, "http://h:3", Record("b"))}}))
                  .ok());
  ASSERT_NE(table.Find("a"), nullptr);
  ASSERT_EQ(table.Find("a")->size(), 1u);
  EXPECT_EQ((*table.Find("a"))[0].host_id, 8u);
  EXPECT_EQ(table.Find("b"), nullptr);
  EXPECT_EQ(table.key_count(), 3u);  // tracked, not served
  absl::StatusOr<WatchMessage> own =
      table.Apply(Puts(6, {{"icaht/services/c/7", Value(7, "http://h:4", Record("c"))}}));
  ASSERT_TRUE(own.ok());
  EXPECT_FALSE(own->changed);
  EXPECT_EQ(table.Find("c"), nullptr);
  EXPECT_EQ(table.invalid_keys(), 0u);
}

TEST(RemoteServicesTest, GarbageValuesAreSkippedAndCounted) {
  RemoteServices table(1);
  ASSERT_TRUE(table.Reset(kRange).ok());
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {"icaht/services/x/2", "not json"},
      {"icaht/services/x/3", ""},
      {"icaht/services/x/4", Value(5, "http://h:1", Record("x"))},      // id differs from the key's
      {"icaht/services/x/6", Value(6, "http://h:1", Record("y"))},      // name differs
      {"icaht/services/x/7", Value(7, "ftp://h:1", Record("x"))},       // scheme
      {"icaht/services/x/8", Value(8, "http://h", Record("x"))},        // no port
      {"icaht/services/x/9", Value(9, "http://h:0", Record("x"))},      // port 0
      {"icaht/services/x/10", Value(10, "http://h:1/p", Record("x"))},  // a path
      {"icaht/services/x/11", Value(11, "http://h:1", "3")},  // a record that is no object
      {"icaht/services/x/12", Value(12, "http://h:1", R"({"name":"x","version":1})")},
      {"icaht/services/x/13", R"({"host_id":13,"url":"http://h:1"})"},  // no record
      {"icaht/services/nohost", Value(1, "http://h:1", Record("nohost"))},
      {"icaht/services/x/abc", Value(1, "http://h:1", Record("x"))},
  };
  absl::StatusOr<WatchMessage> message = table.Apply(Puts(20, garbage));
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_FALSE(message->changed);
  EXPECT_EQ(table.Find("x"), nullptr);
  EXPECT_EQ(table.invalid_keys(), garbage.size());
  EXPECT_EQ(table.invalid_seen(), garbage.size());
  EXPECT_NE(table.Find("orders"), nullptr);  // the good one stays

  // A good value replaced by garbage: the instance goes.
  message = table.Apply(Puts(21, {{"icaht/services/orders/2", "{}"}}));
  ASSERT_TRUE(message.ok());
  EXPECT_TRUE(message->changed);
  EXPECT_EQ(table.Find("orders"), nullptr);
  // Garbage replaced by a good value, and garbage deleted.
  message = table.Apply(Puts(22, {{"icaht/services/x/2", Value(2, "http://h:1", Record("x"))}}));
  ASSERT_TRUE(message.ok());
  EXPECT_TRUE(message->changed);
  EXPECT_EQ(table.Find("x")->size(), 1u);
  EXPECT_EQ(table.invalid_keys(), garbage.size());  // x/2 fixed, orders/2 broken
  EXPECT_EQ(table.invalid_seen(), garbage.size() + 1);
}

TEST(RemoteServicesTest, AMalformedMessageChangesNothing) {
  RemoteServices table(1);
  ASSERT_TRUE(table.Reset(kRange).ok());
  // The first event is fine, the second's key is not base64: neither applies.
  std::string message = Puts(30, {{"icaht/services/a/2", Value(2, "http://h:1", Record("a"))}});
  message.insert(message.rfind(']'), R"(,{"type":"DELETE","kv":{"key":"!!"}})");
  EXPECT_FALSE(table.Apply(message).ok());
  EXPECT_EQ(table.Find("a"), nullptr);
  EXPECT_EQ(table.revision(), 9);
  // A range answer that is not one leaves the table as it was.
  EXPECT_FALSE(table.Reset(R"({"kvs":[]})").ok());
  EXPECT_FALSE(table.Reset(R"({"header":{"revision":"3"},"kvs":[],"more":true})").ok());
  EXPECT_FALSE(table.Reset(R"({"error":"etcdserver: no leader","code":14})").ok());
  EXPECT_NE(table.Find("orders"), nullptr);
}

TEST(RemoteServicesTest, RepublishingTheSameValueIsNoChange) {
  // What a sidecar publishes, as etcd_layout writes it.
  absl::StatusOr<registry::ServiceRecord> record = registry::ParseServiceRecord(
      R"json({"name":"pay","version":"2.1","upstreams":["127.0.0.1:9"],"port":7010})json");
  ASSERT_TRUE(record.ok()) << record.status();
  std::vector<KeyValue> keys = HostKeys(*record, {.host_id = 4, .advertise_host = "[::1]"});
  RemoteServices table(1);
  ASSERT_TRUE(table.Reset(kEmptyRange).ok());
  absl::StatusOr<WatchMessage> message = table.Apply(Puts(3, {{keys[1].key, keys[1].value}}));
  ASSERT_TRUE(message.ok());
  EXPECT_TRUE(message->changed);
  ASSERT_NE(table.Find("pay"), nullptr);
  const RemoteInstance& pay = (*table.Find("pay"))[0];
  EXPECT_EQ(pay.host_id, 4u);
  EXPECT_EQ(pay.scheme, "http");
  EXPECT_EQ(pay.host, "::1");
  EXPECT_EQ(pay.port, 7010);
  EXPECT_EQ(pay.version, "2.1");
  // The whole record as published: it reads back as the record.
  absl::StatusOr<registry::ServiceRecord> back = registry::ParseServiceRecord(pay.record);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *record);
  message = table.Apply(Puts(4, {{keys[1].key, keys[1].value}}));
  ASSERT_TRUE(message.ok());
  EXPECT_FALSE(message->changed);
  EXPECT_EQ(table.revision(), 4);
}

TEST(RemoteServicesTest, InstancesAreSortedByHost) {
  RemoteServices table(0);
  ASSERT_TRUE(table
                  .Reset(RangeOf(5, {{"icaht/services/a/9", Value(9, "http://h:9", Record("a"))},
                                     {"icaht/services/a/3", Value(3, "http://h:3", Record("a"))},
                                     {"icaht/services/a/5", Value(5, "http://h:5", Record("a"))}}))
                  .ok());
  std::vector<uint32_t> ids;
  for (const RemoteInstance& i : *table.Find("a")) ids.push_back(i.host_id);
  EXPECT_EQ(ids, (std::vector<uint32_t>{3, 5, 9}));
  RemoteServices copy(0);
  ASSERT_TRUE(copy.Reset(RangeOf(6, {{"icaht/services/a/5", Value(5, "http://h:5", Record("a"))},
                                     {"icaht/services/a/9", Value(9, "http://h:9", Record("a"))},
                                     {"icaht/services/a/3", Value(3, "http://h:3", Record("a"))}}))
                  .ok());
  EXPECT_TRUE(table.SameServices(copy));
}

TEST(RemoteServicesTest, RequestBodiesAndCount) {
  EXPECT_EQ(ServicesRangeBody(),
            R"({"key":"aWNhaHQvc2VydmljZXMv","range_end":"aWNhaHQvc2VydmljZXMw"})");
  EXPECT_EQ(ServicesWatchBody(12), R"({"create_request":{"key":"aWNhaHQvc2VydmljZXMv",)"
                                   R"("range_end":"aWNhaHQvc2VydmljZXMw","start_revision":"12"}})");
  absl::StatusOr<RangeCount> count = ParseRangeCount(
      R"({"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"2"},"count":"3"})");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->revision, 5);
  EXPECT_EQ(count->count, 3);
  count = ParseRangeCount(kEmptyRange);  // no keys: no count
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->count, 0);
}

}  // namespace remote_services_test
}  // namespace icaht::discovery
