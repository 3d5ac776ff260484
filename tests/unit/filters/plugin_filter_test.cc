// The native plugin host (filters/plugin_library.h, filters/plugin_filter.h):
// ABI version checks on a table and on real shared objects, and the filter
// driven by a table of test callbacks whose behaviour each test picks: edits
// that reach the heads, local answers, a pause resumed from a timer, and
// every bad return value (unknown verdicts, RESPOND without an answer, PAUSE
// without a timer, invalid or oversized headers) answered 500.

#include "filters/plugin_filter.h"

#include <climits>
#include <functional>
#include <string>

#include "filter_test_util.h"
#include "filters/plugin_library.h"
#include "gtest/gtest.h"

namespace icaht::filters {
namespace plugin_filter_test {

// What the test table's callbacks do: set by each test.
struct Script {
  std::function<int(const icaht_host_api*, icaht_exchange*)> on_request;
  std::function<int(const icaht_host_api*, icaht_exchange*)> on_response;
  std::function<void(const icaht_host_api*, icaht_exchange*)> on_timer;
  int cancels = 0;
  int destroyed = 0;
  uint32_t shard = UINT32_MAX;
  std::string config;
  std::string log_line;
  bool fail_create = false;
};
Script* script = nullptr;

void* Create(const icaht_host_api* host, const char* json, size_t len, uint32_t shard) {
  script->shard = shard;
  script->config.assign(json, len);
  return script->fail_create ? nullptr : const_cast<icaht_host_api*>(host);
}
void Destroy(void*) { ++script->destroyed; }
int OnRequest(void* instance, icaht_exchange* x) {
  return script->on_request(static_cast<const icaht_host_api*>(instance), x);
}
int OnResponse(void* instance, icaht_exchange* x) {
  return script->on_response ? script->on_response(static_cast<const icaht_host_api*>(instance), x)
                             : ICAHT_CONTINUE;
}
void OnCancel(void*, icaht_exchange*) { ++script->cancels; }
void OnTimer(void* instance, icaht_exchange* x, void*) {
  script->on_timer(static_cast<const icaht_host_api*>(instance), x);
}

void OnLog(void* instance, const icaht_exchange* x) {
  auto* h = static_cast<const icaht_host_api*>(instance);
  icaht_str upstream = h->upstream(x), id = h->request_id(x), method = h->method(x);
  script->log_line = std::string(method.data, method.len) + " " + std::to_string(h->status(x)) +
                     " " + std::to_string(h->duration_us(x)) + " " +
                     std::string(upstream.data, upstream.len) + " " + std::string(id.data, id.len);
}

const icaht_plugin_v1 kTable = {.abi_major = ICAHT_PLUGIN_ABI_MAJOR,
                                .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
                                .name = "test",
                                .create = Create,
                                .destroy = Destroy,
                                .on_request = OnRequest,
                                .on_response = OnResponse,
                                .on_log = OnLog,
                                .on_cancel = OnCancel};
const PluginLibrary kLibrary = {.path = "/test.so", .name = "test", .table = &kTable};

int Set(const icaht_host_api* h, icaht_exchange* x, std::string_view name, std::string_view value) {
  return h->set_request_header(x, name.data(), name.size(), value.data(), value.size());
}

class PluginFilterTest : public ::testing::Test {
 protected:
  void SetUp() override { script = &script_; }
  void TearDown() override { script = nullptr; }

  std::unique_ptr<PluginFilter> Make(std::string config = "{\"a\": 1}") {
    PluginSpec spec{.path = "/test.so", .config_json = std::move(config), .library = &kLibrary};
    return std::make_unique<PluginFilter>(spec, "svc", 3, &timers_);
  }
  Verdict Request(PluginFilter& filter, FilterCallbacks& callbacks) {
    ctx_.Reset();
    SetRequestText(ctx_, "GET /p/q?x=1 HTTP/1.1\r\nHost: h\r\nX-In: one\r\n\r\n");
    return filter.OnRequestHead(ctx_, callbacks);
  }
  void ExpectFailure(Verdict verdict) {
    EXPECT_EQ(verdict, Verdict::kRespond);
    EXPECT_EQ(ctx_.local_response.status, 500);
    EXPECT_EQ(ctx_.local_response.body, "middleware error\n");
  }

