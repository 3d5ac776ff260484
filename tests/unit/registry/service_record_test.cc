#include "registry/service_record.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "record_test_util.h"
#include "registry/json_reader.h"
#include "registry/service_record_json.h"

namespace icaht::registry {
namespace service_record_test {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ServiceRecordTest, MinimalRecordGetsDefaults) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(""));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name, "orders");
  EXPECT_EQ(r->version, "");
  ASSERT_EQ(r->upstreams.size(), 1u);
  EXPECT_EQ(r->upstreams[0].address, "127.0.0.1:8080");
  EXPECT_EQ(r->upstreams[0].resolved.ToString(), "127.0.0.1:8080");
  EXPECT_EQ(r->upstreams[0].weight, 1u);
  EXPECT_EQ(r->port, 0);
  EXPECT_EQ(r->route_rule, "PathPrefix(`/orders`)");
  EXPECT_EQ(r->ttl_s, 0u);
  EXPECT_EQ(r->timeouts, TimeoutSpec{});
  EXPECT_EQ(r->load_balancer, "round_robin");
  EXPECT_EQ(r->max_body_bytes, 0u);
}

TEST(ServiceRecordTest, FullRecord) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(R"json({
    "name": "orders", "version": "1.4.2",
    "upstreams": ["127.0.0.1:8080", {"address": "[::1]:8081", "weight": 2},
                  {"address": "localhost:9"}],
    "port": 7005,
    "route": {"rule": "Host(`orders.example`)"},
    "ttl_s": 30,
    "timeouts": {"connect_ms": 500, "request_ms": 2000, "idle_ms": 30000},
    "load_balancer": "maglev", "hash_on": "header:X-User",
    "max_body_bytes": 1048576
  })json");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->load_balancer, "maglev");
  EXPECT_FALSE(r->retries.has_value());
  EXPECT_EQ(r->hash_on, "header:x-user");  // header names compare case-insensitively
  EXPECT_EQ(r->version, "1.4.2");
  ASSERT_EQ(r->upstreams.size(), 3u);
  EXPECT_EQ(r->upstreams[1].address, "[::1]:8081");
  EXPECT_EQ(r->upstreams[1].resolved.ToString(), "[::1]:8081");
  EXPECT_EQ(r->upstreams[1].weight, 2u);
  EXPECT_EQ(r->upstreams[2].weight, 1u);
  EXPECT_EQ(r->upstreams[2].resolved.ToString(), "127.0.0.1:9");
  EXPECT_EQ(r->port, 7005);
  EXPECT_EQ(r->route_rule, "Host(`orders.example`)");
  EXPECT_EQ(r->ttl_s, 30u);
  EXPECT_EQ(r->timeouts.connect_ms, 500u);
  EXPECT_EQ(r->timeouts.request_ms, 2000u);
  EXPECT_EQ(r->timeouts.idle_ms, 30000u);
  EXPECT_EQ(r->max_body_bytes, 1048576u);
}

TEST(ServiceRecordTest, PartialTimeoutsKeepOtherDefaults) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"timeouts":{"idle_ms":5})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->timeouts.connect_ms, 1000u);
  EXPECT_EQ(r->timeouts.request_ms, 15000u);
  EXPECT_EQ(r->timeouts.idle_ms, 5u);
}

