// The record's `auth` and `endpoints`: parsing, errors naming the field, the
// canonical form, and endpoint matching.

#include "registry/record_auth.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "filters/auth_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "record_test_util.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_auth_test {

using ::testing::HasSubstr;

TEST(RecordAuthTest, FullAuthRoundTrips) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(
      R"(,"auth":{"jwt":{"issuer":"https://id.example","audiences":["orders"],)"
      R"("jwks_file":"/etc/icaht/jwks.json","jwks_url":null,"algorithms":["RS256","ES256"],)"
      R"("leeway_s":5,"required":false,"cookie":"session","forward_claims":{"sub":"X-User-Id"}},)"
      R"("api_key":{"keys_file":"/etc/icaht/keys","header":"X-Key"},)"
      R"("forward":null},)"
      R"("endpoints":[{"path_prefix":"/orders","methods":["GET","POST"],)"
      R"("auth":{"required":true,"scopes":["orders:read"],"claims":{"role":["admin","ops"]}}},)"
      R"({"path_prefix":"/pub","public":true}])"));
  ASSERT_TRUE(r.ok()) << r.status();
  const filters::JwtSpec& jwt = r->auth.jwt;
  EXPECT_TRUE(jwt.enabled);
  EXPECT_EQ(jwt.issuer, "https://id.example");
  EXPECT_EQ(jwt.audiences, std::vector<std::string>{"orders"});
  EXPECT_EQ(jwt.algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  EXPECT_FALSE(jwt.required);
  EXPECT_EQ(jwt.cookie, "session");
  ASSERT_EQ(jwt.forward_claims.size(), 1u);
  EXPECT_EQ(jwt.forward_claims[0].second, "X-User-Id");
  EXPECT_EQ(r->auth.api_key.header, "X-Key");
  EXPECT_TRUE(r->auth.api_key.required);
  EXPECT_FALSE(r->auth.forward.enabled);
  ASSERT_EQ(r->endpoints.size(), 2u);
  EXPECT_EQ(r->endpoints[0].required, true);
  EXPECT_EQ(r->endpoints[0].claims[0].second, (std::vector<std::string>{"admin", "ops"}));
  EXPECT_TRUE(r->endpoints[1].is_public);
  EXPECT_FALSE(r->endpoints[1].required.has_value());
  ExpectRoundTrip(*r);
}

TEST(RecordAuthTest, ErrorsNameTheField) {
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{}})")),
              HasSubstr("field 'auth.jwt.jwks_file': exactly one of jwks_file and jwks_url"));
  EXPECT_THAT(
      ErrorOf(With(R"(,"auth":{"jwt":{"jwks_file":"/a","jwks_url":"http://127.0.0.1:1/"}})")),
      HasSubstr("exactly one of"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_url":"ftp://x/"}})")),
              HasSubstr("field 'auth.jwt.jwks_url': must be http(s)://IP:PORT/path"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_url":"http://idp.example/keys"}})")),
              HasSubstr("field 'auth.jwt.jwks_url': must be http(s)://IP:PORT/path"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_url":"https://idp.example/keys"}})")),
              HasSubstr("field 'auth.jwt.jwks_url': must be http(s)://IP:PORT/path"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_file":"rel/k"}})")),
              HasSubstr("field 'auth.jwt.jwks_file': must be an absolute path"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_file":"/k","algorithms":["XS1"]}})")),
              HasSubstr("field 'auth.jwt.algorithms[0]': must be one of RS256"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_file":"/k","leeway_s":-1}})")),
              HasSubstr("field 'auth.jwt.leeway_s': must be an integer 0..600"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"jwt":{"jwks_file":"/k","forward_claims":{"sub":"a b"}}})")),
              HasSubstr("field 'auth.jwt.forward_claims.sub': must be a header name"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"api_key":{}})")),
              HasSubstr("field 'auth.api_key.keys_file': required"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"address":"nope"}})")),
              HasSubstr("field 'auth.forward.address'"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"path":"/check"}})")),
              HasSubstr("field 'auth.forward.address': required"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9","path":"/a b"}})")),
              HasSubstr("field 'auth.forward.path': must be a path"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9","timeout_ms":0}})")),
              HasSubstr("field 'auth.forward.timeout_ms'"));
  for (const char* name : {"Content-Length", "transfer-encoding", "Host", "Connection", "TE"}) {
    EXPECT_THAT(
        ErrorOf(With(absl::StrCat(R"(,"auth":{"forward":{"address":"127.0.0.1:9",)",
                                  R"("copy_response_headers":["X-User-Id",")", name, R"("]}})"))),
        HasSubstr("field 'auth.forward.copy_response_headers[1]': must not be"))
        << name;
    EXPECT_THAT(ErrorOf(With(absl::StrCat(R"(,"auth":{"forward":{"address":"127.0.0.1:9",)",
                                          R"("copy_request_headers":[")", name, R"("]}})"))),
                HasSubstr("field 'auth.forward.copy_request_headers[0]': must not be"))
        << name;
  }
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9",)"
                           R"("copy_request_headers":["x-forwarded-uri"]}})")),
              HasSubstr("field 'auth.forward.copy_request_headers[0]': must not be an "
                        "X-Forwarded field"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9",)"
                           R"("copy_response_headers":["X-Roles","x-user-id"]},)"
                           R"("jwt":{"jwks_file":"/k","forward_claims":{"sub":"X-User-Id"}}})")),
              HasSubstr("field 'auth.forward.copy_response_headers[1]': X-User-Id is set by "
                        "auth.jwt.forward_claims already"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9",)"
                           R"("copy_response_headers":["a b"]}})")),
              HasSubstr("field 'auth.forward.copy_response_headers[0]': must be a header name"));
  EXPECT_THAT(ErrorOf(With(R"(,"auth":{"bogus":{}})")), HasSubstr("unknown field 'auth.bogus'"));
  EXPECT_THAT(ErrorOf(With(R"(,"endpoints":[{"path_prefix":"x"}])")),
              HasSubstr("field 'endpoints[0].path_prefix': must be a path starting with '/'"));
  EXPECT_THAT(ErrorOf(With(R"(,"endpoints":[{"path_prefix":"/a","methods":["G T"]}])")),
              HasSubstr("field 'endpoints[0].methods[0]': must be a method name"));
  EXPECT_THAT(ErrorOf(With(R"(,"endpoints":[{"path_prefix":"/a","auth":{"scopes":["s"]}}])")),
              HasSubstr("field 'endpoints[0].auth': scopes and claims need auth.jwt"));
  EXPECT_THAT(ErrorOf(With(R"(,"endpoints":[{"path_prefix":"/a","auth":{"required":true}}])")),
              HasSubstr("field 'endpoints[0].auth.required': needs an auth method"));
  EXPECT_THAT(ErrorOf(With(R"(,"endpoints":[{"path_prefix":"/a","public":true,)"
                           R"("auth":{"required":true}}],"auth":{"api_key":{"keys_file":"/k"}})")),
              HasSubstr("field 'endpoints[0].public': a public endpoint cannot require auth"));
}

