// The record's `fault` field: null and absent are off, each part is a pair,
// ranges and the header name are checked with errors naming the field, the
// canonical form round-trips, and with the whole record: delay_ms below
// timeouts.request_ms, GET's form parses back to the same record.

#include "registry/record_fault.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_fault_test {

using filters::FaultSpec;
using ::testing::HasSubstr;

// Parses `text` as the value of a "fault" member.
absl::Status Parse(std::string_view text, core::Boxed<FaultSpec>& out) {
  std::string doc = absl::StrCat("{\"fault\":", std::string(text), "}");
  return json::ParseObjectDocument(doc, [&](json::Value& root) -> absl::Status {
    return json::ForEachField(root, "", [&](std::string_view, json::Value& value) {
      return ParseFault(value, "fault", out);
    });
  });
}

std::string Write(const core::Boxed<FaultSpec>& spec) {
  JsonWriter w;
  WriteFault(w, spec);
  return std::move(w).Take();
}

std::string ErrorOf(std::string_view text) {
  core::Boxed<FaultSpec> spec;
  absl::Status status = Parse(text, spec);
  EXPECT_FALSE(status.ok()) << text;
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(RecordFaultTest, NullIsOff) {
  core::Boxed<FaultSpec> spec = FaultSpec{.abort_status = 503, .abort_percent = 1};
  ASSERT_TRUE(Parse("null", spec).ok());
  EXPECT_FALSE(spec.has_value());
  EXPECT_EQ(Write(spec), "null");
}

TEST(RecordFaultTest, TheDesignExampleAndItsCanonicalForm) {
  core::Boxed<FaultSpec> spec;
  absl::Status status = Parse(
      R"({"delay_ms": 100, "delay_percent": 5, "abort_status": 503, "abort_percent": 1,
          "header": "X-Icaht-Fault"})",
      spec);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->delay_ms, 100u);
  EXPECT_EQ(spec->delay_percent, 5);
  EXPECT_EQ(spec->abort_status, 503);
  EXPECT_EQ(spec->abort_percent, 1);
  EXPECT_EQ(spec->header, "x-icaht-fault");  // lower-cased
  EXPECT_EQ(Write(spec),
            R"({"delay_ms":100,"delay_percent":5,"abort_status":503,"abort_percent":1,)"
            R"("header":"x-icaht-fault"})");
}

TEST(RecordFaultTest, EitherPartAloneAndFractionsRoundTrip) {
  for (std::string_view text :
       {R"({"delay_ms":1,"delay_percent":0.5})", R"({"abort_status":200,"abort_percent":0})",
        R"({"abort_status":599,"abort_percent":100,"delay_ms":null,"delay_percent":null})",
        R"({"delay_ms":3600000,"delay_percent":33.333333333333336,"header":null})",
        R"({"delay_ms":7,"delay_percent":1e-7,"abort_status":418,"abort_percent":99.99})"}) {
    core::Boxed<FaultSpec> first;
    absl::Status status = Parse(text, first);
    ASSERT_TRUE(status.ok()) << text << ": " << status;
    std::string canonical = Write(first);
    core::Boxed<FaultSpec> second;
    ASSERT_TRUE(Parse(canonical, second).ok()) << canonical;
    EXPECT_EQ(first, second) << canonical;
    EXPECT_EQ(Write(second), canonical);
  }
  core::Boxed<FaultSpec> spec;
  ASSERT_TRUE(Parse(R"({"abort_status":503,"abort_percent":2.5})", spec).ok());
  EXPECT_FALSE(spec->has_delay());
  EXPECT_EQ(Write(spec),
            R"({"delay_ms":null,"delay_percent":null,"abort_status":503,"abort_percent":2.5,)"
            R"("header":null})");
}