TEST(ServiceRecordTest, EmptyRouteRuleGetsTheDefault) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"route":{"rule":""})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->route_rule, "PathPrefix(`/orders`)");
  r = ParseServiceRecord(With(R"(,"route":{})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->route_rule, "PathPrefix(`/orders`)");
}

TEST(ServiceRecordTest, ServingFromGetIsIgnored) {
  // GET adds "serving": a record read back that way parses to the same record.
  absl::StatusOr<ServiceRecord> plain =
      ParseServiceRecord(R"({"name": "a", "upstreams": ["127.0.0.1:1"]})");
  absl::StatusOr<ServiceRecord> from_get =
      ParseServiceRecord(R"({"name": "a", "upstreams": ["127.0.0.1:1"], "serving": false})");
  ASSERT_TRUE(plain.ok() && from_get.ok()) << from_get.status();
  EXPECT_EQ(*plain, *from_get);
  EXPECT_EQ(ParseServiceRecord(R"({"name": "a", "upstreams": ["127.0.0.1:1"], "serving": 1})")
                .status()
                .message(),
            "field 'serving': must be true or false");
}

TEST(ServiceRecordTest, ExactMessages) {
  EXPECT_EQ(ErrorOf(R"({"upstreams":["127.0.0.1:1"]})"), "field 'name': required");
  EXPECT_EQ(ErrorOf(R"({"name":"a"})"), "field 'upstreams': required");
  EXPECT_EQ(ErrorOf(With(R"(,"foo":1)")), "unknown field 'foo'");
  EXPECT_EQ(ErrorOf(With(R"(,"plugins":[{"path":"a.so"}])")),
            "field 'plugins[0].path': must be an absolute path");
  EXPECT_EQ(ErrorOf(With(R"(,"cache":{"max_bytes":1})")),
            "field 'cache.max_bytes': must be an integer 1048576..68719476736");
  EXPECT_EQ(ErrorOf(R"({"name":"a","upstreams":["127.0.0.1:1",)"
                    R"({"address":"127.0.0.1:2","weight":0}]})"),
            "field 'upstreams[1].weight': must be an integer 1..1000");
}

struct BadCase {
  std::string json;
  std::string message;  // a substring of the error
};

class ServiceRecordErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ServiceRecordErrorTest, NamesTheFieldAndTheProblem) {
  EXPECT_THAT(ErrorOf(GetParam().json), HasSubstr(GetParam().message));
}

const std::string kLongName(64, 'a');
const std::string kLongVersion(65, 'v');
const std::string kLongRule(1025, 'r');

