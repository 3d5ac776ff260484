#include "registry/record_rate_limit.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace icaht::registry {
namespace record_rate_limit_test {

using filters::RateLimitKey;
using filters::RateLimitSpec;
using ::testing::HasSubstr;

// Parses `rate_limit` as the value of the record field "rate_limit".
absl::StatusOr<std::vector<RateLimitSpec>> Parse(std::string_view rate_limit) {
  std::string doc = std::string(R"({"rate_limit":)") + std::string(rate_limit) + "}";
  std::vector<RateLimitSpec> out;
  absl::Status status = json::ParseObjectDocument(doc, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      return ParseRateLimits(value, std::string(key), out);
    });
  });
  if (!status.ok()) return status;
  return out;
}

std::string ErrorOf(std::string_view rate_limit) {
  absl::StatusOr<std::vector<RateLimitSpec>> result = Parse(rate_limit);
  EXPECT_FALSE(result.ok()) << rate_limit;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}

std::string Write(const std::vector<RateLimitSpec>& limits) {
  JsonWriter w;
  WriteRateLimits(w, limits);
  return std::move(w).Take();
}

TEST(RecordRateLimitTest, AnObjectWithDefaults) {
  auto limits = Parse(R"({"requests_per_second": 100})");
  ASSERT_TRUE(limits.ok()) << limits.status();
  ASSERT_EQ(limits->size(), 1u);
  const RateLimitSpec& spec = (*limits)[0];
  EXPECT_EQ(spec.name, "default");
  EXPECT_EQ(spec.requests_per_second, 100);
  EXPECT_EQ(spec.burst, 100u);  // ceil(rate)
  EXPECT_EQ(spec.key, RateLimitKey::kService);
  EXPECT_TRUE(spec.enforce);
  EXPECT_TRUE(spec.headers);
  EXPECT_EQ(spec.max_keys, 100000u);
}

TEST(RecordRateLimitTest, DefaultBurstIsTheRateRoundedUpAndAtLeastOne) {
  EXPECT_EQ((*Parse(R"({"requests_per_second": 0.5})"))[0].burst, 1u);
  EXPECT_EQ((*Parse(R"({"requests_per_second": 2.5})"))[0].burst, 3u);
  EXPECT_EQ((*Parse(R"({"requests_per_second": 1e7})"))[0].burst, 10000000u);
}

TEST(RecordRateLimitTest, AnArrayOfEveryKeyKind) {
  auto limits = Parse(R"([
    {"requests_per_second": 100, "burst": 200, "key": "client_ip", "enforce": true,
     "headers": true, "max_keys": 5000, "name": "per-ip"},
    {"requests_per_second": 0.5, "key": "header:X-Api-Key", "name": "per-key", "headers": false},
    {"requests_per_second": 10, "key": "claim:sub", "name": "per.user_1", "enforce": false},
    {"requests_per_second": 1000, "key": "service", "name": "all"}])");
  ASSERT_TRUE(limits.ok()) << limits.status();
  ASSERT_EQ(limits->size(), 4u);
  EXPECT_EQ((*limits)[0], (RateLimitSpec{.name = "per-ip",
                                         .requests_per_second = 100,
                                         .burst = 200,
                                         .key = RateLimitKey::kClientIp,
                                         .max_keys = 5000}));
  EXPECT_EQ((*limits)[1].key, RateLimitKey::kHeader);
  EXPECT_EQ((*limits)[1].key_name, "X-Api-Key");
  EXPECT_FALSE((*limits)[1].headers);
  EXPECT_EQ((*limits)[2].key, RateLimitKey::kClaim);
  EXPECT_EQ((*limits)[2].key_name, "sub");
  EXPECT_FALSE((*limits)[2].enforce);
  EXPECT_EQ((*limits)[3].key, RateLimitKey::kService);
}

TEST(RecordRateLimitTest, NullAndEmptyArrayMeanNoLimit) {
  EXPECT_TRUE(Parse("null")->empty());
  EXPECT_TRUE(Parse("[]")->empty());
}

TEST(RecordRateLimitTest, CanonicalFormIsAnArrayWithEveryFieldAndRoundTrips) {
  auto limits = Parse(R"([{"requests_per_second": 0.25, "key": "header:X-Tenant", "name": "t"},
                          {"requests_per_second": 100, "burst": 200, "key": "client_ip"}])");
  ASSERT_TRUE(limits.ok()) << limits.status();
  std::string text = Write(*limits);
  EXPECT_EQ(text,
            R"([{"requests_per_second":0.25,"burst":1,"key":"header:X-Tenant","enforce":true,)"
            R"("headers":true,"max_keys":100000,"name":"t"},)"
            R"({"requests_per_second":100,"burst":200,"key":"client_ip","enforce":true,)"
            R"("headers":true,"max_keys":100000,"name":"default"}])");
  auto again = Parse(text);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *limits);
  auto single = Parse(R"({"requests_per_second": 3, "key": "claim:tenant"})");
  EXPECT_EQ(*Parse(Write(*single)), *single);
  EXPECT_EQ(Write({}), "[]");
}

