#include "registry/record_cors.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {
namespace record_cors_test {

using filters::CorsSpec;

// Parses `text` as the value of a "cors" member, at field path `path`.
absl::Status Parse(std::string_view text, CorsSpec& out, const std::string& path = "cors") {
  std::string doc = absl::StrCat("{\"cors\":", std::string(text), "}");
  return json::ParseObjectDocument(doc, [&](json::Value& root) -> absl::Status {
    return json::ForEachField(root, "", [&](std::string_view, json::Value& value) {
      return ParseCors(value, path, out);
    });
  });
}

std::string Write(const CorsSpec& spec) {
  JsonWriter w;
  WriteCors(w, spec);
  return std::move(w).Take();
}

TEST(RecordCorsTest, NullIsOffAndAnEmptyObjectIsOnWithDefaults) {
  CorsSpec spec;
  spec.enabled = true;
  ASSERT_TRUE(Parse("null", spec).ok());
  EXPECT_EQ(spec, CorsSpec{});
  EXPECT_EQ(Write(spec), "null");

  ASSERT_TRUE(Parse("{}", spec).ok());
  EXPECT_TRUE(spec.enabled);
  EXPECT_TRUE(spec.allow_origins.empty());
  EXPECT_EQ(spec.allow_methods, (std::vector<std::string>{"GET", "HEAD", "POST"}));
  EXPECT_TRUE(spec.allow_headers.empty());
  EXPECT_TRUE(spec.expose_headers.empty());
  EXPECT_FALSE(spec.allow_credentials);
  EXPECT_EQ(spec.max_age_s, 600u);
  EXPECT_EQ(Write(spec),
            R"({"allow_origins":[],"allow_methods":["GET","HEAD","POST"],"allow_headers":[],)"
            R"("expose_headers":[],"allow_credentials":false,"max_age_s":600})");
}

TEST(RecordCorsTest, FullSpec) {
  CorsSpec spec;
  absl::Status status = Parse(R"({
      "allow_origins": ["https://app.example", "https://*.example.com:8443", "*"],
      "allow_methods": ["GET", "PATCH", "*"],
      "allow_headers": ["Authorization", "X-Token"],
      "expose_headers": ["X-Total"],
      "allow_credentials": true,
      "max_age_s": 86400})",
                              spec);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(spec.enabled);
  EXPECT_EQ(spec.allow_origins,
            (std::vector<std::string>{"https://app.example", "https://*.example.com:8443", "*"}));
  EXPECT_EQ(spec.allow_methods, (std::vector<std::string>{"GET", "PATCH", "*"}));
  EXPECT_EQ(spec.allow_headers, (std::vector<std::string>{"Authorization", "X-Token"}));
  EXPECT_EQ(spec.expose_headers, (std::vector<std::string>{"X-Total"}));
  EXPECT_TRUE(spec.allow_credentials);
  EXPECT_EQ(spec.max_age_s, 86400u);
}

