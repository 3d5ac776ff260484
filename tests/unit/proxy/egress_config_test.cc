// The egress's service configs (proxy/egress_config.h): a local service's for
// local callers, another host's from its published record, and the listener's.

#include "proxy/egress_config.h"

#include "gtest/gtest.h"
#include "proxy/config_from_record.h"

namespace icaht::proxy {
namespace egress_config_test {

registry::ServiceRecord Parse(std::string_view json) {
  absl::StatusOr<registry::ServiceRecord> record = registry::ParseServiceRecord(json);
  EXPECT_TRUE(record.ok()) << record.status();
  return record.ok() ? *record : registry::ServiceRecord{};
}

std::vector<UpstreamConfig> Hosts(std::initializer_list<const char*> addresses) {
  std::vector<UpstreamConfig> out;
  for (const char* text : addresses) {
    UpstreamConfig& u = out.emplace_back();
    u.address = *net::Address::Parse(text);
    u.text = text;
  }
  return out;
}

TEST(EgressConfigTest, LocalServiceKeepsItsInstancesAndTakesTheEgressPolicy) {
  registry::ServiceRecord record = Parse(R"({"name":"billing","port":7005,
      "upstreams":["127.0.0.1:9001","127.0.0.1:9002"],"load_balancer":"least_request",
      "retries":{"attempts":3},"timeouts":{"connect_ms":700,"request_ms":9000},
      "rate_limit":{"requests_per_second":1},"cors":{"allow_origins":["*"]},
      "egress":{"timeouts":{"request_ms":2000}}})");
  auto ingress = ServiceConfigFromRecord(record, net::Address(), 5000);
  auto egress = EgressConfigFor(*ingress, record.egress);
  ASSERT_EQ(egress->upstreams.size(), 2u);
  EXPECT_EQ(egress->upstreams[1].text, ingress->upstreams[1].text);  // same order: one balancer
  EXPECT_EQ(egress->lb_policy, LbPolicy::kLeastRequest);
  ASSERT_TRUE(egress->retries.has_value());  // null in egress: the record's
  EXPECT_EQ(egress->retries->attempts, 3u);
  EXPECT_EQ(egress->connect_timeout_ms, 700u);  // 0 in egress: the record's
  EXPECT_EQ(egress->request_timeout_ms, 2000u);
  EXPECT_TRUE(egress->trust_timeout_header);
  // Edge policy is for callers from outside; request IDs are kept from the caller.
  EXPECT_TRUE(egress->filters().rate_limits.empty());
  EXPECT_FALSE(egress->filters().cors.enabled);
  EXPECT_TRUE(egress->filters().request_id.enabled);
  EXPECT_TRUE(egress->filters().request_id.trust_incoming);
}

TEST(EgressConfigTest, RemoteServiceTakesItsPolicyFromThePublishedRecord) {
  registry::ServiceRecord record = Parse(R"({"name":"billing","port":7005,
      "upstreams":["10.9.9.9:80"],"load_balancer":"random","retries":{"attempts":4},
      "timeouts":{"connect_ms":300},"outlier_detection":{},
      "egress":{"retries":{"attempts":2},"timeouts":{"total_ms":8000}}})");
  auto config =
      RemoteServiceConfig("billing", Hosts({"127.0.0.2:7005", "127.0.0.3:7005"}), &record, 4000);
  EXPECT_EQ(config->name, "billing");
  EXPECT_EQ(config->port, 0);  // no listener of its own
  // Its instances are the other hosts' ingress ports, not the record's upstreams.
  ASSERT_EQ(config->upstreams.size(), 2u);
  EXPECT_EQ(config->upstreams[0].address.ToString(), "127.0.0.2:7005");
  EXPECT_EQ(config->lb_policy, LbPolicy::kRandom);
  ASSERT_TRUE(config->retries.has_value());
  EXPECT_EQ(config->retries->attempts, 2u);  // the egress block's
  EXPECT_EQ(config->connect_timeout_ms, 300u);
  EXPECT_EQ(config->total_timeout_ms, 8000u);
  EXPECT_EQ(config->drain_timeout_ms, 4000u);
  EXPECT_FALSE(config->outlier.has_value());  // no detector here watches another host's
  EXPECT_TRUE(config->filters().request_id.trust_incoming);
}

TEST(EgressConfigTest, RemoteServiceWithoutAReadableRecordGetsTheDefaults) {
  auto config = RemoteServiceConfig("pay", Hosts({"127.0.0.2:7010"}), nullptr, 5000);
  EXPECT_EQ(config->name, "pay");
  EXPECT_EQ(config->upstreams.size(), 1u);
  EXPECT_FALSE(config->retries.has_value());
  EXPECT_EQ(config->connect_timeout_ms, ServiceConfig{}.connect_timeout_ms);
  EXPECT_EQ(config->request_timeout_ms, ServiceConfig{}.request_timeout_ms);
  EXPECT_EQ(config->lb_policy, LbPolicy::kRoundRobin);
}

TEST(EgressConfigTest, ListenerHasNoUpstreams) {
  auto config = EgressListenerConfig(*net::Address::Parse("127.0.0.1:7000"));
  EXPECT_TRUE(config->egress_listener);
  EXPECT_TRUE(config->upstreams.empty());
  EXPECT_EQ(config->port, 7000);
  EXPECT_FALSE(config->access_log);
}

}  // namespace egress_config_test
}  // namespace icaht::proxy
