#include "discovery/etcd_layout.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace icaht::discovery {
namespace etcd_layout_test {

using ::testing::ElementsAre;

registry::ServiceRecord Record(const std::string& json) {
  auto r = registry::ParseServiceRecord(json);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(EtcdLayoutTest, Base64RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "traefik/http/routers/x/rule"}) {
    std::string decoded;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &decoded)) << s;
    EXPECT_EQ(decoded, s);
  }
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  std::string out;
  EXPECT_FALSE(Base64Decode("YWI", &out));
  EXPECT_FALSE(Base64Decode("Y!I=", &out));
}

TEST(EtcdLayoutTest, HostAndSharedKeys) {
  registry::ServiceRecord r = Record(
      R"json({"name":"orders","upstreams":["127.0.0.1:9"],"port":7005,)json"
      R"json("route":{"rule":"Host(`o.example`)","entry_points":["web"],"priority":3}})json");
  std::vector<KeyValue> host = HostKeys(r, {.host_id = 12, .advertise_host = "10.0.0.5"});
  ASSERT_EQ(host.size(), 2u);
  EXPECT_EQ(host[0], (KeyValue{"traefik/http/services/orders/loadBalancer/servers/12/url",
                               "http://10.0.0.5:7005"}));
  EXPECT_EQ(host[1].key, "icaht/services/orders/12");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(host[1].value);
  EXPECT_EQ(uint64_t(doc["host_id"]), 12u);
  EXPECT_EQ(std::string_view(doc["url"]), "http://10.0.0.5:7005");
  EXPECT_EQ(std::string_view(doc["record"]["name"]), "orders");
  EXPECT_THAT(HostKeyNames("orders", 12),
              ElementsAre(host[0].key, host[1].key));  // what deregistration deletes

  std::map<std::string, std::string> shared;
  for (const KeyValue& kv : SharedKeys(r)) shared[kv.key] = kv.value;
  EXPECT_EQ(shared, (std::map<std::string, std::string>{
                        {"traefik/http/routers/orders/rule", "Host(`o.example`)"},
                        {"traefik/http/routers/orders/service", "orders"},
                        {"traefik/http/routers/orders/entryPoints/0", "web"},
                        {"traefik/http/routers/orders/priority", "3"},
                        {"traefik/http/services/orders/loadBalancer/healthCheck/path", "/ready"},
                        {"traefik/http/services/orders/loadBalancer/healthCheck/interval", "5s"},
                        {"traefik/http/services/orders/loadBalancer/healthCheck/timeout", "2s"},
                    }));
}

TEST(EtcdLayoutTest, TransactionBodies) {
  std::string body = PutTxnBody({{"k1", "v1"}}, 7587899268543073543, {{"k2", "v2"}});
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(body);
  simdjson::dom::array ops = doc["success"];
  ASSERT_EQ(ops.size(), 2u);
  simdjson::dom::element first = ops.at(0)["requestPut"];
  EXPECT_EQ(std::string_view(first["key"]), Base64Encode("k1"));
  EXPECT_EQ(std::string_view(first["value"]), Base64Encode("v1"));
  EXPECT_EQ(std::string_view(first["lease"]), "7587899268543073543");
  EXPECT_TRUE(ops.at(1)["requestPut"]["lease"].error());  // shared keys: no lease

  doc = parser.parse(DeleteTxnBody({"a", "b"}));
  ops = doc["success"];
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(std::string_view(ops.at(1)["requestDeleteRange"]["key"]), Base64Encode("b"));
}

