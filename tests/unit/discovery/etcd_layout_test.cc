#include "discovery/etcd_layout.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace icaht::discovery {
namespace {

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

}  // namespace
}  // namespace icaht::discovery