  Script script_;
  core::TimerQueue timers_;
  RequestContext ctx_;
  NoCallbacks none_;
};

TEST(PluginTableTest, VersionChecks) {
  EXPECT_TRUE(CheckPluginTable(&kTable, "/p.so").ok());
  EXPECT_EQ(CheckPluginTable(nullptr, "/p.so").code(), absl::StatusCode::kInvalidArgument);
  icaht_plugin_v1 table = kTable;
  table.abi_major = ICAHT_PLUGIN_ABI_MAJOR + 1;
  absl::Status major = CheckPluginTable(&table, "/p.so");
  EXPECT_EQ(major.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(major.message().find("built for plugin ABI 2.0"), std::string_view::npos) << major;
  EXPECT_NE(major.message().find("the major versions differ"), std::string_view::npos) << major;
  table = kTable;
  table.abi_minor = ICAHT_PLUGIN_ABI_MINOR + 1;
  EXPECT_EQ(CheckPluginTable(&table, "/p.so").code(), absl::StatusCode::kFailedPrecondition);
  table = kTable;
  table.create = nullptr;
  EXPECT_EQ(CheckPluginTable(&table, "/p.so").code(), absl::StatusCode::kInvalidArgument);
}

TEST(PluginLibraryTest, LoadsOnceAndRefusesAnotherMajor) {
  absl::StatusOr<const PluginLibrary*> first = LoadPluginLibrary(HMAC_PLUGIN);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->name, "hmac_sign");
  absl::StatusOr<const PluginLibrary*> again = LoadPluginLibrary(HMAC_PLUGIN);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_FALSE(ValidatePluginConfig(**first, "{}").ok());
  EXPECT_TRUE(ValidatePluginConfig(**first, R"({"key": "k"})").ok());

  absl::StatusOr<const PluginLibrary*> v2 = LoadPluginLibrary(ABI_V2_PLUGIN);
  EXPECT_EQ(v2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(LoadPluginLibrary("/nonexistent/plugin.so").ok());
}

TEST_F(PluginFilterTest, InstancePerFilterWithConfigAndShard) {
  script_.on_request = [](auto, auto) { return ICAHT_CONTINUE; };
  {
    auto filter = Make(R"({"k": "v"})");
    EXPECT_TRUE(filter->has_instance());
    EXPECT_EQ(script_.shard, 3u);
    EXPECT_EQ(script_.config, R"({"k": "v"})");
  }
  EXPECT_EQ(script_.destroyed, 1);
}

TEST_F(PluginFilterTest, ReadsAndEditsTheRequest) {
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    icaht_str method = h->method(x), path = h->path(x), value{};
    EXPECT_EQ(std::string_view(method.data, method.len), "GET");
    EXPECT_EQ(std::string_view(path.data, path.len), "/p/q");
    EXPECT_EQ(h->request_header(x, "x-in", 4, &value), 1);
    EXPECT_EQ(std::string_view(value.data, value.len), "one");
    EXPECT_EQ(h->request_header(x, "x-none", 6, &value), 0);
    EXPECT_EQ(Set(h, x, "X-Sig", "abc"), ICAHT_OK);
    EXPECT_EQ(Set(h, x, "X-Sig", "def"), ICAHT_OK);  // replaces
    EXPECT_EQ(h->request_header(x, "x-sig", 5, &value), 1);
    EXPECT_EQ(std::string_view(value.data, value.len), "def");
    EXPECT_EQ(h->remove_request_header(x, "X-In", 4), ICAHT_OK);
    EXPECT_EQ(h->request_header(x, "x-in", 4, &value), 0);
    EXPECT_EQ(h->status(x), 0);
    return ICAHT_CONTINUE;
  };
  auto filter = Make();
  EXPECT_EQ(Request(*filter, none_), Verdict::kContinue);
  ASSERT_EQ(ctx_.upstream_edits.added().size(), 1u);
  EXPECT_EQ(ctx_.upstream_edits.added()[0].value, "def");
  EXPECT_TRUE(ctx_.upstream_edits.Removes("x-in"));
}

TEST_F(PluginFilterTest, AnswersLocally) {
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    EXPECT_EQ(h->set_response_header(x, "retry-after", 11, "5", 1), ICAHT_OK);
    EXPECT_EQ(h->set_response_header(x, "content-type", 12, "application/json", 16), ICAHT_OK);
    EXPECT_EQ(h->respond(x, 503, "{}", 2), ICAHT_OK);
    return ICAHT_RESPOND;
  };
  auto filter = Make();
  EXPECT_EQ(Request(*filter, none_), Verdict::kRespond);
  EXPECT_EQ(ctx_.local_response.status, 503);
  EXPECT_EQ(ctx_.local_response.body, "{}");
  EXPECT_EQ(ctx_.local_response.content_type, "application/json");
  ASSERT_EQ(ctx_.local_response.fields.size(), 1u);
  EXPECT_EQ(ctx_.local_response.fields[0].name, "retry-after");
}

TEST_F(PluginFilterTest, BadReturnValuesAnswer500) {
  auto filter = Make();
  script_.on_request = [](auto, auto) { return 7; };
  ExpectFailure(Request(*filter, none_));
  script_.on_request = [](auto, auto) { return ICAHT_RESPOND; };  // no respond()
  ExpectFailure(Request(*filter, none_));
  script_.on_request = [](auto, auto) { return ICAHT_PAUSE; };  // no timer
  ExpectFailure(Request(*filter, none_));
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    h->resume(x, ICAHT_CONTINUE);  // not paused
    return ICAHT_CONTINUE;
  };
  ExpectFailure(Request(*filter, none_));
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    h->after_ms(x, 10, OnTimer, nullptr);
    h->respond(x, 200, "", 0);
    return ICAHT_RESPOND;  // with a timer armed
  };
  ExpectFailure(Request(*filter, none_));
  EXPECT_EQ(filter->paused_now(), 0u);  // the timer is gone with the exchange
  EXPECT_EQ(filter->failures(), 5u);
}