TEST(RecordFaultTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(R"({"abort_status":600,"abort_percent":1})"),
            "field 'fault.abort_status': must be an integer 200..599");
  EXPECT_EQ(ErrorOf(R"({"abort_status":199,"abort_percent":1})"),
            "field 'fault.abort_status': must be an integer 200..599");
  EXPECT_EQ(ErrorOf(R"({"abort_status":"503","abort_percent":1})"),
            "field 'fault.abort_status': must be an integer 200..599");
  EXPECT_EQ(ErrorOf(R"({"abort_status":503,"abort_percent":100.5})"),
            "field 'fault.abort_percent': must be a number 0..100");
  EXPECT_EQ(ErrorOf(R"({"abort_status":503,"abort_percent":-1})"),
            "field 'fault.abort_percent': must be a number 0..100");
  EXPECT_EQ(ErrorOf(R"({"abort_status":503,"abort_percent":"5"})"),
            "field 'fault.abort_percent': must be a number 0..100");
  EXPECT_EQ(ErrorOf(R"({"delay_ms":0,"delay_percent":1})"),
            "field 'fault.delay_ms': must be an integer 1..3600000");
  EXPECT_EQ(ErrorOf(R"({"delay_ms":1.5,"delay_percent":1})"),
            "field 'fault.delay_ms': must be an integer 1..3600000");
  EXPECT_EQ(ErrorOf(R"({"delay_ms":10})"), "field 'fault.delay_percent': required with delay_ms");
  EXPECT_EQ(ErrorOf(R"({"delay_percent":10})"),
            "field 'fault.delay_ms': required with delay_percent");
  EXPECT_EQ(ErrorOf(R"({"abort_status":503})"),
            "field 'fault.abort_percent': required with abort_status");
  EXPECT_EQ(ErrorOf(R"({"abort_percent":5,"delay_ms":5,"delay_percent":5})"),
            "field 'fault.abort_status': required with abort_percent");
  EXPECT_THAT(ErrorOf("{}"), HasSubstr("field 'fault': must configure a delay"));
  EXPECT_THAT(ErrorOf(R"({"header":"x-f"})"), HasSubstr("field 'fault': must configure a delay"));
  EXPECT_EQ(ErrorOf(R"({"abort_status":503,"abort_percent":1,"header":""})"),
            "field 'fault.header': must be a header name (1..64 token characters)");
  EXPECT_EQ(ErrorOf(R"({"abort_status":503,"abort_percent":1,"header":"x fault"})"),
            "field 'fault.header': must be a header name (1..64 token characters)");
  EXPECT_EQ(ErrorOf(absl::StrCat(R"({"abort_status":503,"abort_percent":1,"header":")",
                                 std::string(65, 'x'), "\"}")),
            "field 'fault.header': must be a header name (1..64 token characters)");
  EXPECT_EQ(ErrorOf(R"({"abort_status":503,"abort_percent":1,"x-envoy-fault":1})"),
            "unknown field 'fault.x-envoy-fault'");
  EXPECT_THAT(ErrorOf("true"), HasSubstr("'fault'"));
}

// ---- In the whole record ----------------------------------------------------

std::string With(std::string_view extra) {
  return absl::StrCat(R"({"name":"orders","upstreams":["127.0.0.1:8080"])", std::string(extra),
                      "}");
}

TEST(RecordFaultTest, RecordRoundTripAndDefaultOff) {
  absl::StatusOr<ServiceRecord> plain = ParseServiceRecord(With(""));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->fault.has_value());
  EXPECT_NE(ToJson(*plain).find(R"("fault":null)"), std::string::npos) << ToJson(*plain);

  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(With(R"(,"fault":{"delay_ms":300,"delay_percent":12.5,"abort_status":503,)"
                              R"("abort_percent":1,"header":"X-Chaos"})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->fault.has_value());
  EXPECT_EQ(r->fault->header, "x-chaos");
  std::string canonical = ToJson(*r);
  EXPECT_NE(canonical.find(R"("rate_limit":[],"fault":{"delay_ms":300,"delay_percent":12.5,)"
                           R"("abort_status":503,"abort_percent":1,"header":"x-chaos"},)"
                           R"("cache":null,"tracing":null)"),
            std::string::npos)
      << canonical;
  absl::StatusOr<ServiceRecord> again = ParseServiceRecord(canonical);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *r);
  EXPECT_EQ(ToJson(*again), canonical);
}

TEST(RecordFaultTest, DelayMustBeBelowTheRequestTimeout) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(With(R"(,"fault":{"delay_ms":15000,"delay_percent":1})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "field 'fault.delay_ms': must be below timeouts.request_ms (15000)");
  r = ParseServiceRecord(
      With(R"(,"timeouts":{"request_ms":20000},"fault":{"delay_ms":15000,"delay_percent":1})"));
  EXPECT_TRUE(r.ok()) << r.status();
  // The order of the members does not matter.
  r = ParseServiceRecord(
      With(R"(,"fault":{"delay_ms":500,"delay_percent":1},"timeouts":{"request_ms":500})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "field 'fault.delay_ms': must be below timeouts.request_ms (500)");
}

}  // namespace record_fault_test
}  // namespace icaht::registry