TEST(RecordCorsTest, ErrorsNameTheField) {
  struct BadCase {
    std::string json;
    std::string message;
  };
  const std::string origin_problem =
      "must be \"*\", an origin \"scheme://host[:port]\" or a subdomain pattern "
      "\"scheme://*.host[:port]\" (no path, no trailing slash)";
  const BadCase cases[] = {
      {R"("yes")", "field 'cors': must be an object"},
      {R"({"allow_origin":["*"]})", "unknown field 'cors.allow_origin'"},
      {R"({"allow_origins":"*"})", "field 'cors.allow_origins': must be an array"},
      {R"({"allow_origins":["*", 1]})", "field 'cors.allow_origins[1]': must be a string"},
      {R"({"allow_origins":["https://a.example", "https://b.example", "https://c.example/"]})",
       "field 'cors.allow_origins[2]': " + origin_problem},
      {R"({"allow_origins":["null"]})", "field 'cors.allow_origins[0]': " + origin_problem},
      {R"({"allow_origins":["app.example"]})", "field 'cors.allow_origins[0]': " + origin_problem},
      {R"({"allow_origins":["https://*example.com"]})",
       "field 'cors.allow_origins[0]': " + origin_problem},
      {R"({"allow_origins":["https://a.example:99999"]})",
       "field 'cors.allow_origins[0]': " + origin_problem},
      {absl::StrCat(R"({"allow_origins":["https://)", std::string(300, 'a'), R"("]})"),
       "field 'cors.allow_origins[0]': " + origin_problem},
      {R"({"allow_origins":["https://a.example", "HTTPS://A.EXAMPLE"]})",
       "field 'cors.allow_origins[1]': duplicate of entry 0"},
      {R"({"allow_methods":["GET", "GET PUT"]})",
       "field 'cors.allow_methods[1]': must be a method name (1..32 token characters) or \"*\""},
      {R"({"allow_methods":[""]})",
       "field 'cors.allow_methods[0]': must be a method name (1..32 token characters) or \"*\""},
      {R"({"allow_methods":["GET", "GET"]})",
       "field 'cors.allow_methods[1]': duplicate of entry 0"},
      {R"({"allow_headers":["X-A", "X:B"]})",
       "field 'cors.allow_headers[1]': must be a header name (1..64 token characters) or \"*\""},
      {R"({"allow_headers":["x-a", "X-A"]})",
       "field 'cors.allow_headers[1]': duplicate of entry 0"},
      {R"({"expose_headers":["X-A", ""]})",
       "field 'cors.expose_headers[1]': must be a header name (1..64 token characters) or \"*\""},
      {R"({"expose_headers":["X-A", "*"], "allow_credentials":true})",
       "field 'cors.expose_headers[1]': \"*\" names a header called \"*\" when allow_credentials "
       "is true (Fetch); list the headers to expose"},
      {R"({"allow_credentials":"true"})", "field 'cors.allow_credentials': must be true or false"},
      {R"({"max_age_s":86401})", "field 'cors.max_age_s': must be an integer 0..86400"},
      {R"({"max_age_s":-1})", "field 'cors.max_age_s': must be an integer 0..86400"},
      {R"({"max_age_s":1, "max_age_s":2})", "field 'cors.max_age_s': duplicate key"},
  };
  for (const BadCase& c : cases) {
    CorsSpec spec;
    absl::Status status = Parse(c.json, spec);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(status.message(), c.message) << c.json;
  }
}

TEST(RecordCorsTest, TooManyEntries) {
  std::string json = R"({"allow_headers":[)";
  for (int i = 0; i <= 100; ++i) json += (i > 0 ? ",\"X-" : "\"X-") + std::to_string(i) + "\"";
  json += "]}";
  CorsSpec spec;
  EXPECT_EQ(Parse(json, spec).message(),
            "field 'cors.allow_headers': must have at most 100 entries");
}

TEST(RecordCorsTest, ErrorsUseTheCallersPath) {
  CorsSpec spec;
  EXPECT_EQ(Parse(R"({"max_age_s":true})", spec, "services[2].cors").message(),
            "field 'services[2].cors.max_age_s': must be an integer 0..86400");
}

TEST(RecordCorsTest, CredentialsWithStarOriginAreAccepted) {
  // Answered with the request's origin, never "*" (filters/cors.h).
  CorsSpec spec;
  ASSERT_TRUE(Parse(R"({"allow_origins":["*"],"allow_credentials":true})", spec).ok());
  EXPECT_TRUE(spec.allow_credentials);
  // "*" exposed without credentials is the Fetch wildcard: accepted.
  ASSERT_TRUE(Parse(R"({"allow_origins":["*"],"expose_headers":["*"]})", spec).ok());
}

TEST(RecordCorsTest, RoundTrip) {
  const char* inputs[] = {
      "null",
      "{}",
      R"({"allow_origins":["https://app.example"],"allow_methods":["GET"],)"
      R"("allow_headers":["Authorization"],"allow_credentials":true,"max_age_s":600})",
      R"({"max_age_s":0,"allow_methods":[],"allow_origins":["*","http://[::1]:8080",)"
      R"("https://*.Example.com"],"expose_headers":["X-Total","X-Page"],"allow_headers":["*"]})",
  };
  for (const char* input : inputs) {
    CorsSpec parsed;
    ASSERT_TRUE(Parse(input, parsed).ok()) << input;
    std::string canonical = Write(parsed);
    CorsSpec again;
    absl::Status status = Parse(canonical, again);
    ASSERT_TRUE(status.ok()) << status << " " << canonical;
    EXPECT_EQ(again, parsed) << canonical;
    EXPECT_EQ(Write(again), canonical);
  }
}

}  // namespace record_cors_test
}  // namespace icaht::registry