TEST_F(PluginFilterTest, InvalidOrOversizedHeadersAnswer500) {
  auto filter = Make();
  const std::string big(ICAHT_MAX_HEADER_VALUE + 1, 'a');
  const std::string long_name(ICAHT_MAX_HEADER_NAME + 1, 'a');
  struct Case {
    std::string name, value;
    int error;
  };
  for (const Case& c : std::vector<Case>{{"bad name", "v", ICAHT_EINVAL},
                                         {"x-a", "v\r\nInjected: 1", ICAHT_EINVAL},
                                         {"x-a", std::string("v\0w", 3), ICAHT_EINVAL},
                                         {"", "v", ICAHT_EINVAL},
                                         {"content-length", "1", ICAHT_EINVAL},
                                         {"Transfer-Encoding", "chunked", ICAHT_EINVAL},
                                         {"x-a", big, ICAHT_ETOOBIG},
                                         {long_name, "v", ICAHT_ETOOBIG}}) {
    script_.on_request = [&](const icaht_host_api* h, icaht_exchange* x) {
      EXPECT_EQ(Set(h, x, c.name, c.value), c.error) << c.name;
      return ICAHT_CONTINUE;  // the host answers 500 anyway
    };
    ExpectFailure(Request(*filter, none_));
  }
  // Many small fields add up to the per-exchange limit.
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    const std::string value(4000, 'v');
    int result = ICAHT_OK;
    for (int i = 0; i < 40 && result == ICAHT_OK; ++i) {
      result = Set(h, x, "x-" + std::to_string(i), value);
    }
    EXPECT_EQ(result, ICAHT_ETOOBIG);
    return ICAHT_CONTINUE;
  };
  ExpectFailure(Request(*filter, none_));
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    EXPECT_EQ(h->respond(x, 99, "", 0), ICAHT_EINVAL);
    return ICAHT_RESPOND;
  };
  ExpectFailure(Request(*filter, none_));
}

TEST_F(PluginFilterTest, PausesAndResumesFromATimer) {
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    EXPECT_EQ(h->after_ms(x, 50, OnTimer, nullptr), ICAHT_OK);
    return ICAHT_PAUSE;
  };
  script_.on_timer = [](const icaht_host_api* h, icaht_exchange* x) {
    EXPECT_EQ(Set(h, x, "x-late", "1"), ICAHT_OK);
    h->resume(x, ICAHT_CONTINUE);
  };
  auto filter = Make();
  CountingCallbacks callbacks;
  EXPECT_EQ(Request(*filter, callbacks), Verdict::kPause);
  EXPECT_EQ(filter->paused_now(), 1u);
  timers_.FireExpired(core::LoopNowNs() + 49'000'000);
  EXPECT_EQ(callbacks.resumed, 0);
  timers_.FireExpired(core::LoopNowNs() + 51'000'000);
  EXPECT_EQ(callbacks.resumed, 1);
  EXPECT_EQ(filter->paused_now(), 0u);
  ASSERT_EQ(ctx_.upstream_edits.added().size(), 1u);
  EXPECT_EQ(ctx_.upstream_edits.added()[0].name, "x-late");
}