TEST(EtcdLayoutTest, PrefixesAndRanges) {
  EXPECT_EQ(PrefixEnd("a/b/"), "a/b0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(ServersPrefix("api"), "traefik/http/services/api/loadBalancer/servers/");
  EXPECT_THAT(SharedPrefixes("api"),
              ElementsAre("traefik/http/routers/api/",
                          "traefik/http/services/api/loadBalancer/healthCheck/"));
  // "api/" is not a prefix of another service's keys ("api-v2").
  registry::ServiceRecord r = Record(R"({"name":"api","upstreams":["127.0.0.1:9"],"port":7005})");
  for (const KeyValue& kv : SharedKeys(r)) {
    bool under = false;
    for (const std::string& prefix : SharedPrefixes("api")) under |= kv.key.starts_with(prefix);
    EXPECT_TRUE(under) << kv.key;
  }
  EXPECT_EQ(MarkerKey("api"), "icaht/shared/api");

  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(RangeTxnBody({"p/"}));
  simdjson::dom::element range = doc["success"].at(0)["requestRange"];
  EXPECT_EQ(std::string_view(range["key"]), Base64Encode("p/"));
  EXPECT_EQ(std::string_view(range["range_end"]), Base64Encode("p0"));
  EXPECT_TRUE(bool(range["keys_only"]));
  doc = parser.parse(CountTxnBody({"p/", "q/"}));
  EXPECT_TRUE(bool(doc["success"].at(1)["requestRange"]["count_only"]));

  doc = parser.parse(UnpublishSharedTxnBody("api"));
  simdjson::dom::element compare = doc["compare"].at(0);
  EXPECT_EQ(std::string_view(compare["key"]), Base64Encode(ServersPrefix("api")));
  EXPECT_EQ(std::string_view(compare["target"]), "CREATE");
  EXPECT_EQ(std::string_view(compare["create_revision"]), "0");
  EXPECT_EQ(std::string_view(compare["result"]), "EQUAL");  // no server left
  compare = doc["compare"].at(1);                           // and the router is ours
  EXPECT_EQ(std::string_view(compare["key"]), Base64Encode("icaht/shared/api"));
  EXPECT_EQ(std::string_view(compare["result"]), "GREATER");
  simdjson::dom::array ops = doc["success"];
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(std::string_view(ops.at(2)["requestDeleteRange"]["key"]),
            Base64Encode("icaht/shared/api"));

  doc = parser.parse(PutTxnBody({{"k1", "v1"}}, 9, {}, {"old"}));
  EXPECT_EQ(std::string_view(doc["success"].at(0)["requestDeleteRange"]["key"]),
            Base64Encode("old"));
  EXPECT_EQ(std::string_view(doc["success"].at(1)["requestPut"]["key"]), Base64Encode("k1"));
}

// Answers as etcd 3.4's gateway writes them.
TEST(EtcdLayoutTest, ParsesAnswers) {
  const std::string header =
      R"("header":{"cluster_id":"14841639068965178418","member_id":"1","revision":"2","raft_term":"2"})";
  auto id = ParseLeaseGrant("{" + header + R"(,"ID":"7587899270062434309","TTL":"2"})");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 7587899270062434309);
  EXPECT_FALSE(ParseLeaseGrant("{" + header + "}").ok());
  EXPECT_FALSE(ParseLeaseGrant("not json").ok());

  auto ttl = ParseKeepalive(R"({"result":{)" + header + R"(,"ID":"7","TTL":"9"}})");
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 9);
  ttl = ParseKeepalive(R"({"result":{)" + header + R"(,"ID":"7"}})");  // expired
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 0);
  EXPECT_FALSE(ParseKeepalive("{" + header + "}").ok());

  auto ranges = ParseRangeTxn(
      "{" + header +
      R"(,"succeeded":true,"responses":[)"
      R"({"response_range":{"header":{"revision":"2"},"kvs":[)"
      R"({"key":"YS94LzE=","create_revision":"2","mod_revision":"2","version":"1","lease":"75"},)"
      R"({"key":"YS95","create_revision":"2","mod_revision":"2","version":"1"}],"count":"2"}},)"
      R"({"response_range":{"header":{"revision":"2"}}}]})");
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_EQ(ranges->revision, 2);
  ASSERT_EQ(ranges->keys.size(), 2u);
  EXPECT_THAT(ranges->keys[0], ElementsAre("a/x/1", "a/y"));
  EXPECT_TRUE(ranges->keys[1].empty());

  auto counts = ParseCountTxn("{" + header +
                              R"(,"succeeded":true,"responses":[)"
                              R"({"response_range":{"header":{"revision":"2"},"count":"3"}},)"
                              R"({"response_range":{"header":{"revision":"2"}}}]})");
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_THAT(*counts, ElementsAre(3, 0));

  EXPECT_TRUE(TxnSucceeded("{" + header + R"(,"succeeded":true,"responses":[]})"));
  EXPECT_FALSE(TxnSucceeded("{" + header + "}"));  // the compare failed: no "succeeded"
  EXPECT_EQ(
      ErrorCode(R"({"error":"etcdserver: requested lease not found","message":"x","code":5})"),
      kGrpcNotFound);
  EXPECT_EQ(ErrorCode("{" + header + "}"), std::nullopt);
  EXPECT_EQ(ErrorCode("<html>"), std::nullopt);
}

}  // namespace etcd_layout_test
}  // namespace icaht::discovery
