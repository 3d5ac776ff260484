#include "registry/record_routes.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_routes_test {

using filters::FieldMatchSpec;
using filters::RouteMatchSpec;
using ::testing::HasSubstr;

constexpr std::string_view kUpstreams =
    R"("upstreams":[{"address":"10.0.0.1:80","labels":{"version":"v1"}},)"
    R"({"address":"10.0.0.2:80","weight":3,"labels":{"version":"v2","zone":"a"}}],)"
    R"("subsets":[{"name":"v1","labels":{"version":"v1"}},{"name":"v2","labels":{"version":"v2"}}])";

// A record with the two labelled upstreams and subsets above and `routes`.
std::string WithRoutes(std::string_view routes) {
  return absl::StrCat(R"({"name":"orders",)", std::string(kUpstreams), R"(,"routes":)",
                      std::string(routes), "}");
}

std::string ErrorOf(std::string_view record) {
  absl::StatusOr<ServiceRecord> result = ParseServiceRecord(record);
  EXPECT_FALSE(result.ok()) << record;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  return std::string(result.status().message());
}

// As record_test_util.h's, and the JSON written again is the same text.
void ExpectCanonicalRoundTrip(const ServiceRecord& record) {
  std::string json = ToJson(record);
  absl::StatusOr<ServiceRecord> again = ParseServiceRecord(json);
  ASSERT_TRUE(again.ok()) << again.status() << " " << json;
  EXPECT_EQ(*again, record) << json;
  EXPECT_EQ(ToJson(*again), json);
}

TEST(RecordRoutesTest, AbsentIsNoneAndTheCanonicalFormIsUnchanged) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(R"({"name":"orders","upstreams":["127.0.0.1:8080"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->subsets.empty());
  EXPECT_TRUE(r->routes.empty());
  EXPECT_TRUE(r->upstreams[0].labels.empty());
  std::string json = ToJson(*r);
  EXPECT_THAT(json, HasSubstr(R"("upstreams":[{"address":"127.0.0.1:8080","weight":1}],"port")"));
  EXPECT_EQ(json.find("subsets"), std::string::npos);
  EXPECT_EQ(json.find("\"routes\""), std::string::npos);
  EXPECT_EQ(json.find("labels"), std::string::npos);
}

TEST(RecordRoutesTest, LabelsAndSubsets) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(absl::StrCat(R"({"name":"orders",)", std::string(kUpstreams), "}"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->upstreams[0].labels, (filters::Labels{{"version", "v1"}}));
  EXPECT_EQ(r->upstreams[1].labels, (filters::Labels{{"version", "v2"}, {"zone", "a"}}));
  ASSERT_EQ(r->subsets.size(), 2u);
  EXPECT_EQ(r->subsets[1].name, "v2");
  EXPECT_EQ(r->subsets[1].labels, (filters::Labels{{"version", "v2"}}));
  std::string json = ToJson(*r);
  EXPECT_THAT(json, HasSubstr(R"({"address":"10.0.0.2:80","weight":3,)"
                              R"("labels":{"version":"v2","zone":"a"}}],"subsets":[)"
                              R"({"name":"v1","labels":{"version":"v1"}},)"
                              R"({"name":"v2","labels":{"version":"v2"}}],"port":)"));
  ExpectCanonicalRoundTrip(*r);
}