INSTANTIATE_TEST_SUITE_P(
    AllRules, ServiceRecordErrorTest,
    ::testing::Values(
        // name
        BadCase{R"({"name":"","upstreams":["127.0.0.1:1"]})", "field 'name': must be 1..63"},
        BadCase{R"({"name":"Orders","upstreams":["127.0.0.1:1"]})", "field 'name': must be 1..63"},
        BadCase{R"({"name":"-x","upstreams":["127.0.0.1:1"]})", "starting with a letter or digit"},
        BadCase{R"({"name":"a/b","upstreams":["127.0.0.1:1"]})", "field 'name': must be"},
        BadCase{R"({"name":")" + kLongName + R"(","upstreams":["127.0.0.1:1"]})",
                "field 'name': must be 1..63"},
        BadCase{R"({"name":7,"upstreams":["127.0.0.1:1"]})", "field 'name': must be a string"},
        // version
        BadCase{With(R"(,"version":")" + kLongVersion + "\""),
                "field 'version': must be at most 64 characters"},
        BadCase{With(R"(,"version":1)"), "field 'version': must be a string"},
        // upstreams
        BadCase{R"({"name":"a","upstreams":[]})",
                "field 'upstreams': must have at least one entry"},
        BadCase{R"({"name":"a","upstreams":"127.0.0.1:1"})", "field 'upstreams': must be an array"},
        BadCase{R"({"name":"a","upstreams":[1]})", "field 'upstreams[0]': must be \"HOST:PORT\""},
        BadCase{R"({"name":"a","upstreams":["127.0.0.1:1","example.com:80"]})",
                "field 'upstreams[1]': address 'example.com:80': 'example.com' is not an IP"},
        BadCase{R"({"name":"a","upstreams":["127.0.0.1:0"]})",
                "field 'upstreams[0]': address '127.0.0.1:0': port must be 1..65535"},
        BadCase{R"({"name":"a","upstreams":[{"weight":2}]})",
                "field 'upstreams[0].address': required"},
        BadCase{R"({"name":"a","upstreams":[{"address":"nope"}]})",
                "field 'upstreams[0].address': address 'nope': missing port"},
        BadCase{R"({"name":"a","upstreams":[{"address":"127.0.0.1:1","weight":1001}]})",
                "field 'upstreams[0].weight': must be an integer 1..1000"},
        BadCase{R"({"name":"a","upstreams":[{"address":"127.0.0.1:1","weight":1.5}]})",
                "field 'upstreams[0].weight': must be an integer 1..1000"},
        BadCase{R"({"name":"a","upstreams":[{"address":"127.0.0.1:1","weight":"2"}]})",
                "field 'upstreams[0].weight': must be an integer 1..1000"},
        BadCase{R"({"name":"a","upstreams":[{"address":"127.0.0.1:1","zone":"x"}]})",
                "unknown field 'upstreams[0].zone'"},
        BadCase{R"({"name":"a","upstreams":[{"address":"127.0.0.1:1","address":"127.0.0.1:2"}]})",
                "field 'upstreams[0].address': duplicate key"},
        // port
        BadCase{With(R"(,"port":65536)"), "field 'port': must be an integer 0..65535"},
        BadCase{With(R"(,"port":-1)"), "field 'port': must be an integer 0..65535"},
        BadCase{With(R"(,"port":"7001")"), "field 'port': must be an integer 0..65535"},
        BadCase{With(R"(,"port":99999999999999999999999)"), "field 'port': must be an integer"},
        BadCase{With(R"(,"port":null)"), "field 'port': must be an integer"},
        // route
        BadCase{With(R"json(,"route":"PathPrefix(`/x`)")json"), "field 'route': must be an object"},
        BadCase{With(R"(,"route":{"rule":1})"), "field 'route.rule': must be a string"},
        BadCase{With(R"(,"route":{"rule":")" + kLongRule + R"("})"),
                "field 'route.rule': must be at most 1024 characters"},
        BadCase{With(R"(,"route":{"rule":"x","weight":1})"), "unknown field 'route.weight'"},
        // ttl_s
        BadCase{With(R"(,"ttl_s":86401)"), "field 'ttl_s': must be an integer 0..86400"},
        BadCase{With(R"(,"ttl_s":-5)"), "field 'ttl_s': must be an integer 0..86400"},
        // timeouts
        BadCase{With(R"(,"timeouts":{"connect_ms":0})"),
                "field 'timeouts.connect_ms': must be an integer 1..600000"},
        BadCase{With(R"(,"timeouts":{"request_ms":3600001})"),
                "field 'timeouts.request_ms': must be an integer 1..3600000"},
        BadCase{With(R"(,"timeouts":{"idle_ms":86400001})"),
                "field 'timeouts.idle_ms': must be an integer 1..86400000"},
        BadCase{With(R"(,"timeouts":{"read_ms":1})"), "unknown field 'timeouts.read_ms'"},
        BadCase{With(R"(,"timeouts":5)"), "field 'timeouts': must be an object"},
        // load_balancer
        BadCase{With(R"(,"load_balancer":"leastconn")"),
                "field 'load_balancer': must be one of round_robin, least_request, random, "
                "ring_hash, maglev"},
        BadCase{With(R"(,"load_balancer":"maglev","hash_on":"ip")"),
                "field 'hash_on': must be \"client_ip\", \"header:<name>\" or \"cookie:<name>\""},
        BadCase{With(R"(,"load_balancer":"maglev","hash_on":"header:")"),
                "field 'hash_on': must be"},
        BadCase{With(R"(,"load_balancer":"ring_hash","hash_on":"cookie:a b")"),
                "field 'hash_on': must be"},
        BadCase{With(R"(,"hash_on":"client_ip")"),
                "field 'hash_on': only with load_balancer ring_hash or maglev, or routes (this "
                "record has round_robin and none)"},
        // max_body_bytes
        BadCase{With(R"(,"max_body_bytes":-1)"),
                "field 'max_body_bytes': must be a non-negative integer"},
        BadCase{With(R"(,"max_body_bytes":1.5)"),
                "field 'max_body_bytes': must be a non-negative integer"},
        // access_log
        BadCase{With(R"(,"access_log":"off")"), "field 'access_log': must be true or false"},
        // limits
        BadCase{With(R"(,"limits":{"max_request_line":100})"),
                "field 'limits.max_request_line': must be an integer 256..1048576"},
        BadCase{With(R"(,"limits":{"max_headers":0})"),
                "field 'limits.max_headers': must be an integer 1..1000"},
        BadCase{With(R"(,"limits":{"max_header_bytes":"big"})"), "field 'limits.max_header_bytes'"},
        BadCase{With(R"(,"limits":{"max_body":1})"), "unknown field 'limits.max_body'"},
        // design fields not in this build
        BadCase{With(R"(,"endpoints":[{"methods":["GET"]}])"),
                "field 'endpoints[0].path_prefix': required"},
        BadCase{With(R"(,"request_id":{"header":"X Id"})"),
                "field 'request_id.header': must be a header name (1..64 token characters)"},
        BadCase{With(R"(,"request_id":{"header":""})"),
                "field 'request_id.header': must be a header name (1..64 token characters)"},
        BadCase{With(R"(,"request_id":{"trust_incoming":"yes"})"),
                "field 'request_id.trust_incoming': must be true or false"},
        BadCase{With(R"(,"request_id":{"id":1})"), "unknown field 'request_id.id'"},
        BadCase{With(R"(,"auth":{"jwt":{"jwks_file":"/k","algorithms":["none"]}})"),
                "field 'auth.jwt.algorithms[0]': 'none' is never accepted"},
        BadCase{With(R"(,"rate_limit":{})"), "field 'rate_limit.requests_per_second': required"},
        BadCase{
            With(R"(,"health":{"path":"health"})"),
            "field 'health.path': must be \"\" or a path starting with '/' (no query, no spaces)"},
        BadCase{With(R"(,"health":{"ready_path":"/r?x=1"})"),
                "field 'health.ready_path': must be \"\" or a path starting with '/' (no query, no "
                "spaces)"},
        BadCase{With(R"(,"health":{"check":{"interval_ms":50}})"),
                "field 'health.check.interval_ms': must be an integer 100..3600000"},
        BadCase{With(R"(,"health":{"check":{"interval_ms":1000,"timeout_ms":2000}})"),
                "field 'health.check.timeout_ms': must be at most interval_ms"},
        BadCase{With(R"(,"health":{"check":{"path":"healthz"}})"),
                "field 'health.check.path': must be a path starting with '/' (no spaces)"},
        BadCase{With(R"(,"health":{"check":{"expected_statuses":["299-200"]}})"),
                "field 'health.check.expected_statuses[0]': must be a status code 100..599 or a "
                "range \"200-299\""},
        BadCase{With(R"(,"health":{"check":{"expected_statuses":[]}})"),
                "field 'health.check.expected_statuses': must have at least one entry"},
        BadCase{With(R"(,"health":{"check":{"unhealthy_threshold":0}})"),
                "field 'health.check.unhealthy_threshold': must be an integer 1..100"},
        BadCase{With(R"(,"health":{"check":{"bogus":1}})"), "unknown field 'health.check.bogus'"},
        BadCase{With(R"(,"health":{"deregister_after_s":30})"),
                "field 'health.deregister_after_s': needs health.check"},
        BadCase{With(R"(,"health":{"check":{},"deregister_after_s":-1})"),
                "field 'health.deregister_after_s': must be an integer 0..604800"},
        BadCase{With(R"(,"egress":{"via_ingress":1})"),
                "field 'egress.via_ingress': must be true or false"},
        BadCase{With(R"(,"egress":{"timeouts":{"request_ms":-1}})"),
                "field 'egress.timeouts.request_ms': must be an integer 0..3600000"},
        BadCase{With(R"(,"egress":{"timeouts":{"idle_ms":1}})"),
                "unknown field 'egress.timeouts.idle_ms'"},
        BadCase{With(R"(,"egress":{"retries":{"attempts":0}})"),
                "field 'egress.retries.attempts': must be an integer 1..10"},
        BadCase{With(R"(,"retries":{"attempts":0})"),
                "field 'retries.attempts': must be an integer 1..10"},
        BadCase{With(R"(,"retries":{"attempts":11})"),
                "field 'retries.attempts': must be an integer 1..10"},
        BadCase{With(R"(,"retries":{"retry_on":[]})"),
                "field 'retries.retry_on': must name at least one condition"},
        BadCase{With(R"(,"retries":{"retry_on":["5xx","timeout"]})"),
                "field 'retries.retry_on[1]': 'timeout' is none of connect-failure"},
        BadCase{With(R"(,"retries":{"backoff_base_ms":100,"backoff_max_ms":50})"),
                "field 'retries.backoff_max_ms': must be at least backoff_base_ms"},
        BadCase{With(R"(,"retries":{"budget_percent":101})"),
                "field 'retries.budget_percent': must be an integer 0..100"},
        BadCase{With(R"(,"retries":{"tries":2})"), "unknown field 'retries.tries'"},
        BadCase{With(R"(,"retries":{"replay_body_bytes":16777217})"),
                "field 'retries.replay_body_bytes': must be an integer 0..16777216"},
        BadCase{With(R"(,"circuit_breaker":{"max_connections":0})"),
                "field 'circuit_breaker.max_connections': must be an integer 1..1000000"},
        BadCase{With(R"(,"circuit_breaker":{"max_pending":-1})"),
                "field 'circuit_breaker.max_pending': must be an integer 0..1000000"},
        BadCase{With(R"(,"circuit_breaker":{"max_request":5})"),
                "unknown field 'circuit_breaker.max_request'"},
        BadCase{With(R"(,"circuit_breaker":[])"), "field 'circuit_breaker': must be an object"},
        BadCase{With(R"(,"cache":{"max_object_bytes":2097152,"max_bytes":1048576})"),
                "field 'cache.max_object_bytes': must not exceed cache.max_bytes (1048576)"},
        BadCase{With(R"(,"cache":[])"), "field 'cache': must be an object"},
        BadCase{With(R"(,"tracing":{"sample_ratio":1.5})"),
                "field 'tracing.sample_ratio': must be a number 0..1"},
        BadCase{With(R"(,"tracing":{"sample_ratio":"all"})"),
                "field 'tracing.sample_ratio': must be a number 0..1"},
        BadCase{With(R"(,"tracing":{"propagation":[]})"),
                "field 'tracing.propagation': must name at least one of w3c, b3, b3multi"},
        BadCase{With(R"(,"tracing":{"propagation":["w3c","jaeger"]})"),
                "field 'tracing.propagation': unknown format \"jaeger\" (use w3c, b3 or b3multi)"},
        BadCase{With(R"(,"tracing":{"propagation":["b3","b3"]})"),
                "field 'tracing.propagation': \"b3\" is listed twice"},
        BadCase{With(R"(,"tracing":{"propagation":[3]})"),
                "field 'tracing.propagation[0]': must be a string"},
        BadCase{With(R"(,"tracing":{"ratio":1})"), "unknown field 'tracing.ratio'"},
        BadCase{With(R"(,"plugins":[{}])"), "field 'plugins[0].path': required"},
        BadCase{With(R"(,"plugins":[{"path":"/a.so","config":1}])"),
                "field 'plugins[0].config': must be an object"},
        BadCase{With(R"(,"plugins":{})"), "field 'plugins': must be an array"},
        // duplicates, document shape, syntax
        BadCase{With(R"(,"name":"again")"), "field 'name': duplicate key"},
        BadCase{R"(["name"])", "must be a JSON object, got an array"},
        BadCase{R"("orders")", "must be a JSON object, got a string"},
        BadCase{With("") + "{}", "invalid JSON at byte 48 (line 1, column 49)"},
        BadCase{With("") + " x", "unexpected content after the object"},
        BadCase{R"({"name":"a","upstreams":["127.0.0.1:1"],})", "invalid JSON at byte"},
        BadCase{R"({"name":"a" "upstreams":[]})", "invalid JSON"},
        BadCase{R"({"name":"a)", "invalid JSON: unterminated string"},
        BadCase{R"({"name":"a","upstreams":["127.0.0.1:1"])", "invalid JSON"},
        BadCase{"", "invalid JSON: the document is empty"},
        BadCase{R"({"name":"a\q","upstreams":["127.0.0.1:1"]})", "invalid JSON"},
        BadCase{"{\"name\":\"a\xff\",\"upstreams\":[\"127.0.0.1:1\"]}", "not valid UTF-8"},
        BadCase{R"({"name":"a","upstreams":["127.0.0.1:1"],"port":01})", "invalid JSON"}));

