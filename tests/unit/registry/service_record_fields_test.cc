// The service record's per-feature fields: each one's defaults, what it
// parses and that it writes back the same (health checks, Traefik route
// settings, tracing, retries, request IDs and health paths, limits, egress).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "record_test_util.h"
#include "registry/service_record.h"
#include "registry/service_record_json.h"

namespace icaht::registry {
namespace service_record_fields_test {

TEST(ServiceRecordTest, HealthCheckDefaultsAndRoundTrip) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(
      R"({"name":"a","upstreams":["127.0.0.1:1"],"health":{"check":{"interval_ms":500}}})");
  ASSERT_TRUE(r.ok()) << r.status();
  const filters::HealthCheckSpec& c = r->health.check;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.path, "/health");
  EXPECT_EQ(c.interval_ms, 500u);
  EXPECT_EQ(c.timeout_ms, 500u);  // the default 1000 capped at the interval
  EXPECT_EQ(c.healthy_threshold, 2u);
  EXPECT_EQ(c.unhealthy_threshold, 3u);
  EXPECT_TRUE(c.Expects(200) && c.Expects(399) && !c.Expects(400) && !c.Expects(199));
  absl::StatusOr<ServiceRecord> full = ParseServiceRecord(
      R"({"name":"a","upstreams":["127.0.0.1:1"],"health":{"check":{"path":"/hz?deep=1",)"
      R"("interval_ms":2000,"timeout_ms":300,"healthy_threshold":1,"unhealthy_threshold":5,)"
      R"("expected_statuses":[204,"200-202"]},"deregister_after_s":60}})");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->health.check.path, "/hz?deep=1");
  EXPECT_TRUE(full->health.check.Expects(204) && full->health.check.Expects(201));
  EXPECT_FALSE(full->health.check.Expects(203));
  EXPECT_EQ(full->health.deregister_after_s, 60u);
  for (const ServiceRecord& record : {*r, *full}) {
    ExpectRoundTrip(record);
  }
  absl::StatusOr<ServiceRecord> off =
      ParseServiceRecord(R"({"name":"a","upstreams":["127.0.0.1:1"],"health":{"check":null}})");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->health.check.enabled);
}

TEST(ServiceRecordTest, TraefikRouteSettingsRoundTrip) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(
      With(R"json(,"route":{"rule":"Host(`a.example`)","entry_points":["web","websecure"],)json"
           R"json("middlewares":["auth@file"],"priority":7})json"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->route_entry_points, (std::vector<std::string>{"web", "websecure"}));
  EXPECT_EQ(r->route_middlewares, (std::vector<std::string>{"auth@file"}));
  EXPECT_EQ(r->route_priority, 7);
  ExpectRoundTrip(*r);
  EXPECT_EQ(ErrorOf(With(R"(,"route":{"entry_points":["a b"]})")),
            "field 'route.entry_points[0]': must be a Traefik name (1-128 visible characters)");
  EXPECT_EQ(ErrorOf(With(R"(,"route":{"priority":-1})")),
            "field 'route.priority': must be an integer 0..1000000");
}

