// The record's `cache` field: null and absent are off, {} is every default,
// each member is read (null meaning its default), ranges and header names are
// checked with errors naming the field, the canonical form round-trips, and
// in the whole record it sits between fault and tracing.

#include "registry/record_cache.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_cache_test {

using filters::CacheSpec;
using ::testing::HasSubstr;

// Parses `text` as the value of a "cache" member.
absl::Status Parse(std::string_view text, core::Boxed<CacheSpec>& out) {
  std::string doc = absl::StrCat("{\"cache\":", std::string(text), "}");
  return json::ParseObjectDocument(doc, [&](json::Value& root) -> absl::Status {
    return json::ForEachField(root, "", [&](std::string_view, json::Value& value) {
      return ParseCache(value, "cache", out);
    });
  });
}

// The spec `text` parses to, which must be valid.
CacheSpec SpecOf(std::string_view text) {
  core::Boxed<CacheSpec> spec;
  absl::Status status = Parse(text, spec);
  EXPECT_TRUE(status.ok()) << text << ": " << status;
  EXPECT_TRUE(spec.has_value()) << text;
  return spec.value_or(CacheSpec{});
}

std::string Write(const core::Boxed<CacheSpec>& spec) {
  JsonWriter w;
  WriteCache(w, spec);
  return std::move(w).Take();
}

std::string ErrorOf(std::string_view text) {
  core::Boxed<CacheSpec> spec;
  absl::Status status = Parse(text, spec);
  EXPECT_FALSE(status.ok()) << text;
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

constexpr std::string_view kDefaultForm =
    R"({"max_bytes":16777216,"max_object_bytes":1048576,)"
    R"("heuristic":{"percent":10,"max_s":86400},"key_headers":[],"key_ignore_query":false,)"
    R"("status_header":"x-cache","collapse_timeout_ms":5000})";

TEST(RecordCacheTest, NullIsOff) {
  core::Boxed<CacheSpec> spec = CacheSpec{};
  ASSERT_TRUE(Parse("null", spec).ok());
  EXPECT_FALSE(spec.has_value());
  EXPECT_EQ(Write(spec), "null");
}

TEST(RecordCacheTest, EmptyObjectIsOnWithEveryDefault) {
  CacheSpec spec = SpecOf("{}");
  EXPECT_EQ(spec, CacheSpec{});
  EXPECT_EQ(spec.max_bytes, 16u << 20);
  EXPECT_EQ(spec.max_object_bytes, 1u << 20);
  EXPECT_TRUE(spec.heuristic);
  EXPECT_EQ(spec.status_header, "x-cache");
  EXPECT_EQ(Write(spec), kDefaultForm);
}

TEST(RecordCacheTest, NullMembersAreTheirDefaults) {
  EXPECT_EQ(SpecOf(R"({"max_bytes":null,"max_object_bytes":null,"heuristic":null,)"
                   R"("key_headers":null,"key_ignore_query":null,"status_header":null,)"
                   R"("collapse_timeout_ms":null})"),
            CacheSpec{});
  EXPECT_EQ(SpecOf(R"({"heuristic":{"percent":null,"max_s":null}})"), CacheSpec{});
}

TEST(RecordCacheTest, TheDesignExample) {
  CacheSpec spec = SpecOf(R"({"max_bytes": 16777216, "max_object_bytes": 1048576})");
  EXPECT_EQ(spec, CacheSpec{});
}

TEST(RecordCacheTest, EveryMember) {
  CacheSpec spec = SpecOf(
      R"({"max_bytes": 68719476736, "max_object_bytes": 1073741824,
          "heuristic": {"percent": 25, "max_s": 3600},
          "key_headers": ["Accept-Language", "x-tenant"], "key_ignore_query": true,
          "status_header": "X-Icaht-Cache", "collapse_timeout_ms": 0})");
  EXPECT_EQ(spec.max_bytes, uint64_t{64} << 30);
  EXPECT_EQ(spec.max_object_bytes, uint64_t{1} << 30);
  EXPECT_TRUE(spec.heuristic);
  EXPECT_EQ(spec.heuristic_percent, 25u);
  EXPECT_EQ(spec.heuristic_max_s, 3600);
  EXPECT_THAT(spec.key_headers, ::testing::ElementsAre("accept-language", "x-tenant"));
  EXPECT_TRUE(spec.key_ignore_query);
  EXPECT_EQ(spec.status_header, "x-icaht-cache");  // lower-cased
  EXPECT_EQ(spec.collapse_timeout_ms, 0u);
  EXPECT_EQ(Write(spec), R"({"max_bytes":68719476736,"max_object_bytes":1073741824,)"
                         R"("heuristic":{"percent":25,"max_s":3600},)"
                         R"("key_headers":["accept-language","x-tenant"],"key_ignore_query":true,)"
                         R"("status_header":"x-icaht-cache","collapse_timeout_ms":0})");
}