TEST(ServiceRecordTest, TooManyUpstreams) {
  std::string json = R"({"name":"a","upstreams":[)";
  for (int i = 0; i < 65; ++i) {
    if (i > 0) json += ",";
    json += "\"127.0.0.1:" + std::to_string(1000 + i) + "\"";
  }
  json += "]}";
  EXPECT_EQ(ErrorOf(json), "field 'upstreams': must have at most 64 entries");
  // 64 is fine.
  json.erase(json.rfind(','));
  json += "]}";
  EXPECT_TRUE(ParseServiceRecord(json).ok());
}

TEST(ServiceRecordTest, SyntaxErrorsGiveLineAndColumn) {
  std::string message = ErrorOf("{\n  \"name\": \"a\",\n  \"upstreams\": [\"127.0.0.1:1\",]\n}");
  EXPECT_THAT(message, StartsWith("invalid JSON at byte "));
  EXPECT_THAT(message, HasSubstr("(line 3,"));
}

TEST(ServiceRecordTest, EscapedKeysAndValuesAreUnescaped) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(R"({"n\u0061me":"a","upstreams":["127.0.0.1:1"],"version":"\u00e9\n"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name, "a");
  EXPECT_EQ(r->version, "\xC3\xA9\n");
}

TEST(ServiceRecordTest, ToJsonIsCanonical) {
  ServiceRecord r;
  r.name = "orders";
  UpstreamSpec upstream;
  upstream.address = "127.0.0.1:8080";
  upstream.resolved = *net::Address::Parse(upstream.address);
  r.upstreams.push_back(upstream);
  r.port = 7001;
  EXPECT_EQ(
      ToJson(r),
      R"json({"name":"orders","version":"",)json"
      R"json("upstreams":[{"address":"127.0.0.1:8080","weight":1}],)json"
      R"json("port":7001,"route":{"rule":"PathPrefix(`/orders`)"},"ttl_s":0,)json"
      R"json("timeouts":{"connect_ms":1000,"request_ms":15000,"idle_ms":60000,"total_ms":0,)json"
      R"json("trust_header":false},)json"
      R"json("load_balancer":"round_robin","hash_on":null,"retries":null,"circuit_breaker":null,)json"
      R"json("outlier_detection":null,"mirror":null,)json"
      R"json("max_body_bytes":0,)json"
      R"json("limits":{"max_request_line":8192,"max_header_bytes":65536,"max_headers":100},)json"
      R"json("request_id":null,"health":{"path":"/health","ready_path":"/ready","check":null,)json"
      R"json("deregister_after_s":0},"endpoints":[],"auth":null,"cors":null,"rate_limit":[],"fault":null,"cache":null,"tracing":null,"access_log":true,"tls":null,"egress":{"via_ingress":false,"retries":null,"timeouts":{"connect_ms":0,"request_ms":0,"total_ms":0}}})json");
}

