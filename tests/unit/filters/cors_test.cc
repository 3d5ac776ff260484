#include "filters/cors.h"

#include <memory>
#include <string>
#include <vector>

#include "filter_test_util.h"
#include "gtest/gtest.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace icaht::filters {
namespace cors_test {

// A context holding its own copy of `raw`'s head, as an exchange's does.
std::unique_ptr<RequestContext> MakeContext(const std::string& raw) {
  auto ctx = std::make_unique<RequestContext>();
  SetRequestText(*ctx, raw);
  return ctx;
}

std::string RequestText(std::string_view method, std::string_view fields) {
  return std::string(method) + " /orders HTTP/1.1\r\nHost: api.example\r\n" + std::string(fields) +
         "\r\n";
}

// The response edits' added fields, one "Name: value\n" line each.
std::string Added(const RequestContext& ctx) {
  std::string out;
  for (const http::Header& h : ctx.response_edits.added()) {
    out.append(h.name).append(": ").append(h.value).append("\n");
  }
  return out;
}

// What the exchange does with one request: the request phase, then the
// response phase for the filter's own answer (the edits cleared first, as
// Exchange::SendLocal does) or for `upstream` (a response head; "" for a
// local answer of status `local_status` given by a later filter).
struct Result {
  Verdict verdict;
  int status;
  std::string added;
  std::unique_ptr<RequestContext> ctx;
};

Result RunExchange(CorsFilter& filter, const std::string& raw, const std::string& upstream = "",
                   int local_status = 200) {
  NoCallbacks cb;
  Result out;
  out.ctx = MakeContext(raw);
  RequestContext& ctx = *out.ctx;
  out.verdict = filter.OnRequestHead(ctx, cb);
  http::ResponseHead response;
  if (out.verdict == Verdict::kRespond) {
    ctx.response_status = ctx.local_response.status;
    ctx.response_edits.Clear();
  } else if (!upstream.empty()) {
    http::ParseError error;
    EXPECT_EQ(http::ParseResponseHead(upstream, ctx.request().method_id, http::Limits{}, &response,
                                      &error),
              http::ParseStatus::kComplete);
    ctx.response_status = response.status;
    ctx.upstream_response = &response;
  } else {
    ctx.response_status = local_status;
  }
  filter.OnResponseHead(ctx);
  ctx.upstream_response = nullptr;
  out.status = ctx.response_status;
  out.added = Added(ctx);
  return out;
}

// ---- Origin syntax and matching ---------------------------------------------

TEST(CorsOriginTest, ParseOrigin) {
  OriginParts parts;
  ASSERT_TRUE(ParseOrigin("https://App.Example", &parts));
  EXPECT_EQ(parts.scheme, "https");
  EXPECT_EQ(parts.host, "App.Example");
  EXPECT_EQ(parts.port, 443);
  ASSERT_TRUE(ParseOrigin("http://localhost:3000", &parts));
  EXPECT_EQ(parts.port, 3000);
  ASSERT_TRUE(ParseOrigin("http://[::1]:8080", &parts));
  EXPECT_EQ(parts.host, "[::1]");
  ASSERT_TRUE(ParseOrigin("chrome-extension://abcdef", &parts));
  EXPECT_EQ(parts.port, 0);

  for (const char* bad : {"",
                          "null",
                          "https://",
                          "https://a.example/",
                          "https://a.example/path",
                          "https//a.example",
                          "://a.example",
                          "1https://a.example",
                          "https://user@a.example",
                          "https://a..example",
                          "https://.a.example",
                          "https://a.example.",
                          "https://a.example:",
                          "https://a.example:0",
                          "https://a.example:65536",
                          "https://a.example:+1",
                          "https://a.example:1234567",
                          "https://a example",
                          "https://*.a.example",
                          "https://[::1",
                          "https://[zz]",
                          "https://a.example?x",
                          "https://a.example#x"}) {
    EXPECT_FALSE(ParseOrigin(bad, &parts)) << bad;
  }
}

TEST(CorsOriginTest, PatternSyntax) {
  for (const char* good :
       {"*", "https://a.example", "http://localhost:3000", "https://*.example.com",
        "https://*.example.com:8443", "http://[::1]:8080", "app+x://host"}) {
    EXPECT_TRUE(IsValidOriginPattern(good)) << good;
  }
  for (const char* bad : {"", "**", "null", "https://*", "https://*.", "https://*example.com",
                          "https://a.*.example.com", "https://*.*.example.com", "*.example.com",
                          "https://*.[::1]", "https://a.example/"}) {
    EXPECT_FALSE(IsValidOriginPattern(bad)) << bad;
  }
}

struct OriginCase {
  std::vector<std::string> allow;
  bool credentials;
  std::string origin;
  bool allowed;
};

TEST(CorsOriginTest, Matching) {
  const std::vector<std::string> exact = {"https://app.example"};
  const std::vector<std::string> local = {"http://localhost:3000"};
  const std::vector<std::string> wild = {"https://*.example.com"};
  const std::vector<std::string> wild_port = {"https://*.example.com:8443"};
  const std::vector<std::string> star = {"*"};
  const OriginCase cases[] = {
      // Exact: scheme and host case-insensitive, the default port implied.
      {exact, false, "https://app.example", true},
      {exact, false, "HTTPS://APP.EXAMPLE", true},
      {exact, false, "https://app.example:443", true},
      {exact, false, "https://app.example:8443", false},
      {exact, false, "http://app.example", false},
      {exact, false, "https://app.example/", false},
      {exact, false, "https://app.example.evil", false},
      {exact, false, "https://evil-app.example", false},
      {exact, false, "https://x.app.example", false},
      {exact, false, "null", false},
      {exact, false, "", false},
      {{"https://app.example:443"}, false, "https://app.example", true},
      {local, false, "http://localhost:3000", true},
      {local, false, "http://localhost", false},
      {local, false, "http://localhost:30000", false},
      {{"http://[::1]:8080"}, false, "http://[::1]:8080", true},
      {{"chrome-extension://abcdef"}, false, "chrome-extension://ABCDEF", true},
      {{"chrome-extension://abcdef"}, false, "chrome-extension://abcdef:1", false},
      // Subdomain patterns: one or more labels, never the bare domain.
      {wild, false, "https://a.example.com", true},
      {wild, false, "https://a.b.example.com", true},
      {wild, false, "https://A.Example.COM", true},
      {wild, false, "https://example.com", false},
      {wild, false, "https://.example.com", false},
      {wild, false, "https://aexample.com", false},
      {wild, false, "https://a.example.com.evil", false},
      {wild, false, "http://a.example.com", false},
      {wild, false, "https://a.example.com:8443", false},
      {wild_port, false, "https://a.example.com:8443", true},
      {wild_port, false, "https://a.example.com", false},
      // "*": anything without credentials; only real origins with them.
      {star, false, "https://anything.example", true},
      {star, false, "null", true},
      {star, false, "not an origin", true},
      {star, true, "https://anything.example", true},
      {star, true, "null", false},
      {star, true, "not an origin", false},
      {{}, false, "https://app.example", false},
  };
  for (const OriginCase& c : cases) {
    CorsFilter filter(
        {.enabled = true, .allow_origins = c.allow, .allow_credentials = c.credentials});
    EXPECT_EQ(filter.OriginAllowed(c.origin), c.allowed)
        << c.origin << " against " << (c.allow.empty() ? "" : c.allow[0]) << " credentials "
        << c.credentials;
  }
}

// ---- Preflights -------------------------------------------------------------

const CorsSpec kBase = {.enabled = true,
                        .allow_origins = {"https://app.example", "https://*.example.com"},
                        .allow_methods = {"GET", "PUT"},
                        .allow_headers = {"X-Token", "Content-Type"}};

CorsSpec With(CorsSpec spec, void (*change)(CorsSpec&)) {
  change(spec);
  return spec;
}

constexpr std::string_view kAllowedPut =
    "Access-Control-Allow-Origin: https://app.example\n"
    "Access-Control-Allow-Methods: GET, PUT\n"
    "Access-Control-Allow-Headers: X-Token, Content-Type\n"
    "Access-Control-Max-Age: 600\n"
    "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n";

struct PreflightCase {
  const char* name;
  CorsSpec spec;
  std::string fields;  // request fields after Host
  int status;          // 204 or 403
  std::string added;   // response fields
  std::string body;
};

TEST(CorsPreflightTest, Table) {
  const std::string refused = "";
  const PreflightCase cases[] = {
      {"allowed", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: x-token\r\n",
       204, std::string(kAllowedPut), ""},
      {"no headers requested", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n", 204,
       std::string(kAllowedPut), ""},
      {"headers case-insensitive, empty elements skipped", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: , CONTENT-TYPE ,x-token,\r\n",
       204, std::string(kAllowedPut), ""},
      {"headers over two fields", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: x-token\r\nAccess-Control-Request-Headers: "
       "content-type\r\n",
       204, std::string(kAllowedPut), ""},
      {"subdomain origin echoed", kBase,
       "Origin: https://a.example.com\r\nAccess-Control-Request-Method: GET\r\n", 204,
       "Access-Control-Allow-Origin: https://a.example.com\n"
       "Access-Control-Allow-Methods: GET, PUT\n"
       "Access-Control-Allow-Headers: X-Token, Content-Type\n"
       "Access-Control-Max-Age: 600\n"
       "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n",
       ""},
      {"origin refused", kBase,
       "Origin: https://evil.example\r\nAccess-Control-Request-Method: PUT\r\n", 403, refused,
       "CORS preflight refused: origin not allowed\n"},
      {"null origin refused", kBase, "Origin: null\r\nAccess-Control-Request-Method: PUT\r\n", 403,
       refused, "CORS preflight refused: origin not allowed\n"},
      {"method refused", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: DELETE\r\n", 403, refused,
       "CORS preflight refused: method not allowed\n"},
      {"methods are case-sensitive", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: put\r\n", 403, refused,
       "CORS preflight refused: method not allowed\n"},
      {"two method fields", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Method: GET\r\n",
       403, refused, "CORS preflight refused: method not allowed\n"},
      {"a method list is not a method", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: GET, PUT\r\n", 403, refused,
       "CORS preflight refused: method not allowed\n"},
      {"header refused", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: x-token, x-other\r\n",
       403, refused, "CORS preflight refused: header not allowed\n"},
      {"header refused in a second field", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: x-token\r\nAccess-Control-Request-Headers: x-other\r\n",
       403, refused, "CORS preflight refused: header not allowed\n"},
      {"safelisted headers need the allowance too", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: accept\r\n",
       403, refused, "CORS preflight refused: header not allowed\n"},
      {"a header element that is not a token", kBase,
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
       "Access-Control-Request-Headers: x-token x-other\r\n",
       403, refused, "CORS preflight refused: header not allowed\n"},
      {"credentials", With(kBase, [](CorsSpec& s) { s.allow_credentials = true; }),
       "Origin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n", 204,
       "Access-Control-Allow-Origin: https://app.example\n"
       "Access-Control-Allow-Methods: GET, PUT\n"
       "Access-Control-Allow-Headers: X-Token, Content-Type\n"
       "Access-Control-Allow-Credentials: true\n"
       "Access-Control-Max-Age: 600\n"
       "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n",
       ""},
      {"star without credentials answers *",
       {.enabled = true, .allow_origins = {"*"}, .max_age_s = 0},
       "Origin: https://any.example\r\nAccess-Control-Request-Method: POST\r\n",
       204,
       "Access-Control-Allow-Origin: *\n"
       "Access-Control-Allow-Methods: GET, HEAD, POST\n"
       "Access-Control-Max-Age: 0\n"
       "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n",
       ""},
      {"star with credentials echoes the origin, never *",
       {.enabled = true, .allow_origins = {"*"}, .allow_credentials = true, .max_age_s = 86400},
       "Origin: https://any.example\r\nAccess-Control-Request-Method: GET\r\n",
       204,
       "Access-Control-Allow-Origin: https://any.example\n"
       "Access-Control-Allow-Methods: GET, HEAD, POST\n"
       "Access-Control-Allow-Credentials: true\n"
       "Access-Control-Max-Age: 86400\n"
       "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n",
       ""},
      {"any header and any method are echoed",
       {.enabled = true,
        .allow_origins = {"https://app.example"},
        .allow_methods = {"*"},
        .allow_headers = {"*"},
        .allow_credentials = true},
       "Origin: https://app.example\r\nAccess-Control-Request-Method: PURGE\r\n"
       "Access-Control-Request-Headers: authorization, x-a\r\n"
       "Access-Control-Request-Headers: x-b\r\n",
       204,
       "Access-Control-Allow-Origin: https://app.example\n"
       "Access-Control-Allow-Methods: PURGE\n"
       "Access-Control-Allow-Headers: authorization, x-a\n"
       "Access-Control-Allow-Headers: x-b\n"
       "Access-Control-Allow-Credentials: true\n"
       "Access-Control-Max-Age: 600\n"
       "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n",
       ""},
      {"nothing allowed",
       {.enabled = true},
       "Origin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n",
       403,
       refused,
       "CORS preflight refused: origin not allowed\n"},
  };
  for (const PreflightCase& c : cases) {
    SCOPED_TRACE(c.name);
    CorsFilter filter(c.spec);
    Result out = RunExchange(filter, RequestText("OPTIONS", c.fields));
    EXPECT_EQ(out.verdict, Verdict::kRespond);
    EXPECT_EQ(out.status, c.status);
    EXPECT_EQ(out.added, c.added);
    EXPECT_EQ(out.ctx->local_response.body, c.body);
  }
}

TEST(CorsPreflightTest, NotAPreflightGoesUpstream) {
  CorsFilter filter(kBase);
  const char* upstream = "HTTP/1.1 200 OK\r\nAllow: GET, PUT, OPTIONS\r\nContent-Length: 0\r\n\r\n";
  // OPTIONS with Origin only: an actual cross-origin OPTIONS request.
  Result options =
      RunExchange(filter, RequestText("OPTIONS", "Origin: https://app.example\r\n"), upstream);
  EXPECT_EQ(options.verdict, Verdict::kContinue);
  EXPECT_EQ(options.added, "Vary: Origin\nAccess-Control-Allow-Origin: https://app.example\n");
  // Access-Control-Request-Method without Origin.
  Result no_origin = RunExchange(
      filter, RequestText("OPTIONS", "Access-Control-Request-Method: PUT\r\n"), upstream);
  EXPECT_EQ(no_origin.verdict, Verdict::kContinue);
  EXPECT_EQ(no_origin.added, "Vary: Origin\n");
  // Plain OPTIONS (also "OPTIONS *").
  Result plain = RunExchange(filter, RequestText("OPTIONS", ""), upstream);
  EXPECT_EQ(plain.verdict, Verdict::kContinue);
  Result asterisk = RunExchange(filter, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", upstream);
  EXPECT_EQ(asterisk.verdict, Verdict::kContinue);
  // The preflight fields on another method: not a preflight.
  Result get = RunExchange(filter,
                           RequestText("GET",
                                       "Origin: https://app.example\r\n"
                                       "Access-Control-Request-Method: PUT\r\n"),
                           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(get.verdict, Verdict::kContinue);
  EXPECT_EQ(get.added, "Vary: Origin\nAccess-Control-Allow-Origin: https://app.example\n");
}

TEST(CorsPreflightTest, AnErrorAnswerToAPreflightGetsNoCorsFields) {
  // The exchange failed before this filter answered (the response phase runs
  // over every filter): no preflight fields on a 502.
  CorsFilter filter(kBase);
  auto ctx = MakeContext(RequestText(
      "OPTIONS", "Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"));
  ctx->response_status = 502;
  filter.OnResponseHead(*ctx);
  EXPECT_EQ(Added(*ctx), "");
}

// ---- Actual requests ----------------------------------------------------------

struct ActualCase {
  const char* name;
  CorsSpec spec;
  std::string fields;
  std::string added;
};

TEST(CorsActualTest, Table) {
  const CorsSpec credentials = With(kBase, [](CorsSpec& s) {
    s.allow_credentials = true;
    s.expose_headers = {"X-Total", "X-Page"};
  });
  const ActualCase cases[] = {
      {"allowed origin", kBase, "Origin: https://app.example\r\n",
       "Vary: Origin\nAccess-Control-Allow-Origin: https://app.example\n"},
      {"allowed subdomain, case kept as sent", kBase, "Origin: https://A.example.com\r\n",
       "Vary: Origin\nAccess-Control-Allow-Origin: https://A.example.com\n"},
      {"credentials and exposed headers", credentials, "Origin: https://app.example\r\n",
       "Vary: Origin\nAccess-Control-Allow-Origin: https://app.example\n"
       "Access-Control-Allow-Credentials: true\n"
       "Access-Control-Expose-Headers: X-Total, X-Page\n"},
      {"refused origin: no CORS fields", credentials, "Origin: https://evil.example\r\n",
       "Vary: Origin\n"},
      {"no origin", credentials, "", "Vary: Origin\n"},
      {"star",
       {.enabled = true, .allow_origins = {"*"}, .expose_headers = {"*"}},
       "Origin: https://any.example\r\n",
       "Vary: Origin\nAccess-Control-Allow-Origin: *\nAccess-Control-Expose-Headers: *\n"},
      {"star with credentials: never *",
       {.enabled = true, .allow_origins = {"*", "https://app.example"}, .allow_credentials = true},
       "Origin: https://any.example\r\n",
       "Vary: Origin\nAccess-Control-Allow-Origin: https://any.example\n"
       "Access-Control-Allow-Credentials: true\n"},
      {"star with credentials: null is refused",
       {.enabled = true, .allow_origins = {"*"}, .allow_credentials = true},
       "Origin: null\r\n",
       "Vary: Origin\n"},
  };
  const std::string upstream = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  for (const ActualCase& c : cases) {
    SCOPED_TRACE(c.name);
    CorsFilter filter(c.spec);
    Result out = RunExchange(filter, RequestText("GET", c.fields), upstream);
    EXPECT_EQ(out.verdict, Verdict::kContinue);
    EXPECT_EQ(out.added, c.added);
    // A later filter's local answer (a 401, a 429) gets the same fields.
    Result local = RunExchange(filter, RequestText("GET", c.fields), "", 401);
    EXPECT_EQ(local.added, c.added);
  }
}

TEST(CorsActualTest, TheUpstreamsCorsFieldsAreReplaced) {
  CorsFilter filter(kBase);
  Result out = RunExchange(filter, RequestText("GET", "Origin: https://evil.example\r\n"),
                           "HTTP/1.1 200 OK\r\n"
                           "access-control-allow-origin: *\r\n"
                           "Access-Control-Allow-Credentials: true\r\n"
                           "Access-Control-Expose-Headers: X-Secret\r\n"
                           "ACCESS-CONTROL-MAX-AGE: 5\r\n"
                           "Access-Control-Allow-Origin: https://evil.example\r\n"
                           "Access-Control-Something-Else: kept\r\n"
                           "Vary: Accept-Encoding\r\n"
                           "Content-Length: 0\r\n\r\n");
  const HeaderEdits& edits = out.ctx->response_edits;
  EXPECT_TRUE(edits.Removes("Access-Control-Allow-Origin"));
  EXPECT_TRUE(edits.Removes("Access-Control-Allow-Credentials"));
  EXPECT_TRUE(edits.Removes("Access-Control-Expose-Headers"));
  EXPECT_TRUE(edits.Removes("Access-Control-Max-Age"));
  EXPECT_FALSE(edits.Removes("Access-Control-Allow-Methods"));  // not sent: nothing to remove
  EXPECT_FALSE(edits.Removes("Access-Control-Something-Else"));
  EXPECT_FALSE(edits.Removes("Vary"));  // the upstream's Vary stays; ours is added
  EXPECT_EQ(out.added, "Vary: Origin\n");

  // Nothing to remove: no removal edits (the common case costs one Add).
  Result plain = RunExchange(filter, RequestText("GET", "Origin: https://app.example\r\n"),
                             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(plain.ctx->response_edits.Removes("Access-Control-Allow-Origin"));
}

TEST(CorsActualTest, EchoedOriginViewsTheContextsCopyOfTheHead) {
  CorsFilter filter(kBase);
  std::string raw = RequestText("GET", "Origin: https://app.example\r\n");
  auto ctx = MakeContext(raw);
  NoCallbacks cb;
  ASSERT_EQ(filter.OnRequestHead(*ctx, cb), Verdict::kContinue);
  ctx->response_status = 200;
  filter.OnResponseHead(*ctx);
  raw.assign(raw.size(), 'x');  // the connection's read buffer moves on
  ASSERT_EQ(ctx->response_edits.added().size(), 2u);
  const http::Header& origin = ctx->response_edits.added()[1];
  EXPECT_EQ(origin.value, "https://app.example");
  const http::Header* field = ctx->FindRequestHeader("origin");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(origin.value.data(), field->value.data());
}

TEST(CorsActualTest, NoRequestHeadNoFields) {
  // A malformed head answered with 400 before any filter ran.
  CorsFilter filter(kBase);
  RequestContext ctx;
  ctx.response_status = 400;
  filter.OnResponseHead(ctx);
  EXPECT_TRUE(ctx.response_edits.empty());
}

TEST(CorsActualTest, OneFilterServesManyExchanges) {
  // Built once per config and shard: nothing of one exchange leaks into another.
  CorsFilter filter(With(kBase, [](CorsSpec& s) { s.allow_credentials = true; }));
  Result first = RunExchange(filter, RequestText("OPTIONS",
                                                 "Origin: https://a.example.com\r\n"
                                                 "Access-Control-Request-Method: PUT\r\n"));
  Result second = RunExchange(filter, RequestText("GET", "Origin: https://b.example.com\r\n"),
                              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  Result third =
      RunExchange(filter, RequestText("GET", ""), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(first.status, 204);
  EXPECT_NE(first.added.find("Access-Control-Allow-Origin: https://a.example.com\n"),
            std::string::npos);
  EXPECT_EQ(second.added,
            "Vary: Origin\nAccess-Control-Allow-Origin: https://b.example.com\n"
            "Access-Control-Allow-Credentials: true\n");
  EXPECT_EQ(third.added, "Vary: Origin\n");
}

}  // namespace cors_test
}  // namespace icaht::filters