TEST(RecordRoutesTest, EveryMember) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(WithRoutes(R"([
    {"match":{"path_prefix":"/api","methods":["GET","POST"],
              "headers":[{"name":"X-Canary","exact":"1"},{"name":"user-agent","prefix":"curl/"},
                         {"name":"x-debug","present":true},{"name":"x-skip","present":false},
                         {"name":"cookie","regex":".*beta=1.*"}],
              "query":[{"name":"Debug","exact":""},{"name":"v","regex":"[0-9]+"},
                       {"name":"q","present":true},{"name":"off","present":false}]},
     "to":[{"subset":"v1","weight":90},{"subset":"v2","weight":10}],
     "rewrite":{"path_prefix":"/v2/api"},
     "timeouts":{"connect_ms":500,"request_ms":2000,"total_ms":0,"trust_header":true},
     "retries":{"attempts":3}},
    {"name":"down","match":{"path_exact":"/health"},"direct_response":{"status":503,"body":"down"}},
    {"match":{"path_regex":"/u/[0-9]+"},"to":{"subset":"v2"},"timeouts":{"request_ms":100}},
    {"to":{"subset":"v1"},"retries":null}])"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->routes.size(), 4u);
  const filters::RouteSpec& first = r->routes[0];
  EXPECT_EQ(first.match.path_kind, RouteMatchSpec::PathKind::kPrefix);
  EXPECT_EQ(first.match.path, "/api");
  EXPECT_EQ(first.match.methods, (std::vector<std::string>{"GET", "POST"}));
  ASSERT_EQ(first.match.headers.size(), 5u);
  EXPECT_EQ(first.match.headers[0].name, "x-canary");  // lower-cased
  EXPECT_EQ(first.match.headers[0].kind, FieldMatchSpec::Kind::kExact);
  EXPECT_EQ(first.match.headers[1].kind, FieldMatchSpec::Kind::kPrefix);
  EXPECT_EQ(first.match.headers[2].kind, FieldMatchSpec::Kind::kPresent);
  EXPECT_EQ(first.match.headers[3].kind, FieldMatchSpec::Kind::kAbsent);
  EXPECT_EQ(first.match.headers[4].kind, FieldMatchSpec::Kind::kRegex);
  EXPECT_EQ(first.match.headers[4].value, ".*beta=1.*");
  ASSERT_EQ(first.match.query.size(), 4u);
  EXPECT_EQ(first.match.query[0].name, "Debug");  // query names keep their case
  EXPECT_EQ(first.match.query[0].value, "");
  ASSERT_EQ(first.to.size(), 2u);
  EXPECT_EQ(first.to[1].subset, "v2");
  EXPECT_EQ(first.to[1].weight, 10u);
  EXPECT_EQ(first.rewrite_path_prefix, "/v2/api");
  EXPECT_EQ(first.timeouts.connect_ms, 500u);
  EXPECT_EQ(first.timeouts.total_ms, 0u);
  EXPECT_EQ(first.timeouts.trust_header, true);
  ASSERT_TRUE(first.retries.has_value());
  EXPECT_EQ(first.retries->attempts, 3u);
  EXPECT_EQ(first.name, "");
  EXPECT_EQ(r->routes[1].name, "down");
  EXPECT_EQ(r->routes[1].direct_response->status, 503);
  EXPECT_EQ(r->routes[1].direct_response->body, "down");
  EXPECT_TRUE(r->routes[1].to.empty());
  EXPECT_EQ(r->routes[2].to, (std::vector<filters::WeightedSubset>{{"v2", 1}}));
  EXPECT_FALSE(r->routes[2].timeouts.connect_ms.has_value());
  EXPECT_EQ(r->routes[3].match, RouteMatchSpec{});  // no match: every request
  EXPECT_FALSE(r->routes[3].retries.has_value());

  std::string json = ToJson(*r);
  EXPECT_THAT(json, HasSubstr(R"({"match":{"path_regex":"/u/[0-9]+"},"to":[{"subset":"v2",)"
                              R"("weight":1}],"timeouts":{"request_ms":100}})"));
  EXPECT_THAT(json, HasSubstr(R"({"match":{},"to":[{"subset":"v1","weight":1}]}])"));
  EXPECT_THAT(json, HasSubstr(R"({"name":"down","match":{"path_exact":"/health"},)"
                              R"("direct_response":{"status":503,"body":"down"}})"));
  ExpectCanonicalRoundTrip(*r);
}

TEST(RecordRoutesTest, TheSubsetFormsAreEqual) {
  absl::StatusOr<ServiceRecord> single =
      ParseServiceRecord(WithRoutes(R"([{"to":{"subset":"v2"}}])"));
  absl::StatusOr<ServiceRecord> list =
      ParseServiceRecord(WithRoutes(R"([{"to":[{"subset":"v2","weight":1}]}])"));
  ASSERT_TRUE(single.ok()) << single.status();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*single, *list);
  // A zero weight is allowed while the sum is positive.
  absl::StatusOr<ServiceRecord> zero =
      ParseServiceRecord(WithRoutes(R"([{"to":[{"subset":"v1","weight":0},{"subset":"v2"}]}])"));
  ASSERT_TRUE(zero.ok()) << zero.status();
  ExpectCanonicalRoundTrip(*zero);
}