TEST(ServiceRecordTest, RoundTrip) {
  const std::string kFull =
      R"json({"name":"b.x_y-1","version":"v\"2\"\n","upstreams":["[::1]:1",)json"
      R"json({"address":"127.0.0.1:2","weight":1000}],"port":65535,)json"
      R"json("route":{"rule":"Host(`a`) && PathPrefix(`/b`)"},"ttl_s":86400,)json"
      R"json("timeouts":{"connect_ms":1,"request_ms":3600000,"idle_ms":86400000},)json"
      R"json("max_body_bytes":18446744073709551615})json";
  for (const std::string& json : {With(""), kFull}) {
    absl::StatusOr<ServiceRecord> first = ParseServiceRecord(json);
    ASSERT_TRUE(first.ok()) << first.status();
    std::string canonical = ToJson(*first);
    absl::StatusOr<ServiceRecord> second = ParseServiceRecord(canonical);
    ASSERT_TRUE(second.ok()) << second.status() << "\n" << canonical;
    EXPECT_EQ(*first, *second);
    EXPECT_EQ(ToJson(*second), canonical);
  }
}

TEST(ServiceRecordTest, WriteJsonInsideAList) {
  ServiceRecord r = *ParseServiceRecord(With(""));
  JsonWriter w;
  w.StartObject().Key("services").StartArray();
  WriteJson(w, r);
  WriteJson(w, r);
  w.EndArray().EndObject();
  EXPECT_EQ(w.str(), "{\"services\":[" + ToJson(r) + "," + ToJson(r) + "]}");
}

