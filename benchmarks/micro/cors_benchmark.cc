// Micro benchmarks of the CORS filter (src/filters/cors.cc): what one exchange
// pays for it. Each iteration is one exchange's worth of filter work: the
// context copies the parsed head (borrowing its storage, as an exchange does
// from its connection), the request phase runs, the response phase runs (for
// the filter's own answer or an upstream's) and the client head is written
// with the edits.
//   Preflight          OPTIONS with Origin, -Request-Method and -Request-Headers,
//                      answered 204 with six fields
//   AllowedOrigin      GET with an allowed Origin (credentials on): four fields
//   NoOrigin           GET without Origin (a same-origin or non-browser client):
//                      "Vary: Origin" only
//   UpstreamCorsFields GET with an allowed Origin whose upstream answer carries
//                      its own Access-Control-* fields (replaced)

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "filters/cors.h"
#include "http/request_parser.h"
#include "http/response_parser.h"
#include "proxy/header_rewrite.h"

namespace icaht::proxy {
namespace {

constexpr std::string_view kPreflight =
    "OPTIONS /orders/1 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: Mozilla/5.0\r\n"
    "Accept: */*\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n"
    "Access-Control-Request-Headers: authorization,content-type\r\n\r\n";
constexpr std::string_view kAllowedGet =
    "GET /orders/1 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: Mozilla/5.0\r\n"
    "Accept: */*\r\nOrigin: https://app.example\r\nCookie: s=1\r\n\r\n";
constexpr std::string_view kPlainGet =
    "GET /orders/1 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
    "Content-Length: 5\r\n\r\n";
constexpr std::string_view kResponseWithCors =
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
    "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: X-Debug\r\n"
    "Content-Length: 5\r\n\r\n";

class NoCallbacks final : public filters::FilterCallbacks {
 public:
  void Resume() override {}
  void RespondLocally() override {}
};

filters::CorsSpec Spec() {
  return {.enabled = true,
          .allow_origins = {"https://app.example", "https://*.example.com"},
          .allow_methods = {"GET", "PUT", "DELETE"},
          .allow_headers = {"Authorization", "Content-Type"},
          .allow_credentials = true};
}

// One exchange's head work: parse-copy of the request, the filter's phases
// (none with `with_filter` false: the baseline), the client head written.
void RunCors(benchmark::State& state, std::string_view request, std::string_view upstream,
             bool with_filter = true) {
  filters::CorsFilter filter(Spec());
  NoCallbacks callbacks;
  http::RequestHead head;
  http::ParseError error;
  ICAHT_CHECK(http::ParseRequestHead(request, http::Limits{}, &head, &error) ==
              http::ParseStatus::kComplete);
  http::ResponseHead response;
  ICAHT_CHECK(http::ParseResponseHead(upstream, head.method_id, http::Limits{}, &response,
                                      &error) == http::ParseStatus::kComplete);
  std::string client_head;
  filters::RequestContext ctx;
  for (auto _ : state) {
    ctx.Reset();
    ctx.SetRequest(head, request);
    client_head.clear();
    if (!with_filter) {
      BuildClientResponseHead(response, true, false, &client_head, &ctx.response_edits);
    } else if (filter.OnRequestHead(ctx, callbacks) == filters::Verdict::kRespond) {
      ctx.response_status = ctx.local_response.status;
      filter.OnResponseHead(ctx);
      AppendLocalResponse(ctx.local_response.status, ctx.local_response.content_type,
                          ctx.local_response.body, true, false, &ctx.response_edits, &client_head);
    } else {
      ctx.response_status = response.status;
      ctx.upstream_response = &response;
      filter.OnResponseHead(ctx);
      ctx.upstream_response = nullptr;
      BuildClientResponseHead(response, true, false, &client_head, &ctx.response_edits);
    }
    benchmark::DoNotOptimize(client_head.data());
  }
}

void BM_Cors_Preflight(benchmark::State& state) { RunCors(state, kPreflight, kResponse); }
BENCHMARK(BM_Cors_Preflight);

void BM_Cors_AllowedOrigin(benchmark::State& state) { RunCors(state, kAllowedGet, kResponse); }
BENCHMARK(BM_Cors_AllowedOrigin);

void BM_Cors_NoOrigin(benchmark::State& state) { RunCors(state, kPlainGet, kResponse); }
BENCHMARK(BM_Cors_NoOrigin);

void BM_Cors_UpstreamCorsFields(benchmark::State& state) {
  RunCors(state, kAllowedGet, kResponseWithCors);
}
BENCHMARK(BM_Cors_UpstreamCorsFields);

// The same exchange without the filter: the baseline the above add to.
void BM_Cors_Baseline(benchmark::State& state) {
  RunCors(state, kAllowedGet, kResponse, /*with_filter=*/false);
}
BENCHMARK(BM_Cors_Baseline);

void BM_Cors_OriginMatch(benchmark::State& state) {
  filters::CorsFilter filter(Spec());
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.OriginAllowed("https://deep.app.example.com"));
  }
}
BENCHMARK(BM_Cors_OriginMatch);

}  // namespace
}  // namespace icaht::proxy

BENCHMARK_MAIN();
