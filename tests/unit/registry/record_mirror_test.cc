#include "registry/record_mirror.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_mirror_test {

using ::testing::HasSubstr;

std::string With(std::string_view mirror) {
  return absl::StrCat(R"({"name":"orders","upstreams":["127.0.0.1:8080"],"mirror":)",
                      std::string(mirror), "}");
}

absl::StatusOr<ServiceRecord> Parse(std::string_view mirror) {
  return ParseServiceRecord(With(mirror));
}

// The error message of a record whose mirror is `mirror` (which must fail).
std::string ErrorOf(std::string_view mirror) {
  absl::StatusOr<ServiceRecord> result = Parse(mirror);
  EXPECT_FALSE(result.ok()) << mirror;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  return std::string(result.status().message());
}

TEST(RecordMirrorTest, AbsentAndNullAreOff) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(R"({"name":"orders","upstreams":["127.0.0.1:8080"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->mirror.has_value());
  EXPECT_THAT(ToJson(*r), HasSubstr(R"("mirror":null)"));
  r = Parse("null");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->mirror.has_value());
}

TEST(RecordMirrorTest, DefaultsAndCanonicalForm) {
  absl::StatusOr<ServiceRecord> r = Parse(R"({"upstream":"127.0.0.1:9090"})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->mirror.has_value());
  EXPECT_EQ(r->mirror->upstream, "127.0.0.1:9090");
  EXPECT_EQ(r->mirror->resolved.ToString(), "127.0.0.1:9090");
  EXPECT_EQ(r->mirror->percent, 100);
  EXPECT_EQ(r->mirror->max_body_bytes, 65536u);
  EXPECT_EQ(r->mirror->timeout_ms, 1000u);
  EXPECT_THAT(ToJson(*r), HasSubstr(R"("mirror":{"upstream":"127.0.0.1:9090","percent":100,)"
                                    R"("max_body_bytes":65536,"timeout_ms":1000})"));
}

TEST(RecordMirrorTest, EveryMemberAndRoundTrip) {
  for (std::string_view mirror :
       {R"({"upstream":"[::1]:9090","percent":12.5,"max_body_bytes":0,"timeout_ms":1})",
        R"({"upstream":"localhost:1","percent":0,"max_body_bytes":16777216,"timeout_ms":60000})",
        R"({"upstream":"127.0.0.1:9","percent":0.001})",
        R"({"upstream":"127.0.0.1:9","percent":-0})"}) {
    absl::StatusOr<ServiceRecord> r = Parse(mirror);
    ASSERT_TRUE(r.ok()) << r.status() << " " << mirror;
    std::string canonical = ToJson(*r);
    absl::StatusOr<ServiceRecord> again = ParseServiceRecord(canonical);
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << canonical;
    EXPECT_EQ(*again, *r) << canonical;
    EXPECT_EQ(ToJson(*again), canonical);
  }
  absl::StatusOr<ServiceRecord> r =
      Parse(R"({"upstream":"[::1]:9090","percent":12.5,"max_body_bytes":0,"timeout_ms":1})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mirror->resolved.ToString(), "[::1]:9090");
  EXPECT_EQ(r->mirror->percent, 12.5);
  EXPECT_EQ(r->mirror->max_body_bytes, 0u);
  EXPECT_EQ(r->mirror->timeout_ms, 1u);
  r = Parse(R"({"upstream":"localhost:1","percent":0})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mirror->resolved.ToString(), "127.0.0.1:1");
  EXPECT_EQ(r->mirror->percent, 0);
  // -0 is 0 (and written so).
  r = Parse(R"({"upstream":"127.0.0.1:9","percent":-0.0})");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(ToJson(*r), HasSubstr(R"("percent":0,)"));
}

TEST(RecordMirrorTest, ErrorsNameTheField) {
  struct Case {
    std::string_view mirror;
    std::string_view error;
  };
  for (const Case& c : {
           Case{"{}", "field 'mirror.upstream': required"},
           Case{R"({"percent":10})", "field 'mirror.upstream': required"},
           Case{"true", "field 'mirror': must be an object"},
           Case{R"("127.0.0.1:9090")", "field 'mirror': must be an object"},
           Case{R"({"upstream":9090})", "field 'mirror.upstream': must be a string"},
           Case{R"({"upstream":"example.com:80"})",
                "field 'mirror.upstream': address 'example.com:80': 'example.com' is not an IP"},
           Case{R"({"upstream":"127.0.0.1"})",
                "field 'mirror.upstream': address '127.0.0.1': missing port"},
           Case{R"({"upstream":"127.0.0.1:0"})",
                "field 'mirror.upstream': address '127.0.0.1:0': port must be 1..65535"},
           Case{R"({"upstream":"127.0.0.1:9","percent":100.5})",
                "field 'mirror.percent': must be a number 0..100"},
           Case{R"({"upstream":"127.0.0.1:9","percent":-1})",
                "field 'mirror.percent': must be a number 0..100"},
           Case{R"({"upstream":"127.0.0.1:9","percent":"10"})",
                "field 'mirror.percent': must be a number 0..100"},
           Case{R"({"upstream":"127.0.0.1:9","max_body_bytes":16777217})",
                "field 'mirror.max_body_bytes': must be an integer 0..16777216"},
           Case{R"({"upstream":"127.0.0.1:9","max_body_bytes":-1})",
                "field 'mirror.max_body_bytes': must be an integer 0..16777216"},
           Case{R"({"upstream":"127.0.0.1:9","timeout_ms":0})",
                "field 'mirror.timeout_ms': must be an integer 1..60000"},
           Case{R"({"upstream":"127.0.0.1:9","timeout_ms":60001})",
                "field 'mirror.timeout_ms': must be an integer 1..60000"},
           Case{R"({"upstream":"127.0.0.1:9","cluster":"x"})", "unknown field 'mirror.cluster'"},
           Case{R"({"upstream":"127.0.0.1:9","upstream":"127.0.0.1:8"})",
                "field 'mirror.upstream': duplicate key"},
       }) {
    EXPECT_THAT(ErrorOf(c.mirror), HasSubstr(c.error)) << c.mirror;
  }
}

}  // namespace record_mirror_test
}  // namespace icaht::registry
