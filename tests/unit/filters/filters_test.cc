#include <set>
#include <string>

#include "filter_test_util.h"
#include "filters/filter_chain.h"
#include "filters/health.h"
#include "filters/request_id.h"
#include "gtest/gtest.h"
#include "http/request_parser.h"

namespace icaht::filters {
namespace filters_test {

class FakeService final : public ServiceView {
 public:
  bool draining() const override { return draining_; }
  size_t upstream_count() const override { return 2; }
  std::string upstream_address(size_t i) const override {
    return i == 0 ? "127.0.0.1:8080" : "127.0.0.1:8081";
  }
  bool upstream_usable(size_t i) const override { return up_[i]; }
  bool draining_ = false;
  bool up_[2] = {true, true};
};

RequestContext Request(const std::string& raw) {
  RequestContext ctx;
  SetRequestText(ctx, raw);
  return ctx;
}

bool IsUuidV4(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[14] == '4' && std::string("89ab").find(id[19]) != std::string::npos;
}

TEST(RequestContextTest, OwnsACopyOfTheHead) {
  std::string raw = "\r\nGET /a?b HTTP/1.1\r\nHost: h\r\nX-One: 1\r\n\r\n";
  RequestContext ctx = Request(raw);
  raw.assign(raw.size(), 'x');  // the read buffer moves on
  EXPECT_EQ(ctx.request().method, "GET");
  EXPECT_EQ(ctx.request().target, "/a?b");
  EXPECT_EQ(ctx.path(), "/a");
  EXPECT_EQ(ctx.request().host, "h");
  ASSERT_NE(ctx.FindRequestHeader("x-one"), nullptr);
  EXPECT_EQ(ctx.FindRequestHeader("x-one")->value, "1");
}

// RFC 6265 5.2: names and values trimmed of spaces and tabs; quotes removed; every Cookie
// field searched.
TEST(RequestContextTest, FindCookie) {
  RequestContext ctx = Request(
      "GET / HTTP/1.1\r\nHost: h\r\nCookie: theme=dark;session = abc \t; q=\"x y\"\r\n"
      "Cookie: late=1\r\n\r\n");
  EXPECT_EQ(ctx.FindCookie("theme"), "dark");
  EXPECT_EQ(ctx.FindCookie("session"), "abc");
  EXPECT_EQ(ctx.FindCookie("q"), "x y");
  EXPECT_EQ(ctx.FindCookie("late"), "1");
  EXPECT_EQ(ctx.FindCookie("sess"), "");
}

// The connection's context is reused for its next exchange: nothing of the
// last one may show (a stale identity or header edit would be a leak between
// requests), and a reused context reads its new head correctly.
TEST(RequestContextTest, ResetForgetsTheLastExchange) {
  RequestContext ctx = Request("GET /first HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\n\r\n");
  ctx.service_name = "svc";
  ctx.client_ip = "10.0.0.1";
  ctx.request_id = "id";
  ctx.identity = "alice";
  ctx.claims.emplace_back("sub", "alice");
  ctx.rate_limit_header = "1\nlimit";
  ctx.upstream_edits.Add("X-User", "alice");
  ctx.upstream_edits.Remove("X-User");
  ctx.response_edits.Add("X-Resp", "1");
  ctx.local_response = {.status = 401, .content_type = "application/json", .body = "no"};
  ctx.local_response.fields.push_back({"Location", "/login"});
  ctx.www_authenticate = "Bearer";
  ctx.auth_failure = 2;
  ctx.rate_limited = RequestContext::RateLimited::kShadow;
  ctx.forward_auth = "42";
  ctx.public_endpoint = true;
  ctx.route = "/orders";
  ctx.side_call = reinterpret_cast<SideCall*>(&ctx);
  ctx.start_ns = ctx.response_head_ns = ctx.end_ns = ctx.upstream_start_ns = 5;
  ctx.upstream_head_ns = 6;
  ctx.response_head_bytes = 7;
  ctx.response_status = 200;
  http::ResponseHead response;
  ctx.upstream_response = &response;
  ctx.upstream_index = 1;
  ctx.upstream_address = "127.0.0.1:1";
  ctx.trace.sampled = true;
  ctx.trace.trace_id[0] = 1;
  ctx.tracestate_buffer = "a=1";
  ctx.attempts = 2;
  ctx.request_body_bytes = ctx.response_body_bytes = 9;
  ctx.outcome = Outcome::kForwarded;
  ctx.error.kind = ErrorKind::kUpstreamReset;

  ctx.Reset();
  RequestContext fresh;
  EXPECT_FALSE(ctx.has_request());
  EXPECT_TRUE(ctx.request().headers.empty());
  EXPECT_EQ(ctx.request().target, "");
  EXPECT_EQ(ctx.path(), "");
  EXPECT_EQ(ctx.FindRequestHeader("host"), nullptr);  // the last head is kept, never shown
  EXPECT_EQ(ctx.service_name, "");
  EXPECT_EQ(ctx.client_ip, "");
  EXPECT_EQ(ctx.request_id, "");
  EXPECT_EQ(ctx.identity, "");
  EXPECT_TRUE(ctx.claims.empty());
  EXPECT_EQ(ctx.rate_limit_header, "");
  EXPECT_TRUE(ctx.upstream_edits.empty());
  EXPECT_TRUE(ctx.response_edits.empty());
  EXPECT_EQ(ctx.local_response.status, 0);
  EXPECT_EQ(ctx.local_response.content_type, fresh.local_response.content_type);
  EXPECT_EQ(ctx.local_response.body, "");
  EXPECT_TRUE(ctx.local_response.fields.empty());
  EXPECT_EQ(ctx.www_authenticate, "");
  EXPECT_EQ(ctx.auth_failure, -1);
  EXPECT_EQ(ctx.rate_limited, RequestContext::RateLimited::kNo);
  EXPECT_EQ(ctx.forward_auth, "");
  EXPECT_FALSE(ctx.public_endpoint);  // stale, it would skip the next request's checks
  EXPECT_EQ(ctx.route, "");
  EXPECT_EQ(ctx.side_call, nullptr);
  EXPECT_EQ(ctx.start_ns + ctx.response_head_ns + ctx.end_ns + ctx.upstream_start_ns +
                ctx.upstream_head_ns,
            0);
  EXPECT_EQ(ctx.response_head_bytes, 0u);
  EXPECT_EQ(ctx.response_status, 0);
  EXPECT_EQ(ctx.upstream_response, nullptr);
  EXPECT_EQ(ctx.upstream_index, fresh.upstream_index);
  EXPECT_EQ(ctx.upstream_address, "");
  EXPECT_FALSE(ctx.trace.sampled);  // a stale decision would export the next request's span
  EXPECT_TRUE(tracing::IsZero(ctx.trace.trace_id));
  EXPECT_EQ(ctx.tracestate_buffer, "");
  EXPECT_EQ(ctx.attempts, 0);
  EXPECT_EQ(ctx.request_body_bytes + ctx.response_body_bytes, 0u);
  EXPECT_EQ(ctx.outcome, Outcome::kNone);
  EXPECT_TRUE(ctx.error.ok());

  SetRequestText(ctx, "POST /second HTTP/1.1\r\nHost: b\r\n\r\n");
  EXPECT_EQ(ctx.request().method, "POST");
  EXPECT_EQ(ctx.path(), "/second");
  EXPECT_EQ(ctx.FindRequestHeader("authorization"), nullptr);
}

TEST(RequestIdTest, ValidIds) {
  EXPECT_TRUE(IsValidRequestId("a"));
  EXPECT_TRUE(IsValidRequestId(std::string(200, '~')));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId(std::string(201, 'a')));
  EXPECT_FALSE(IsValidRequestId("a b"));
  EXPECT_FALSE(IsValidRequestId("a\x7f"));
  EXPECT_FALSE(IsValidRequestId("\xc3\xa9"));
}

TEST(RequestIdTest, GeneratedIdsAreDistinctUuidV4s) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    char out[36];
    UuidGenerator::Generate(out);
    std::string id(out, sizeof out);
    EXPECT_TRUE(IsUuidV4(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestIdTest, TrustedIncomingKeptOtherwiseReplaced) {
  NoCallbacks cb;
  RequestIdFilter trusting({.enabled = true});
  RequestContext kept = Request("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc-1\r\n\r\n");
  EXPECT_EQ(trusting.OnRequestHead(kept, cb), Verdict::kContinue);
  EXPECT_EQ(kept.request_id, "abc-1");
  EXPECT_TRUE(kept.upstream_edits.empty());
  trusting.OnResponseHead(kept);
  ASSERT_EQ(kept.response_edits.added().size(), 1u);
  EXPECT_EQ(kept.response_edits.added()[0].value, "abc-1");
  EXPECT_TRUE(kept.response_edits.Removes("x-request-id"));

  RequestIdFilter distrusting({.enabled = true, .trust_incoming = false});
  RequestContext replaced = Request("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc-1\r\n\r\n");
  distrusting.OnRequestHead(replaced, cb);
  EXPECT_TRUE(IsUuidV4(replaced.request_id)) << replaced.request_id;
  EXPECT_TRUE(replaced.upstream_edits.Removes("X-Request-Id"));
  ASSERT_EQ(replaced.upstream_edits.added().size(), 1u);
  EXPECT_EQ(replaced.upstream_edits.added()[0].value, replaced.request_id);

  // An answer given before the request phase (a malformed head) still gets one.
  RequestContext early;
  trusting.OnResponseHead(early);
  EXPECT_TRUE(IsUuidV4(early.request_id));
}

TEST(HealthFilterTest, AnswersHealthAndReadinessLocally) {
  NoCallbacks cb;
  FakeService service;
  const HealthSpec spec;
  HealthFilter filter(spec, "orders", &service);
  RequestContext health = Request("GET /health?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(filter.OnRequestHead(health, cb), Verdict::kRespond);
  EXPECT_EQ(health.local_response.status, 200);
  EXPECT_EQ(
      health.local_response.body,
      R"({"service":"orders","status":"serving","instances":[)"
      R"({"address":"127.0.0.1:8080","state":"up"},{"address":"127.0.0.1:8081","state":"up"}]})");

  service.up_[0] = false;
  RequestContext ready = Request("GET /ready HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(filter.OnRequestHead(ready, cb), Verdict::kRespond);
  EXPECT_EQ(ready.local_response.status, 200);
  service.up_[1] = false;
  RequestContext unready = Request("GET /ready HTTP/1.1\r\nHost: h\r\n\r\n");
  filter.OnRequestHead(unready, cb);
  EXPECT_EQ(unready.local_response.status, 503);
  EXPECT_NE(unready.local_response.body.find(R"("ready":false)"), std::string::npos);

  service.draining_ = true;
  RequestContext draining = Request("HEAD /health HTTP/1.1\r\nHost: h\r\n\r\n");
  filter.OnRequestHead(draining, cb);
  EXPECT_EQ(draining.local_response.status, 503);

  RequestContext post = Request("POST /health HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(filter.OnRequestHead(post, cb), Verdict::kContinue);
  RequestContext other = Request("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(filter.OnRequestHead(other, cb), Verdict::kContinue);

  const HealthSpec off_spec{.path = "", .ready_path = "/ready"};
  HealthFilter off(off_spec, "orders", &service);
  RequestContext passed = Request("GET /health HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(off.OnRequestHead(passed, cb), Verdict::kContinue);
}

TEST(FilterChainTest, NothingConfiguredIsAnEmptyChain) {
  FakeService service;
  const FilterSpecs none{.health = {.path = "", .ready_path = ""}};
  auto chain = FilterChain::Build(none, "s", &service, nullptr);
  EXPECT_TRUE(chain->empty());
  // The specs outlive the chains built from them (filters keep references).
  const FilterSpecs request_id{.request_id = {.enabled = true}};
  auto both = FilterChain::Build(request_id, "s", &service, nullptr);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ(both->filter(0).name(), "health");  // local endpoints first
  EXPECT_EQ(both->filter(1).name(), "request_id");
}

TEST(ProxyErrorTest, KindsDecideStatusSourceAndLabel) {
  EXPECT_EQ(MakeError(ErrorKind::kConnectRefused, "").status(), 502);
  EXPECT_EQ(MakeError(ErrorKind::kConnectRefused, "").source(), ErrorSource::kUpstream);
  EXPECT_EQ(MakeError(ErrorKind::kUpstreamStalled, "").status(), 504);
  EXPECT_EQ(MakeError(ErrorKind::kBodyTimeout, "").status(), 408);
  EXPECT_EQ(MakeError(ErrorKind::kBodyTimeout, "").source(), ErrorSource::kDownstream);
  EXPECT_EQ(MakeError(ErrorKind::kResponseCut, "").status(), 0);
  EXPECT_EQ(MakeError(ErrorKind::kNoConnection, "").source(), ErrorSource::kInternal);
  EXPECT_EQ((ProxyError{ErrorKind::kBadRequest, 431, false, ""}).status(), 431);
  EXPECT_EQ(MakeError(ErrorKind::kLoopDetected, "").label(), "loop_detected");
}

}  // namespace filters_test
}  // namespace icaht::filters