TEST(ServiceRecordTest, TracingDefaultsAndRoundTrip) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"tracing":{})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->tracing.has_value());
  EXPECT_EQ(r->tracing->sample_ratio, 1.0);
  EXPECT_EQ(r->tracing->propagation, tracing::Propagation{});
  r = ParseServiceRecord(
      With(R"(,"tracing":{"sample_ratio":0.01,"propagation":["b3multi","w3c","b3"]})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tracing->sample_ratio, 0.01);
  EXPECT_EQ(r->tracing->propagation,
            (tracing::Propagation{.w3c = true, .b3 = true, .b3_multi = true}));
  EXPECT_NE(
      ToJson(*r).find(R"("tracing":{"sample_ratio":0.01,"propagation":["w3c","b3","b3multi"]})"),
      std::string::npos)
      << ToJson(*r);
  ExpectRoundTrip(*r);
  r = ParseServiceRecord(With(R"(,"tracing":null)"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->tracing.has_value());
}

TEST(ServiceRecordTest, RetriesDefaultsAndRoundTrip) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"retries":{})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->retries.has_value());
  EXPECT_EQ(*r->retries, filters::RetryPolicy{});
  EXPECT_NE(ToJson(*r).find(
                R"("retries":{"attempts":2,"retry_on":["connect-failure",)"
                R"("refused-stream","gateway-error"],"per_try_timeout_ms":0,"backoff_base_ms":25,)"
                R"("backoff_max_ms":250,"budget_percent":20,"min_retry_concurrency":3,)"
                R"("replay_body_bytes":65536})"),
            std::string::npos)
      << ToJson(*r);
  r = ParseServiceRecord(
      With(R"(,"retries":{"attempts":4,"retry_on":["retriable-status:429,409","reset"],)"
           R"("per_try_timeout_ms":300,"backoff_base_ms":10,"backoff_max_ms":10,)"
           R"("budget_percent":50,"min_retry_concurrency":0,"replay_body_bytes":0})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->retries->attempts, 4u);
  EXPECT_EQ(r->retries->retry_on, filters::kRetryReset | filters::kRetryStatus);
  EXPECT_EQ(r->retries->retriable_statuses, (std::vector<uint16_t>{429, 409}));
  EXPECT_EQ(r->retries->per_try_timeout_ms, 300u);
  EXPECT_EQ(r->retries->replay_body_bytes, 0u);
  ExpectRoundTrip(*r);
  r = ParseServiceRecord(With(R"(,"retries":null)"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->retries.has_value());
}

TEST(ServiceRecordTest, RequestIdAndHealthRoundTrip) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(
      R"({"name":"a","upstreams":["127.0.0.1:1"],"request_id":{"header":"X-Trace",)"
      R"("trust_incoming":false},"health":{"path":"","ready_path":"/readyz"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->request_id.enabled);
  EXPECT_EQ(r->request_id.header, "X-Trace");
  EXPECT_FALSE(r->request_id.trust_incoming);
  EXPECT_EQ(r->health.path, "");
  EXPECT_EQ(r->health.ready_path, "/readyz");
  ExpectRoundTrip(*r);
  // Defaults: request IDs off (null), health on; "request_id":{} turns IDs on.
  absl::StatusOr<ServiceRecord> d =
      ParseServiceRecord(R"({"name":"a","upstreams":["127.0.0.1:1"],"request_id":{}})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->request_id.enabled);
  EXPECT_EQ(d->request_id.header, "X-Request-Id");
  EXPECT_TRUE(d->request_id.trust_incoming);
  EXPECT_EQ(d->health.path, "/health");
  absl::StatusOr<ServiceRecord> off =
      ParseServiceRecord(R"({"name":"a","upstreams":["127.0.0.1:1"],"request_id":null})");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->request_id.enabled);
}

TEST(ServiceRecordLimitsTest, ParsesAndRoundTrips) {
  auto r = ParseServiceRecord(
      R"({"name":"a","upstreams":["127.0.0.1:1"],)"
      R"("limits":{"max_request_line":1024,"max_header_bytes":4096,"max_headers":10}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->limits.max_request_line, 1024u);
  EXPECT_EQ(r->limits.max_header_bytes, 4096u);
  EXPECT_EQ(r->limits.max_headers, 10u);
  ExpectRoundTrip(*r);
}

TEST(ServiceRecordEgressTest, ParsesAndRoundTrips) {
  auto r = ParseServiceRecord(
      R"({"name":"a","upstreams":["127.0.0.1:1"],)"
      R"("egress":{"via_ingress":true,"retries":{"attempts":3},"timeouts":{"request_ms":500}}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->egress.via_ingress);
  ASSERT_TRUE(r->egress.retries.has_value());
  EXPECT_EQ(r->egress.retries->attempts, 3);
  EXPECT_EQ(r->egress.request_ms, 500u);
  EXPECT_EQ(r->egress.connect_ms, 0u);
  ExpectRoundTrip(*r);
  // Another host's egress block, as read from etcd.
  auto text = ParseEgressText(R"({"timeouts":{"total_ms":9}})", "egress");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->total_ms, 9u);
  EXPECT_FALSE(ParseEgressText(R"({"bogus":1})", "egress").ok());
}

}  // namespace service_record_fields_test
}  // namespace icaht::registry