TEST(RecordAuthTest, ForwardAuthRoundTripsWithItsDefaults) {
  absl::StatusOr<ServiceRecord> r =
      ParseServiceRecord(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9000"}})"));
  ASSERT_TRUE(r.ok()) << r.status();
  const filters::ForwardAuthSpec& forward = r->auth.forward;
  EXPECT_TRUE(forward.enabled);
  EXPECT_EQ(forward.resolved.ToString(), "127.0.0.1:9000");
  EXPECT_EQ(forward.path, "/");
  EXPECT_EQ(forward.timeout_ms, 500u);
  EXPECT_EQ(forward.copy_request_headers, (std::vector<std::string>{"Authorization", "Cookie"}));
  EXPECT_TRUE(forward.copy_response_headers.empty());
  EXPECT_THAT(ToJson(*r),
              HasSubstr(R"("forward":{"address":"127.0.0.1:9000","path":"/","timeout_ms":500,)"
                        R"("copy_request_headers":["Authorization","Cookie"],)"
                        R"("copy_response_headers":[]})"));
  ExpectRoundTrip(*r);
  // With forward auth alone an endpoint may require authentication.
  EXPECT_TRUE(
      ParseServiceRecord(With(R"(,"auth":{"forward":{"address":"127.0.0.1:9000"}},)"
                              R"("endpoints":[{"path_prefix":"/a","auth":{"required":true}}])"))
          .ok());
}

TEST(RecordAuthTest, NoAuthIsNullAndNoEndpointsIsEmpty) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(With(R"(,"auth":null,"endpoints":[])"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->auth.any());
  EXPECT_THAT(ToJson(*r), HasSubstr(R"("endpoints":[],"auth":null)"));
}

TEST(EndpointMatchTest, LongestPrefixByWholeSegmentsAndMethod) {
  std::vector<filters::EndpointSpec> endpoints(4);
  endpoints[0].path_prefix = "/";
  endpoints[1].path_prefix = "/orders";
  endpoints[2].path_prefix = "/orders/admin";
  endpoints[2].methods = {"POST"};
  endpoints[3].path_prefix = "/static/";
  auto match = [&](std::string_view path, std::string_view method) {
    const filters::EndpointSpec* e = filters::MatchEndpoint(endpoints, path, method);
    return e == nullptr ? -1 : static_cast<int>(e - endpoints.data());
  };
  EXPECT_EQ(match("/orders", "GET"), 1);
  EXPECT_EQ(match("/orders/7", "GET"), 1);
  EXPECT_EQ(match("/orders-old", "GET"), 0);  // not a segment of /orders
  EXPECT_EQ(match("/orders/admin/x", "POST"), 2);
  EXPECT_EQ(match("/orders/admin/x", "GET"), 1);  // method not listed: the next longest
  EXPECT_EQ(match("/static/a.css", "GET"), 3);
  EXPECT_EQ(match("/other", "DELETE"), 0);
  endpoints.erase(endpoints.begin());
  EXPECT_EQ(filters::MatchEndpoint(endpoints, "/other", "GET"), nullptr);
}

TEST(EndpointMatchTest, AmbiguousSegments) {
  for (std::string_view bad : {"/a/../b", "/..", "/a/.", "/a/%2e%2e/b", "/a%2Fb", "/a%2fb", "/a\\b",
                               "/a/%2E/b", "/a%5cb"}) {
    EXPECT_TRUE(filters::HasAmbiguousSegments(bad)) << bad;
  }
  for (std::string_view good : {"/", "/a/b", "/a/..b", "/a.b/c", "/a/%20", "/.well-known/x"}) {
    EXPECT_FALSE(filters::HasAmbiguousSegments(good)) << good;
  }
}

}  // namespace record_auth_test
}  // namespace icaht::registry