TEST(RecordCacheTest, HeuristicForms) {
  CacheSpec off = SpecOf(R"({"heuristic": false})");
  EXPECT_FALSE(off.heuristic);
  EXPECT_EQ(Write(off), R"({"max_bytes":16777216,"max_object_bytes":1048576,"heuristic":false,)"
                        R"("key_headers":[],"key_ignore_query":false,"status_header":"x-cache",)"
                        R"("collapse_timeout_ms":5000})");
  EXPECT_EQ(SpecOf(R"({"heuristic": true})"), CacheSpec{});
  CacheSpec partial = SpecOf(R"({"heuristic": {"max_s": 1}})");
  EXPECT_TRUE(partial.heuristic);
  EXPECT_EQ(partial.heuristic_percent, 10u);
  EXPECT_EQ(partial.heuristic_max_s, 1);
  EXPECT_EQ(SpecOf(R"({"heuristic": {"percent": 0}})").heuristic_percent, 0u);
  EXPECT_EQ(SpecOf(R"({"heuristic": {"percent": 100, "max_s": 31536000}})").heuristic_max_s,
            31536000);
}

TEST(RecordCacheTest, StatusHeaderFalseIsNone) {
  CacheSpec none = SpecOf(R"({"status_header": false})");
  EXPECT_EQ(none.status_header, "");
  std::string written = Write(none);
  EXPECT_THAT(written, HasSubstr(R"("status_header":false,)"));
}

TEST(RecordCacheTest, BoundsAreInclusive) {
  CacheSpec low = SpecOf(R"({"max_bytes": 1048576, "max_object_bytes": 1,
                             "collapse_timeout_ms": 60000})");
  EXPECT_EQ(low.max_bytes, 1u << 20);
  EXPECT_EQ(low.max_object_bytes, 1u);
  EXPECT_EQ(low.collapse_timeout_ms, 60000u);
  // max_object_bytes may equal max_bytes, whichever member comes first.
  EXPECT_EQ(SpecOf(R"({"max_object_bytes": 2097152, "max_bytes": 2097152})").max_object_bytes,
            2u << 20);
  std::string sixteen = "[";
  for (int i = 0; i < 16; ++i) absl::StrAppend(&sixteen, i ? "," : "", "\"h", i, "\"");
  sixteen += "]";
  EXPECT_EQ(SpecOf(absl::StrCat(R"({"key_headers":)", sixteen, "}")).key_headers.size(), 16u);
  std::string longest = std::string(64, 'x');
  EXPECT_EQ(SpecOf(absl::StrCat(R"({"status_header":")", longest, "\"}")).status_header, longest);
}

TEST(RecordCacheTest, RoundTrip) {
  for (std::string_view text :
       {"null", "{}", R"({"heuristic":false,"status_header":false})",
        R"({"max_bytes":1048576,"max_object_bytes":1048576,"key_ignore_query":true})",
        R"({"heuristic":{"percent":0,"max_s":1},"key_headers":["A","b-c"],)"
        R"("collapse_timeout_ms":60000})",
        R"({"max_bytes":68719476736,"max_object_bytes":1073741824,"heuristic":true,)"
        R"("status_header":"Age-Cache"})"}) {
    core::Boxed<CacheSpec> first;
    absl::Status status = Parse(text, first);
    ASSERT_TRUE(status.ok()) << text << ": " << status;
    std::string canonical = Write(first);
    core::Boxed<CacheSpec> second;
    status = Parse(canonical, second);
    ASSERT_TRUE(status.ok()) << canonical << ": " << status;
    EXPECT_EQ(first, second) << canonical;
    EXPECT_EQ(Write(second), canonical);
  }
}

