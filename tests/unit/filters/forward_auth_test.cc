// ForwardAuthFilter against a fake SideCalls (no sockets): the request sent
// to the auth service, what a 2xx copies upstream, how a refusal and a
// failure are answered, cancellation, and its place in the chain.

#include "filters/forward_auth.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "filter_test_util.h"
#include "filters/filter_chain.h"
#include "gtest/gtest.h"

namespace icaht::filters {
namespace forward_auth_test {

class FakeSideCalls final : public SideCalls {
 public:
  struct Call final : public SideCall {
    void Cancel() override { cancelled = true; }
    SideCallRequest request;
    Done done;
    bool cancelled = false;
  };

  SideCall* StartSideCall(SideCallRequest request, Done done) override {
    calls.push_back(std::make_unique<Call>());
    calls.back()->request = std::move(request);
    calls.back()->done = std::move(done);
    return calls.back().get();
  }

  // Completes the last call with `answer`.
  void Answer(absl::StatusOr<http::ClientResponse> answer) {
    ASSERT_FALSE(calls.empty());
    Call& call = *calls.back();
    ASSERT_FALSE(call.cancelled);
    Done done = std::move(call.done);
    done(std::move(answer));
  }

  std::vector<std::unique_ptr<Call>> calls;
};

http::ClientResponse Answer(int status, std::vector<std::pair<std::string, std::string>> headers,
                            std::string body = "") {
  http::ClientResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

ForwardAuthSpec Spec() {
  ForwardAuthSpec spec;
  spec.enabled = true;
  spec.address = "127.0.0.1:9000";
  spec.resolved = *net::Address::Parse(spec.address);
  spec.path = "/check";
  spec.timeout_ms = 200;
  spec.copy_response_headers = {"X-User-Id", "X-Roles"};
  return spec;
}

class ForwardAuthTest : public ::testing::Test {
 protected:
  // Runs the filter's request phase over `raw`.
  Verdict Run(const std::string& raw) {
    SetRequestText(ctx_, raw);
    ctx_.client_ip = "192.0.2.7";
    return filter_.OnRequestHead(ctx_, callbacks_);
  }
  std::vector<std::pair<std::string, std::string>> Added() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const http::Header& h : ctx_.upstream_edits.added()) out.emplace_back(h.name, h.value);
    return out;
  }