TEST(ServiceRecordTest, NameRules) {
  EXPECT_TRUE(IsValidServiceName("a"));
  EXPECT_TRUE(IsValidServiceName("0-a.b_c"));
  EXPECT_TRUE(IsValidServiceName(std::string(63, 'z')));
  EXPECT_FALSE(IsValidServiceName(std::string(64, 'z')));
  EXPECT_FALSE(IsValidServiceName(""));
  EXPECT_FALSE(IsValidServiceName(".a"));
  EXPECT_FALSE(IsValidServiceName("_a"));
  EXPECT_FALSE(IsValidServiceName("aB"));
  EXPECT_FALSE(IsValidServiceName("a b"));
  EXPECT_EQ(DefaultRouteRule("x"), "PathPrefix(`/x`)");
}

// The value-level parser, as the config loader uses it inside a document.
TEST(ServiceRecordValueTest, PrefixesFieldPaths) {
  std::string json = R"({"services":[{"name":"a","upstreams":["127.0.0.1:1"]},{"name":"b"}]})";
  std::vector<ServiceRecord> records;
  absl::Status status = json::ParseObjectDocument(json, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      EXPECT_EQ(key, "services");
      return json::ForEachElement(value, key, [&](size_t i, json::Value& element) -> absl::Status {
        absl::StatusOr<ServiceRecord> record =
            ParseServiceRecordValue(element, json::IndexPath("services", i) + ".");
        if (!record.ok()) return record.status();
        records.push_back(*record);
        return absl::OkStatus();
      });
    });
  });
  EXPECT_EQ(status.message(), "field 'services[1].upstreams': required");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "a");
}

TEST(ServiceRecordValueTest, NonObjectNamesThePrefix) {
  absl::Status status = json::ParseObjectDocument(R"({"s":[1]})", [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view, json::Value& value) {
      return json::ForEachElement(value, "s", [&](size_t, json::Value& element) {
        return ParseServiceRecordValue(element, "s[0].").status();
      });
    });
  });
  EXPECT_EQ(status.message(), "field 's[0]': must be an object");
}

}  // namespace service_record_test
}  // namespace icaht::registry