TEST(RecordCacheTest, ErrorsNameTheField) {
  constexpr std::string_view kMaxBytes =
      "field 'cache.max_bytes': must be an integer 1048576..68719476736";
  EXPECT_EQ(ErrorOf(R"({"max_bytes":1048575})"), kMaxBytes);
  EXPECT_EQ(ErrorOf(R"({"max_bytes":68719476737})"), kMaxBytes);
  EXPECT_EQ(ErrorOf(R"({"max_bytes":"16M"})"), kMaxBytes);
  EXPECT_EQ(ErrorOf(R"({"max_bytes":1.5e7})"), kMaxBytes);
  constexpr std::string_view kObject =
      "field 'cache.max_object_bytes': must be an integer 1..1073741824";
  EXPECT_EQ(ErrorOf(R"({"max_object_bytes":0})"), kObject);
  EXPECT_EQ(ErrorOf(R"({"max_bytes":4294967296,"max_object_bytes":1073741825})"), kObject);
  EXPECT_EQ(ErrorOf(R"({"max_object_bytes":-1})"), kObject);
  EXPECT_EQ(ErrorOf(R"({"max_bytes":2097152,"max_object_bytes":2097153})"),
            "field 'cache.max_object_bytes': must not exceed cache.max_bytes (2097152)");
  EXPECT_EQ(ErrorOf(R"({"max_object_bytes":16777217})"),
            "field 'cache.max_object_bytes': must not exceed cache.max_bytes (16777216)");

  constexpr std::string_view kHeuristic =
      "field 'cache.heuristic': must be true, false or an object "
      "{\"percent\": 0..100, \"max_s\": 1..31536000}";
  EXPECT_EQ(ErrorOf(R"({"heuristic":1})"), kHeuristic);
  EXPECT_EQ(ErrorOf(R"({"heuristic":"on"})"), kHeuristic);
  EXPECT_EQ(ErrorOf(R"({"heuristic":[]})"), kHeuristic);
  EXPECT_EQ(ErrorOf(R"({"heuristic":{"percent":101}})"),
            "field 'cache.heuristic.percent': must be an integer 0..100");
  EXPECT_EQ(ErrorOf(R"({"heuristic":{"percent":12.5}})"),
            "field 'cache.heuristic.percent': must be an integer 0..100");
  EXPECT_EQ(ErrorOf(R"({"heuristic":{"max_s":0}})"),
            "field 'cache.heuristic.max_s': must be an integer 1..31536000");
  EXPECT_EQ(ErrorOf(R"({"heuristic":{"max_s":31536001}})"),
            "field 'cache.heuristic.max_s': must be an integer 1..31536000");
  EXPECT_EQ(ErrorOf(R"({"heuristic":{"fraction":0.1}})"),
            "unknown field 'cache.heuristic.fraction'");

  constexpr std::string_view kKeyHeader =
      "field 'cache.key_headers[1]': must be a header name (1..64 token characters)";
  EXPECT_EQ(ErrorOf(R"({"key_headers":["a",""]})"), kKeyHeader);
  EXPECT_EQ(ErrorOf(R"({"key_headers":["a","x y"]})"), kKeyHeader);
  EXPECT_EQ(ErrorOf(R"({"key_headers":["a",7]})"), kKeyHeader);
  EXPECT_EQ(ErrorOf(absl::StrCat(R"({"key_headers":["a",")", std::string(65, 'x'), "\"]}")),
            kKeyHeader);
  EXPECT_EQ(ErrorOf(R"({"key_headers":["X-Tenant","x-tenant"]})"),
            "field 'cache.key_headers[1]': duplicate of entry 0");
  EXPECT_EQ(ErrorOf(R"({"key_headers":"accept"})"), "field 'cache.key_headers': must be an array");
  std::string seventeen = "[";
  for (int i = 0; i < 17; ++i) absl::StrAppend(&seventeen, i ? "," : "", "\"h", i, "\"");
  seventeen += "]";
  EXPECT_EQ(ErrorOf(absl::StrCat(R"({"key_headers":)", seventeen, "}")),
            "field 'cache.key_headers': must have at most 16 entries");

  EXPECT_EQ(ErrorOf(R"({"key_ignore_query":"yes"})"),
            "field 'cache.key_ignore_query': must be true or false");

  constexpr std::string_view kStatusHeader =
      "field 'cache.status_header': must be a header name (1..64 token characters) or false";
  EXPECT_EQ(ErrorOf(R"({"status_header":true})"), kStatusHeader);
  EXPECT_EQ(ErrorOf(R"({"status_header":""})"), kStatusHeader);
  EXPECT_EQ(ErrorOf(R"({"status_header":"x:cache"})"), kStatusHeader);
  EXPECT_EQ(ErrorOf(R"({"status_header":0})"), kStatusHeader);
  EXPECT_EQ(ErrorOf(absl::StrCat(R"({"status_header":")", std::string(65, 'x'), "\"}")),
            kStatusHeader);

  constexpr std::string_view kCollapse =
      "field 'cache.collapse_timeout_ms': must be an integer 0..60000";
  EXPECT_EQ(ErrorOf(R"({"collapse_timeout_ms":60001})"), kCollapse);
  EXPECT_EQ(ErrorOf(R"({"collapse_timeout_ms":-1})"), kCollapse);

  EXPECT_EQ(ErrorOf(R"({"max_entries":100})"), "unknown field 'cache.max_entries'");
  EXPECT_EQ(ErrorOf(R"({"max_entries":null})"), "unknown field 'cache.max_entries'");
  EXPECT_EQ(ErrorOf(R"({"max_bytes":2097152,"max_bytes":4194304})"),
            "field 'cache.max_bytes': duplicate key");
  EXPECT_EQ(ErrorOf("true"), "field 'cache': must be an object");
  EXPECT_EQ(ErrorOf("[]"), "field 'cache': must be an object");
}