TEST_F(PluginFilterTest, TimerCallbackThatForgetsToResumeAnswers500) {
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    h->after_ms(x, 1, OnTimer, nullptr);
    return ICAHT_PAUSE;
  };
  script_.on_timer = [](auto, auto) {};
  auto filter = Make();
  CountingCallbacks callbacks;
  EXPECT_EQ(Request(*filter, callbacks), Verdict::kPause);
  timers_.FireExpired(INT64_MAX - 1);
  EXPECT_EQ(callbacks.responded, 1);
  EXPECT_EQ(ctx_.local_response.status, 500);
}

TEST_F(PluginFilterTest, ResumeWithALocalAnswerAndCancel) {
  script_.on_request = [](const icaht_host_api* h, icaht_exchange* x) {
    h->after_ms(x, 1, OnTimer, nullptr);
    return ICAHT_PAUSE;
  };
  script_.on_timer = [](const icaht_host_api* h, icaht_exchange* x) {
    h->respond(x, 429, "later\n", 6);
    h->resume(x, ICAHT_RESPOND);
  };
  auto filter = Make();
  CountingCallbacks callbacks;
  EXPECT_EQ(Request(*filter, callbacks), Verdict::kPause);
  timers_.FireExpired(INT64_MAX - 1);
  EXPECT_EQ(callbacks.responded, 1);
  EXPECT_EQ(ctx_.local_response.status, 429);

  EXPECT_EQ(Request(*filter, callbacks), Verdict::kPause);
  filter->OnCancel(ctx_);
  EXPECT_EQ(script_.cancels, 1);
  EXPECT_EQ(filter->paused_now(), 0u);
  timers_.FireExpired(INT64_MAX - 1);  // disarmed: nothing more happens
  EXPECT_EQ(callbacks.responded, 1);
}

TEST_F(PluginFilterTest, ResponsePhaseEditsAndFailures) {
  script_.on_request = [](auto, auto) { return ICAHT_CONTINUE; };
  script_.on_response = [](const icaht_host_api* h, icaht_exchange* x) {
    EXPECT_EQ(h->status(x), 200);
    EXPECT_EQ(h->set_status(x, 418), ICAHT_OK);
    EXPECT_EQ(h->set_response_header(x, "x-out", 5, "1", 1), ICAHT_OK);
    EXPECT_EQ(h->set_request_header(x, "x-a", 3, "1", 1), ICAHT_EINVAL);  // too late
    return ICAHT_CONTINUE;
  };
  auto filter = Make();
  EXPECT_EQ(Request(*filter, none_), Verdict::kContinue);
  ctx_.response_status = 200;
  filter->OnResponseHead(ctx_);
  // The request-header edit in the wrong phase failed the call: 500.
  EXPECT_EQ(ctx_.response_edits.status(), 500);

  script_.on_response = [](const icaht_host_api* h, icaht_exchange* x) {
    EXPECT_EQ(h->set_status(x, 418), ICAHT_OK);
    return ICAHT_CONTINUE;
  };
  EXPECT_EQ(Request(*filter, none_), Verdict::kContinue);
  ctx_.response_status = 200;
  filter->OnResponseHead(ctx_);
  EXPECT_EQ(ctx_.response_edits.status(), 418);
  EXPECT_EQ(ctx_.response_status, 418);

  script_.on_response = [](auto, auto) { return ICAHT_PAUSE; };
  EXPECT_EQ(Request(*filter, none_), Verdict::kContinue);
  ctx_.response_status = 204;  // bodiless: the status stays, the failure is logged
  filter->OnResponseHead(ctx_);
  EXPECT_EQ(ctx_.response_edits.status(), 0);
}

TEST_F(PluginFilterTest, LogPhaseReadsTheExchange) {
  script_.on_request = [](auto, auto) { return ICAHT_CONTINUE; };
  auto filter = Make();
  EXPECT_EQ(Request(*filter, none_), Verdict::kContinue);
  ctx_.response_status = 201;
  ctx_.start_ns = 1'000'000;
  ctx_.end_ns = 3'500'000;
  ctx_.upstream_address = "127.0.0.1:8080";
  ctx_.request_id = "id-1";
  filter->OnLog(ctx_);
  EXPECT_EQ(script_.log_line, "GET 201 2500 127.0.0.1:8080 id-1");
}

TEST_F(PluginFilterTest, FailedCreateAnswers500) {
  script_.fail_create = true;
  script_.on_request = [](auto, auto) { return ICAHT_CONTINUE; };
  auto filter = Make();
  EXPECT_FALSE(filter->has_instance());
  ExpectFailure(Request(*filter, none_));
  filter.reset();
  EXPECT_EQ(script_.destroyed, 0);
}

}  // namespace plugin_filter_test
}  // namespace icaht::filters