TEST(RecordRateLimitTest, ExactMessages) {
  EXPECT_EQ(ErrorOf(R"([{"requests_per_second": 1, "name": "a"}, {"requests_per_second": 0}])"),
            "field 'rate_limit[1].requests_per_second': must be a number > 0 and at most "
            "10000000");
  EXPECT_EQ(ErrorOf(R"({"requests_per_second": -5})"),
            "field 'rate_limit.requests_per_second': must be a number > 0 and at most 10000000");
  EXPECT_EQ(ErrorOf(R"({"burst": 5})"), "field 'rate_limit.requests_per_second': required");
  EXPECT_EQ(ErrorOf(R"([{"requests_per_second": 1}, {"requests_per_second": 2}])"),
            "field 'rate_limit[1].name': 'default' is already the name of rate_limit[0]; each "
            "limit needs its own name");
}

struct BadCase {
  std::string json;
  std::string message;  // a substring of the error
};

class RecordRateLimitErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RecordRateLimitErrorTest, NamesTheFieldAndTheProblem) {
  EXPECT_THAT(ErrorOf(GetParam().json), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    AllRules, RecordRateLimitErrorTest,
    ::testing::Values(
        BadCase{"5", "field 'rate_limit': must be an object or an array of objects"},
        BadCase{R"("100/s")", "field 'rate_limit': must be an object or an array"},
        BadCase{"[5]", "field 'rate_limit[0]': must be an object"},
        BadCase{R"([{"requests_per_second":1,"name":"a"},{"requests_per_second":1,"name":"b"},)"
                R"({"requests_per_second":1,"name":"c"},{"requests_per_second":1,"name":"d"},)"
                R"({"requests_per_second":1,"name":"e"},{"requests_per_second":1,"name":"f"},)"
                R"({"requests_per_second":1,"name":"g"},{"requests_per_second":1,"name":"h"},)"
                R"({"requests_per_second":1,"name":"i"}])",
                "field 'rate_limit': must have at most 8 entries"},
        // requests_per_second
        BadCase{R"({"requests_per_second":0})", "field 'rate_limit.requests_per_second': must be"},
        BadCase{R"({"requests_per_second":10000001})",
                "field 'rate_limit.requests_per_second': must be a number > 0 and at most"},
        BadCase{R"({"requests_per_second":"100"})",
                "field 'rate_limit.requests_per_second': must be a number > 0"},
        BadCase{R"({"requests_per_second":null})",
                "field 'rate_limit.requests_per_second': must be a number > 0"},
        // burst
        BadCase{R"({"requests_per_second":1,"burst":0})",
                "field 'rate_limit.burst': must be an integer 1..1000000000"},
        BadCase{R"({"requests_per_second":1,"burst":1.5})",
                "field 'rate_limit.burst': must be an integer 1..1000000000"},
        BadCase{R"({"requests_per_second":1,"burst":-3})", "field 'rate_limit.burst': must be"},
        // key
        BadCase{R"({"requests_per_second":1,"key":"ip"})",
                "field 'rate_limit.key': must be \"service\", \"client_ip\", \"header:<name>\" "
                "or \"claim:<name>\""},
        BadCase{R"({"requests_per_second":1,"key":"header:"})",
                "field 'rate_limit.key': must name a header"},
        BadCase{R"({"requests_per_second":1,"key":"header:X Api"})",
                "field 'rate_limit.key': must name a header"},
        BadCase{R"({"requests_per_second":1,"key":"claim:"})",
                "field 'rate_limit.key': must name a claim"},
        BadCase{R"({"requests_per_second":1,"key":7})", "field 'rate_limit.key': must be a string"},
        // flags, max_keys, name
        BadCase{R"({"requests_per_second":1,"enforce":"no"})",
                "field 'rate_limit.enforce': must be true or false"},
        BadCase{R"({"requests_per_second":1,"headers":1})",
                "field 'rate_limit.headers': must be true or false"},
        BadCase{R"({"requests_per_second":1,"max_keys":0})",
                "field 'rate_limit.max_keys': must be an integer 1..10000000"},
        BadCase{R"({"requests_per_second":1,"name":""})",
                "field 'rate_limit.name': must be 1..64 characters of [A-Za-z0-9._-]"},
        BadCase{R"({"requests_per_second":1,"name":"a b"})", "field 'rate_limit.name': must be"},
        BadCase{R"({"requests_per_second":1,"name":"q\"x"})", "field 'rate_limit.name': must be"},
        // structure
        BadCase{R"({"requests_per_second":1,"window":1})", "unknown field 'rate_limit.window'"},
        BadCase{R"({"requests_per_second":1,"requests_per_second":2})",
                "field 'rate_limit.requests_per_second': duplicate key"},
        BadCase{R"([{"requests_per_second":1,"name":"x"},{"requests_per_second":1,"name":"x"}])",
                "field 'rate_limit[1].name': 'x' is already the name of rate_limit[0]"}));

}  // namespace record_rate_limit_test
}  // namespace icaht::registry