struct BadCase {
  std::string_view routes;
  std::string_view error;
};

TEST(RecordRoutesTest, RouteErrorsNameTheField) {
  const BadCase cases[] = {
      {R"([{"to":{"subset":"v1"}},{"to":[{"subset":"v3","weight":1}]}])",
       "field 'routes[1].to[0].subset': no subset named 'v3'"},
      {R"([{"to":[{"subset":"v1","weight":0},{"subset":"v2","weight":0}]}])",
       "field 'routes[0].to': weights must sum to more than 0"},
      {R"([{"to":{"subset":"v1","weight":0}}])",
       "field 'routes[0].to': weights must sum to more than 0"},
      {R"([{"to":[]}])", "field 'routes[0].to': must have at least one entry"},
      {R"([{"to":"v1"}])", "field 'routes[0].to': must be {\"subset\": NAME} or a list of"},
      {R"([{"to":[{"weight":1}]}])", "field 'routes[0].to[0].subset': required"},
      {R"([{"name":"Canary!","to":{"subset":"v1"}}])",
       "field 'routes[0].name': must be 1..63 characters of [a-z0-9._-]"},
      {R"([{"to":[{"subset":"v1","weight":1000001}]}])",
       "field 'routes[0].to[0].weight': must be an integer 0..1000000"},
      {R"([{"match":{"path_regex":"/a(b"},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.path_regex': invalid regex: missing ): /a(b"},
      {R"([{"match":{"headers":[{"name":"x","regex":"a++"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.headers[0].regex': invalid regex: bad repetition operator: ++"},
      {R"([{"match":{"query":[{"name":"x","regex":"[z-a]"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.query[0].regex': invalid regex: invalid character class range: z-a"},
      {R"([{"match":{"path_prefix":"/a","path_exact":"/b"},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.path_exact': only one of path_prefix, path_exact and path_regex"},
      {R"([{"match":{"path_prefix":"a"},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.path_prefix': must start with '/'"},
      {R"([{"match":{"methods":["GET","BAD METHOD"]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.methods[1]': must be a method (1..32 token characters)"},
      {R"([{"match":{"headers":[{"name":"x","exact":"1","prefix":"2"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.headers[0].prefix': only one of exact, prefix, regex or present"},
      {R"([{"match":{"headers":[{"name":"x"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.headers[0]': needs one of exact, prefix, regex or present"},
      {R"([{"match":{"headers":[{"exact":"1"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.headers[0].name': required"},
      {R"([{"match":{"headers":[{"name":"a b","exact":"1"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.headers[0].name': must be a header name"},
      {R"([{"match":{"query":[{"name":"x","prefix":"1"}]},"to":{"subset":"v1"}}])",
       "unknown field 'routes[0].match.query[0].prefix'"},
      {R"([{"match":{"query":[{"name":"x"}]},"to":{"subset":"v1"}}])",
       "field 'routes[0].match.query[0]': needs one of exact, regex or present"},
      {R"([{"match":{"host":"a"},"to":{"subset":"v1"}}])", "unknown field 'routes[0].match.host'"},
      {R"([{"match":{}}])", "field 'routes[0]': needs \"to\" or \"direct_response\""},
      {R"([{"to":{"subset":"v1"},"direct_response":{"status":200}}])",
       "field 'routes[0].to': not with direct_response"},
      {R"([{"direct_response":{},"retries":{}}])",
       "field 'routes[0].retries': not with direct_response"},
      {R"([{"direct_response":{"status":100}}])",
       "field 'routes[0].direct_response.status': must be an integer 200..599"},
      {R"([{"to":{"subset":"v1"},"rewrite":{"path_prefix":"/b"}}])",
       "field 'routes[0].rewrite.path_prefix': needs match.path_prefix"},
      {R"([{"match":{"path_prefix":"/a"},"to":{"subset":"v1"},"rewrite":{"path_prefix":"b"}}])",
       "field 'routes[0].rewrite.path_prefix': must start with '/'"},
      {R"([{"to":{"subset":"v1"},"timeouts":{"idle_ms":5}}])",
       "field 'routes[0].timeouts.idle_ms': is per connection, not per route"},
      {R"([{"to":{"subset":"v1"},"timeouts":{"request_ms":0}}])",
       "field 'routes[0].timeouts.request_ms': must be an integer 1..3600000"},
      {R"([{"to":{"subset":"v1"},"retries":{"attempts":0}}])",
       "field 'routes[0].retries.attempts'"},
      {R"([{"to":{"subset":"v1"},"weight":1}])", "unknown field 'routes[0].weight'"},
      {R"({})", "field 'routes': must be"},
  };
  for (const BadCase& c : cases) {
    EXPECT_THAT(ErrorOf(WithRoutes(c.routes)), HasSubstr(c.error)) << c.routes;
  }
}

TEST(RecordRoutesTest, TooManyRoutes) {
  std::string routes = "[";
  for (int i = 0; i < 65; ++i) absl::StrAppend(&routes, i ? "," : "", R"({"to":{"subset":"v1"}})");
  routes += "]";
  EXPECT_EQ(ErrorOf(WithRoutes(routes)), "field 'routes': must have at most 64 entries");
}

TEST(RecordRoutesTest, SubsetAndLabelErrorsNameTheField) {
  const BadCase cases[] = {
      {R"("upstreams":[{"address":"10.0.0.1:80","labels":{"version":"v1"}}],)"
       R"("subsets":[{"name":"v2","labels":{"version":"v2"}}])",
       "field 'subsets[0].labels': no upstream has these labels (subset 'v2')"},
      {R"("upstreams":[{"address":"10.0.0.1:80","labels":{"version":"v1"}}],)"
       R"("subsets":[{"name":"v1","labels":{"version":"v1"}},{"name":"v1","labels":{}}])",
       "field 'subsets[1].name': subset 'v1' is named twice"},
      {R"("upstreams":["10.0.0.1:80"],"subsets":[{"name":"V1","labels":{}}])",
       "field 'subsets[0].name': must be 1..63 characters"},
      {R"("upstreams":["10.0.0.1:80"],"subsets":[{"labels":{}}])",
       "field 'subsets[0].name': required"},
      {R"("upstreams":["10.0.0.1:80"],"subsets":[{"name":"a"}])",
       "field 'subsets[0].labels': required"},
      {R"("upstreams":["10.0.0.1:80"],"subsets":[{"name":"a","labels":{"version":1}}])",
       "field 'subsets[0].labels.version': must be a string"},
      {R"("upstreams":[{"address":"10.0.0.1:80","labels":{"ver sion":"v1"}}])",
       "field 'upstreams[0].labels.ver sion': a label's name must be 1..63 characters"},
      {R"("upstreams":[{"address":"10.0.0.1:80","labels":{"version":"v 1"}}])",
       "field 'upstreams[0].labels.version': must be 0..63 characters of [A-Za-z0-9._-]"},
      {R"("upstreams":[{"address":"10.0.0.1:80","labels":["v1"]}])",
       "field 'upstreams[0].labels': must be an object"},
      {R"("upstreams":["10.0.0.1:80"],"routes":[{"to":{"subset":"v1"}}])",
       "field 'routes[0].to[0].subset': no subset named 'v1'"},
  };
  for (const BadCase& c : cases) {
    std::string record = absl::StrCat(R"({"name":"orders",)", std::string(c.routes), "}");
    EXPECT_THAT(ErrorOf(record), HasSubstr(c.error)) << c.routes;
  }
  std::string many = R"({"name":"orders","upstreams":[{"address":"10.0.0.1:80","labels":{)";
  for (int i = 0; i < 17; ++i) absl::StrAppend(&many, i ? "," : "", "\"k", i, "\":\"v\"");
  many += "}}]}";
  EXPECT_EQ(ErrorOf(many), "field 'upstreams[0].labels': must have at most 16 labels");
}

TEST(RecordRoutesTest, AnEmptySelectorSelectsEveryInstanceAndEmptyValuesAreLabels) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(
      R"({"name":"orders","upstreams":[{"address":"10.0.0.1:80","labels":{"canary":""}}],)"
      R"("subsets":[{"name":"all","labels":{}},{"name":"canary","labels":{"canary":""}}],)"
      R"("routes":[{"to":[{"subset":"all","weight":1},{"subset":"canary","weight":1}]}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectCanonicalRoundTrip(*r);
}

}  // namespace record_routes_test
}  // namespace icaht::registry