// ---- In the whole record ----------------------------------------------------

std::string With(std::string_view extra) {
  return absl::StrCat(R"({"name":"orders","upstreams":["127.0.0.1:8080"])", std::string(extra),
                      "}");
}

TEST(RecordCacheTest, RecordRoundTripAndDefaultOff) {
  for (std::string_view off : {"", R"(,"cache":null)"}) {
    absl::StatusOr<ServiceRecord> plain = ParseServiceRecord(With(off));
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_FALSE(plain->cache.has_value());
    EXPECT_THAT(ToJson(*plain), HasSubstr(R"("fault":null,"cache":null,"tracing":null)"));
  }

  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(With(R"(,"cache":{"max_bytes":33554432,"key_headers":["Accept-Encoding"],)"
                              R"("status_header":false})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->cache.has_value());
  EXPECT_EQ(r->cache->max_bytes, 32u << 20);
  std::string canonical = ToJson(*r);
  EXPECT_THAT(canonical,
              HasSubstr(R"("fault":null,"cache":{"max_bytes":33554432,"max_object_bytes":1048576,)"
                        R"("heuristic":{"percent":10,"max_s":86400},)"
                        R"("key_headers":["accept-encoding"],"key_ignore_query":false,)"
                        R"("status_header":false,"collapse_timeout_ms":5000},"tracing":null)"));
  absl::StatusOr<ServiceRecord> again = ParseServiceRecord(canonical);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *r);
  EXPECT_EQ(ToJson(*again), canonical);
}

TEST(RecordCacheTest, RecordErrorsNameTheCacheField) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"cache":{"max_bytes":0})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "field 'cache.max_bytes': must be an integer 1048576..68719476736");
}

}  // namespace record_cache_test
}  // namespace icaht::registry
