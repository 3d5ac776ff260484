// The record's circuit_breaker and outlier_detection
// (registry/record_upstream_policy.h), through ParseServiceRecord and ToJson.

#include "gtest/gtest.h"
#include "record_test_util.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_upstream_policy_test {

TEST(RecordUpstreamPolicyTest, CircuitBreakerDefaultsAndRoundTrip) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"circuit_breaker":{})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->circuit_breaker.has_value());
  EXPECT_EQ(*r->circuit_breaker, filters::CircuitBreakerSpec{});
  EXPECT_NE(ToJson(*r).find(R"("circuit_breaker":{"max_connections":1024,"max_pending":1024,)"
                            R"("max_requests":1024,"max_retries":3})"),
            std::string::npos)
      << ToJson(*r);
  r = ParseServiceRecord(With(R"(,"circuit_breaker":{"max_connections":5,"max_pending":0,)"
                              R"("max_requests":7,"max_retries":0})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->circuit_breaker,
            (filters::CircuitBreakerSpec{
                .max_connections = 5, .max_pending = 0, .max_requests = 7, .max_retries = 0}));
  ExpectRoundTrip(*r);
  r = ParseServiceRecord(With(R"(,"circuit_breaker":null)"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->circuit_breaker.has_value());
  EXPECT_NE(ToJson(*r).find(R"("circuit_breaker":null)"), std::string::npos);
}

TEST(RecordUpstreamPolicyTest, OutlierDetectionDefaultsRoundTripAndErrors) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"outlier_detection":{})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r->outlier_detection, filters::OutlierSpec{});
  EXPECT_NE(ToJson(*r).find(R"("outlier_detection":{"consecutive_5xx":5,)"
                            R"("consecutive_gateway_errors":0,"success_rate_min_hosts":5,)"
                            R"("success_rate_request_volume":100,"success_rate_stdev_factor":1.9,)"
                            R"("interval_s":10,"base_ejection_s":30,"max_ejection_s":300,)"
                            R"("max_ejection_percent":10,"panic_threshold_percent":50})"),
            std::string::npos)
      << ToJson(*r);
  r = ParseServiceRecord(With(R"(,"outlier_detection":{"consecutive_5xx":3,"interval_s":0.25,)"
                              R"("base_ejection_s":0.8,"max_ejection_s":2.5,)"
                              R"("success_rate_stdev_factor":1,"panic_threshold_percent":0})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outlier_detection->interval_ms, 250u);
  EXPECT_EQ(r->outlier_detection->base_ejection_ms, 800u);
  EXPECT_EQ(r->outlier_detection->max_ejection_ms, 2500u);
  ExpectRoundTrip(*r);
  EXPECT_EQ(ErrorOf(With(R"(,"outlier_detection":{"base_ejection_s":0})")),
            "field 'outlier_detection.base_ejection_s': must be a number of seconds "
            "0.001..86400");
  EXPECT_EQ(ErrorOf(With(R"(,"outlier_detection":{"base_ejection_s":60,"max_ejection_s":30})")),
            "field 'outlier_detection.max_ejection_s': must be at least base_ejection_s");
  EXPECT_EQ(ErrorOf(With(R"(,"outlier_detection":{"max_ejection_percent":101})")),
            "field 'outlier_detection.max_ejection_percent': must be an integer 0..100");
  EXPECT_EQ(ErrorOf(With(R"(,"outlier_detection":{"consecutive":5})")),
            "unknown field 'outlier_detection.consecutive'");
  // GET's "ejected" is accepted and ignored.
  r = ParseServiceRecord(With(R"(,"ejected":["127.0.0.1:1"])"));
  ASSERT_TRUE(r.ok()) << r.status();
}

}  // namespace record_upstream_policy_test
}  // namespace icaht::registry
