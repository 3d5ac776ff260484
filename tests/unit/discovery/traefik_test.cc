// The Traefik trees: the JSON and YAML forms say the same, and the etcd layout
// names the same settings as the file provider's tree.
#include "discovery/traefik.h"

#include <string>

#include "discovery/etcd_layout.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace icaht::discovery {
namespace traefik_test {

registry::ServiceRecord Record(const std::string& json) {
  auto r = registry::ParseServiceRecord(json);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(TraefikTest, JsonTreeAndEtcdKeysAgree) {
  registry::ServiceRecord a = Record(R"({"name":"a","upstreams":["127.0.0.1:9"],"port":7001})");
  registry::ServiceRecord b = Record(
      R"json({"name":"b","upstreams":["127.0.0.1:9"],"port":7002,)json"
      R"json("route":{"rule":"Host(`b`)","middlewares":["m@file"]},"health":{"ready_path":""}})json");
  std::string json = TraefikDynamicConfig({&a, &b}, {.advertise_host = "h"}, TraefikFormat::kJson);
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  for (const registry::ServiceRecord* r : {&a, &b}) {
    for (const KeyValue& kv : SharedKeys(*r)) {
      // "traefik/http/routers/b/middlewares/0" -> /http/routers/b/middlewares/0
      std::string pointer = kv.key.substr(std::string("traefik").size());
      simdjson::dom::element value;
      ASSERT_EQ(doc.at_pointer(pointer).get(value), simdjson::SUCCESS) << pointer;
      std::string text =
          value.is_string() ? std::string(std::string_view(value)) : simdjson::to_string(value);
      EXPECT_EQ(text, kv.value) << pointer;
    }
    KeyValue server = HostKeys(*r, {.host_id = 0, .advertise_host = "h"})[0];
    std::string pointer =
        "/http/services/" + r->name + "/loadBalancer/servers/0/url";  // index 0 in the file
    EXPECT_EQ(std::string_view(doc.at_pointer(pointer)), server.value);
  }
}

TEST(TraefikTest, TlsPortsAreReachedOverHttps) {
  registry::ServiceRecord t = Record(R"({"name":"t","upstreams":["127.0.0.1:9"],"port":7003,)"
                                     R"("tls":{"cert_file":"/c.pem","key_file":"/k.pem"}})");
  std::string yaml = TraefikDynamicConfig({&t}, {.advertise_host = "h"}, TraefikFormat::kYaml);
  EXPECT_NE(yaml.find("\"url\": \"https://h:7003\""), std::string::npos) << yaml;
  KeyValue server = HostKeys(t, {.host_id = 0, .advertise_host = "h"})[0];
  EXPECT_EQ(server.value, "https://h:7003");
}

TEST(TraefikTest, YamlSaysWhatJsonSays) {
  registry::ServiceRecord a = Record(R"({"name":"a","upstreams":["127.0.0.1:9"],"port":7001})");
  std::string yaml = TraefikDynamicConfig({&a}, {.advertise_host = "h"}, TraefikFormat::kYaml);
  EXPECT_NE(yaml.find("\"http\":\n  \"routers\":\n    \"a\":\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("        \"servers\":\n          - \"url\": \"http://h:7001\"\n"),
            std::string::npos)
      << yaml;
  std::string empty = TraefikDynamicConfig({}, {.advertise_host = "h"}, TraefikFormat::kYaml);
  EXPECT_NE(empty.find("\"routers\": {}"), std::string::npos) << empty;
}

}  // namespace traefik_test
}  // namespace icaht::discovery
