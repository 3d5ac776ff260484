// Micro benchmarks of custom middleware (issue 15): what one request pays for
// a native plugin (filters/plugin_filter.h) and for a Lua script
// (filters/lua_filter.h) on the request phase. Each iteration is one
// exchange's request phase on a context that keeps its parsed head (as a
// keep-alive connection's does), with the edits of the previous iteration
// cleared; "Baseline" is that clearing alone, to subtract.
// Goals: a no-op native plugin < 0.1 us, a Lua on_request setting one header
// < 1 us.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "core/check.h"
#include "core/timer_queue.h"
#include "filters/lua_filter.h"
#include "filters/plugin_filter.h"
#include "http/request_parser.h"

namespace icaht::filters {
namespace {

constexpr std::string_view kGet =
    "GET /orders/42 HTTP/1.1\r\nHost: 127.0.0.1:30101\r\nUser-Agent: wrk\r\n\r\n";

class NoCallbacks final : public FilterCallbacks {
 public:
  void Resume() override {}
  void RespondLocally() override {}
};

void* Create(const icaht_host_api* host, const char*, size_t, uint32_t) {
  return const_cast<icaht_host_api*>(host);
}
void Destroy(void*) {}
int Noop(void*, icaht_exchange*) { return ICAHT_CONTINUE; }
int SetHeader(void* host, icaht_exchange* x) {
  static_cast<const icaht_host_api*>(host)->set_request_header(x, "x-plugin", 8, "1", 1);
  return ICAHT_CONTINUE;
}

const icaht_plugin_v1 kNoop = {.abi_major = ICAHT_PLUGIN_ABI_MAJOR,
                               .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
                               .name = "noop",
                               .create = Create,
                               .destroy = Destroy,
                               .on_request = Noop};
const icaht_plugin_v1 kSetHeader = {.abi_major = ICAHT_PLUGIN_ABI_MAJOR,
                                    .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
                                    .name = "set_header",
                                    .create = Create,
                                    .destroy = Destroy,
                                    .on_request = SetHeader};

void SetUp(RequestContext& ctx) {
  http::RequestHead head;
  http::ParseError error;
  ICAHT_CHECK(http::ParseRequestHead(kGet, http::Limits{}, &head, &error) ==
              http::ParseStatus::kComplete);
  ctx.SetRequest(head, kGet);
}

// What a new exchange on the connection starts from (the parts the filters
// touch; RequestContext::Reset would also drop the head).
void Clear(RequestContext& ctx) {
  ctx.upstream_edits.Clear();
  ctx.extension.strings.Clear();
}

void RunFilter(benchmark::State& state, Filter* filter) {
  RequestContext ctx;
  SetUp(ctx);
  NoCallbacks callbacks;
  for (auto _ : state) {
    Clear(ctx);
    if (filter != nullptr) {
      Verdict verdict = filter->OnRequestHead(ctx, callbacks);
      benchmark::DoNotOptimize(verdict);
    }
    benchmark::DoNotOptimize(ctx.upstream_edits);
  }
}

void BM_Baseline(benchmark::State& state) { RunFilter(state, nullptr); }
BENCHMARK(BM_Baseline);

void RunPlugin(benchmark::State& state, const icaht_plugin_v1& table) {
  core::TimerQueue timers;
  PluginLibrary library{.path = "/bench.so", .name = table.name, .table = &table};
  PluginFilter filter(PluginSpec{.path = "/bench.so", .library = &library}, "svc", 0, &timers);
  RunFilter(state, &filter);
}

void BM_NativeNoop(benchmark::State& state) { RunPlugin(state, kNoop); }
BENCHMARK(BM_NativeNoop);

void BM_NativeSetHeader(benchmark::State& state) { RunPlugin(state, kSetHeader); }
BENCHMARK(BM_NativeSetHeader);

void RunLua(benchmark::State& state, const char* script) {
  char path[] = "/tmp/icaht-lua-bench-XXXXXX";
  int fd = mkstemp(path);
  ICAHT_CHECK(fd >= 0);
  close(fd);
  std::ofstream(path) << script;
  {
    LuaFilter filter(LuaSpec{.file = path}, "svc", 0);
    ICAHT_CHECK(filter.loaded());
    RunFilter(state, &filter);
    ICAHT_CHECK(filter.failures() == 0);
  }
  std::remove(path);
}

void BM_LuaNoop(benchmark::State& state) { RunLua(state, "function on_request(req) end\n"); }
BENCHMARK(BM_LuaNoop);

void BM_LuaSetHeader(benchmark::State& state) {
  RunLua(state, "function on_request(req) req:set_header('x-lua', 'yes') end\n");
}
BENCHMARK(BM_LuaSetHeader);

}  // namespace
}  // namespace icaht::filters

BENCHMARK_MAIN();