  FakeSideCalls calls_;
  ForwardAuthFilter filter_{Spec(), &calls_};
  RequestContext ctx_;
  CountingCallbacks callbacks_;
};

TEST_F(ForwardAuthTest, AsksTheAuthServiceWithForwardedFieldsAndPauses) {
  EXPECT_EQ(Run("POST /orders/7?x=1 HTTP/1.1\r\nHost: shop.example\r\nAuthorization: Bearer t\r\n"
                "Cookie: a=1\r\nX-Other: no\r\nCookie: b=2\r\nContent-Length: 0\r\n\r\n"),
            Verdict::kPause);
  ASSERT_EQ(calls_.calls.size(), 1u);
  const SideCallRequest& request = calls_.calls[0]->request;
  EXPECT_EQ(request.address.ToString(), "127.0.0.1:9000");
  EXPECT_EQ(request.timeout_ms, 200u);
  EXPECT_EQ(request.max_body_bytes, ForwardAuthFilter::kMaxAnswerBytes);
  EXPECT_EQ(request.bytes,
            "GET /check HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nX-Forwarded-Method: POST\r\n"
            "X-Forwarded-Proto: http\r\nX-Forwarded-Host: shop.example\r\n"
            "X-Forwarded-Uri: /orders/7?x=1\r\nX-Forwarded-For: 192.0.2.7\r\n"
            "Authorization: Bearer t\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ctx_.side_call, calls_.calls[0].get());
  EXPECT_EQ(callbacks_.resumed + callbacks_.responded, 0);
}

TEST_F(ForwardAuthTest, AllowedRequestGetsTheCopiedFieldsAndNeverTheClientsOwn) {
  Run("GET / HTTP/1.1\r\nHost: h\r\nX-User-Id: mallory\r\nx-roles: admin\r\n\r\n");
  EXPECT_TRUE(ctx_.upstream_edits.Removes("x-user-id"));
  EXPECT_TRUE(ctx_.upstream_edits.Removes("X-Roles"));
  calls_.Answer(
      Answer(204, {{"x-roles", "a"}, {"X-User-Id", "42"}, {"X-Secret", "s"}, {"X-Roles", "b"}}));
  EXPECT_EQ(callbacks_.resumed, 1);
  EXPECT_EQ(ctx_.side_call, nullptr);
  // In the order of copy_response_headers, every occurrence, the spec's spelling.
  EXPECT_EQ(Added(), (std::vector<std::pair<std::string, std::string>>{
                         {"X-User-Id", "42"}, {"X-Roles", "a"}, {"X-Roles", "b"}}));
  for (const http::Header& h : ctx_.upstream_edits.added()) {
    // Lent storage, not the answer (gone by the time the head is written).
    EXPECT_GE(h.value.data(), ctx_.forward_auth.data());
    EXPECT_LE(h.value.data() + h.value.size(), ctx_.forward_auth.data() + ctx_.forward_auth.size());
  }
  EXPECT_EQ(filter_.failures() + filter_.denials(), 0u);
  EXPECT_EQ(ctx_.auth_failure, -1);
}

TEST_F(ForwardAuthTest, ClientFieldRemovedEvenWhenTheAnswerLacksIt) {
  Run("GET / HTTP/1.1\r\nHost: h\r\nX-User-Id: mallory\r\n\r\n");
  calls_.Answer(Answer(200, {}));
  EXPECT_EQ(callbacks_.resumed, 1);
  EXPECT_TRUE(ctx_.upstream_edits.Removes("X-User-Id"));
  EXPECT_TRUE(ctx_.upstream_edits.added().empty());
}

TEST_F(ForwardAuthTest, PublicEndpointSkipsTheCallButNotTheRemoval) {
  ctx_.public_endpoint = true;
  EXPECT_EQ(Run("GET /pub HTTP/1.1\r\nHost: h\r\nX-User-Id: mallory\r\n\r\n"), Verdict::kContinue);
  EXPECT_TRUE(calls_.calls.empty());
  EXPECT_TRUE(ctx_.upstream_edits.Removes("X-User-Id"));
}

TEST_F(ForwardAuthTest, RefusalIsPassedOnAsAnswered) {
  Run("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  calls_.Answer(Answer(401,
                       {{"Content-Type", "application/json"},
                        {"WWW-Authenticate", "Bearer realm=\"shop\""},
                        {"Set-Cookie", "a=1"},
                        {"X-User-Id", "42"},
                        {"Set-Cookie", "b=2"}},
                       "{\"error\":\"nope\"}"));
  EXPECT_EQ(callbacks_.responded, 1);
  EXPECT_EQ(ctx_.local_response.status, 401);
  EXPECT_EQ(ctx_.local_response.body, "{\"error\":\"nope\"}");
  EXPECT_EQ(ctx_.local_response.content_type, "application/json");
  std::vector<std::pair<std::string, std::string>> fields;
  for (const http::Header& h : ctx_.local_response.fields) fields.emplace_back(h.name, h.value);
  EXPECT_EQ(fields, (std::vector<std::pair<std::string, std::string>>{
                        {"WWW-Authenticate", "Bearer realm=\"shop\""},
                        {"Set-Cookie", "a=1"},
                        {"Set-Cookie", "b=2"}}));
  EXPECT_TRUE(ctx_.upstream_edits.added().empty());
  EXPECT_EQ(filter_.denials(), 1u);
  EXPECT_EQ(filter_.failures(), 0u);
  EXPECT_EQ(ctx_.auth_failure, static_cast<int8_t>(AuthFailure::kForwardDenied));
}

TEST_F(ForwardAuthTest, RedirectKeepsItsLocationAndNoContentTypeMeansNone) {
  Run("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  calls_.Answer(Answer(302, {{"Location", "https://id.example/login?next=%2F"}}));
  EXPECT_EQ(callbacks_.responded, 1);
  EXPECT_EQ(ctx_.local_response.status, 302);
  EXPECT_EQ(ctx_.local_response.content_type, "");
  ASSERT_EQ(ctx_.local_response.fields.size(), 1u);
  EXPECT_EQ(ctx_.local_response.fields[0].name, "Location");
  EXPECT_EQ(ctx_.local_response.fields[0].value, "https://id.example/login?next=%2F");
}

TEST_F(ForwardAuthTest, FailuresAnswer503AndAreCounted) {
  std::vector<absl::StatusOr<http::ClientResponse>> failures = {
      absl::UnavailableError("refused"), absl::DeadlineExceededError("timeout"),
      absl::DataLossError("malformed"), absl::ResourceExhaustedError("too big"), Answer(600, {})};
  uint64_t n = 0;
  for (auto& failure : failures) {
    RequestContext ctx;
    SetRequestText(ctx, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    CountingCallbacks callbacks;
    ASSERT_EQ(filter_.OnRequestHead(ctx, callbacks), Verdict::kPause);
    calls_.Answer(std::move(failure));
    EXPECT_EQ(callbacks.responded, 1);
    EXPECT_EQ(callbacks.resumed, 0);
    EXPECT_EQ(ctx.local_response.status, 503);
    EXPECT_EQ(ctx.auth_failure, static_cast<int8_t>(AuthFailure::kForwardUnavailable));
    EXPECT_EQ(filter_.failures(), ++n);
  }
  EXPECT_EQ(filter_.denials(), 0u);
}

TEST_F(ForwardAuthTest, CancelCancelsTheCallInFlight) {
  Run("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  filter_.OnCancel(ctx_);
  EXPECT_TRUE(calls_.calls[0]->cancelled);
  EXPECT_EQ(ctx_.side_call, nullptr);
  filter_.OnCancel(ctx_);  // nothing in flight: nothing to do
}

TEST_F(ForwardAuthTest, FieldThatWouldBreakTheRequestFailsClosed) {
  // Our parser never lets CR or LF into a value: a head made by hand does.
  std::string raw = "GET / HTTP/1.1\r\nAuthorization: a\r\nX-Injected: 1\r\n\r\n";
  http::RequestHead head;
  head.method = std::string_view(raw).substr(0, 3);
  head.method_id = http::Method::kGet;
  head.target = std::string_view(raw).substr(4, 1);
  head.headers.push_back({std::string_view(raw).substr(16, 13),
                          std::string_view(raw).substr(31, 16)});  // "a\r\nX-Injected: 1"
  head.head_size = raw.size();
  ctx_.SetRequest(head, raw);
  EXPECT_EQ(filter_.OnRequestHead(ctx_, callbacks_), Verdict::kRespond);
  EXPECT_TRUE(calls_.calls.empty());
  EXPECT_EQ(ctx_.local_response.status, 503);
  EXPECT_EQ(filter_.failures(), 1u);
}

TEST(ForwardAuthChainTest, RunsRightAfterAuthWhichMarksPublicEndpoints) {
  FakeSideCalls calls;
  FilterSpecs specs;
  specs.health = {.path = "", .ready_path = ""};
  specs.auth.forward = Spec();
  specs.endpoints.resize(1);
  specs.endpoints[0].path_prefix = "/pub";
  specs.endpoints[0].is_public = true;
  specs.rate_limits.push_back({});
  specs.rate_limits[0].requests_per_second = 1000;
  specs.rate_limits[0].burst = 1000;
  auto chain = FilterChain::Build(specs, "svc", nullptr, &calls);
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ(chain->filter(0).name(), "auth");
  EXPECT_EQ(chain->filter(1).name(), "forward_auth");
  EXPECT_EQ(chain->filter(2).name(), "rate_limit");

  CountingCallbacks callbacks;
  RequestContext pub;
  SetRequestText(pub, "GET /pub/x HTTP/1.1\r\nHost: h\r\n\r\n");
  size_t next = 0;
  EXPECT_EQ(chain->RunRequest(pub, callbacks, &next), Verdict::kContinue);
  EXPECT_TRUE(calls.calls.empty());

  RequestContext other;
  SetRequestText(other, "GET /orders HTTP/1.1\r\nHost: h\r\n\r\n");
  next = 0;
  EXPECT_EQ(chain->RunRequest(other, callbacks, &next), Verdict::kPause);
  EXPECT_EQ(next, 2u);
  ASSERT_EQ(calls.calls.size(), 1u);
  chain->Cancel(other, next);
  EXPECT_TRUE(calls.calls[0]->cancelled);

  RequestContext ambiguous;  // the auth filter refuses it before anyone is asked
  SetRequestText(ambiguous, "GET /pub/../orders HTTP/1.1\r\nHost: h\r\n\r\n");
  next = 0;
  EXPECT_EQ(chain->RunRequest(ambiguous, callbacks, &next), Verdict::kRespond);
  EXPECT_EQ(ambiguous.local_response.status, 400);
  EXPECT_EQ(calls.calls.size(), 1u);
}

}  // namespace forward_auth_test
}  // namespace icaht::filters
