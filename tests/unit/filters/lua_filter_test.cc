// Lua middleware (filters/lua_filter.h, filters/lua_script.h) on scripts the
// test writes: the API (headers, path, method, local answers, icaht.config,
// icaht.shared), the response and log phases, errors and refused edits
// answered 500, a runaway loop stopped by the instruction limit (and the
// state usable after it), and a reload when the file changes.

#include "filters/lua_filter.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/timer_queue.h"
#include "filter_test_util.h"
#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::filters {
namespace lua_filter_test {

class LuaFilterTest : public ::testing::Test {
 protected:
  void SetUp() override { core::SetLoopNowNs(1'000'000'000); }
  void Write(const std::string& text) { std::ofstream(file_, std::ios::trunc) << text; }
  std::unique_ptr<LuaFilter> Make(const std::string& script, std::string config = "{}") {
    Write(script);
    return std::make_unique<LuaFilter>(LuaSpec{.file = file_, .config_json = std::move(config)},
                                       "svc", 1);
  }
  Verdict Request(LuaFilter& filter, const std::string& raw =
                                         "GET /a/b?x=1 HTTP/1.1\r\n"
                                         "Host: h\r\nX-Key: k1\r\n\r\n") {
    ctx_.Reset();
    SetRequestText(ctx_, raw);
    return filter.OnRequestHead(ctx_, callbacks_);
  }
  void ExpectFailure(Verdict verdict) {
    EXPECT_EQ(verdict, Verdict::kRespond);
    EXPECT_EQ(ctx_.local_response.status, 500);
  }
  std::string UpstreamHeader(std::string_view name) {
    const std::string_view* value = ctx_.upstream_edits.FindAdded(name);
    return value != nullptr ? std::string(*value) : "";
  }

  test::TempDir dir_{"lua-test"};
  std::string file_ = dir_.File("script.lua");
  RequestContext ctx_;
  NoCallbacks callbacks_;
};

TEST_F(LuaFilterTest, ReadsAndEditsTheRequest) {
  auto filter = Make(R"lua(
    function on_request(req)
      req:set_header("x-seen", req:method() .. " " .. req:path() .. " " .. req:header("x-key"))
      req:remove_header("x-key")
      req:set_header("x-config", icaht.config.greeting .. icaht.config.n[2])
      icaht.shared.count = (icaht.shared.count or 0) + 1
      req:set_header("x-count", tostring(icaht.shared.count))
      req:set_header("x-shard", tostring(icaht.shard))
    end)lua",
                     R"({"greeting": "hi", "n": [1, 2]})");
  ASSERT_TRUE(filter->loaded());
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-seen"), "GET /a/b k1");
  EXPECT_TRUE(ctx_.upstream_edits.Removes("x-key"));
  EXPECT_EQ(UpstreamHeader("x-config"), "hi2");
  EXPECT_EQ(UpstreamHeader("x-count"), "1");
  EXPECT_EQ(UpstreamHeader("x-shard"), "1");
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-count"), "2");  // icaht.shared persists
}

TEST_F(LuaFilterTest, AnswersLocally) {
  auto filter = Make(R"lua(
    local keys = {k1 = "alice"}
    function on_request(req)
      local who = keys[req:header("x-key") or ""]
      if not who then
        return req:respond(401, "who are you?\n", {["www-authenticate"] = "ApiKey"})
      end
      req:set_header("x-user", who)
    end)lua");
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-user"), "alice");
  EXPECT_EQ(Request(*filter, "GET / HTTP/1.1\r\nHost: h\r\nX-Key: bad\r\n\r\n"), Verdict::kRespond);
  EXPECT_EQ(ctx_.local_response.status, 401);
  EXPECT_EQ(ctx_.local_response.body, "who are you?\n");
  ASSERT_EQ(ctx_.local_response.fields.size(), 1u);
  EXPECT_EQ(ctx_.local_response.fields[0].value, "ApiKey");
}

TEST_F(LuaFilterTest, ErrorsAndRefusedEditsAnswer500) {
  auto filter = Make(R"lua(
    function on_request(req)
      local mode = req:header("x-mode")
      if mode == "error" then error("boom") end
      if mode == "nil" then local t = nil; return t.field end
      if mode == "crlf" then req:set_header("x-a", "v\r\nInjected: 1") end
      if mode == "framing" then req:set_header("content-length", "5") end
      if mode == "status" then req:respond(1000, "") end
    end)lua");
  for (const char* mode : {"error", "nil", "crlf", "framing", "status"}) {
    ExpectFailure(
        Request(*filter, std::string("GET / HTTP/1.1\r\nHost: h\r\nX-Mode: ") + mode + "\r\n\r\n"));
  }
  EXPECT_EQ(filter->failures(), 5u);
  EXPECT_EQ(Request(*filter), Verdict::kContinue);  // the state is still good
}

TEST_F(LuaFilterTest, RunawayLoopIsStopped) {
  auto filter = Make(R"lua(
    function on_request(req)
      if req:header("x-loop") then while true do end end
      req:set_header("x-ok", "1")
    end)lua");
  ExpectFailure(Request(*filter, "GET / HTTP/1.1\r\nHost: h\r\nX-Loop: 1\r\n\r\n"));
  EXPECT_EQ(filter->failures(), 1u);
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-ok"), "1");
}

TEST_F(LuaFilterTest, MemoryHogIsStopped) {
  auto filter = Make(R"lua(
    function on_request(req)
      if req:header("x-hog") then
        local t = {}
        for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
      end
      req:set_header("x-ok", "1")
    end)lua");
  ExpectFailure(Request(*filter, "GET / HTTP/1.1\r\nHost: h\r\nX-Hog: 1\r\n\r\n"));
  // What the failed call held was collected: the next call runs.
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-ok"), "1");
}

TEST_F(LuaFilterTest, ResponseAndLogPhases) {
  auto filter = Make(R"lua(
    function on_response(req, resp)
      resp:set_header("x-upstream-status", tostring(resp:status()))
      if req:path() == "/teapot" then resp:set_status(418) end
    end
    function on_log(entry)
      icaht.shared.last = entry.method .. " " .. entry.path .. " " .. entry.status
    end
    function on_request(req)
      if icaht.shared.last then req:set_header("x-last", icaht.shared.last) end
    end)lua");
  EXPECT_EQ(Request(*filter, "GET /teapot HTTP/1.1\r\nHost: h\r\n\r\n"), Verdict::kContinue);
  ctx_.response_status = 200;
  filter->OnResponseHead(ctx_);
  EXPECT_EQ(ctx_.response_edits.status(), 418);
  const std::string_view* added = ctx_.response_edits.FindAdded("x-upstream-status");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(*added, "200");
  filter->OnLog(ctx_);
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-last"), "GET /teapot 418");
}

TEST_F(LuaFilterTest, ReloadsAChangedScriptAndKeepsTheOldOnABadOne) {
  auto filter = Make(R"lua(function on_request(req) req:set_header("x-version", "1") end)lua");
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-version"), "1");
  Write(R"lua(function on_request(req) req:set_header("x-version", "two") end)lua");
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-version"), "1");  // looked at once a second only
  core::SetLoopNowNs(core::LoopNowNs() + LuaFilter::kCheckIntervalNs);
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-version"), "two");
  EXPECT_EQ(filter->reloads(), 1u);
  Write("function on_request(req) syntax error here");
  core::SetLoopNowNs(core::LoopNowNs() + LuaFilter::kCheckIntervalNs);
  EXPECT_EQ(Request(*filter), Verdict::kContinue);
  EXPECT_EQ(UpstreamHeader("x-version"), "two");
}

TEST_F(LuaFilterTest, LoadErrorsNameTheLine) {
  Write("local x = 1\nfunction on_request(req)\n  x = = 2\nend\n");
  absl::StatusOr<std::unique_ptr<LuaScript>> script = LuaScript::Load(file_, "{}", "svc", 0);
  ASSERT_FALSE(script.ok());
  EXPECT_NE(script.status().message().find("script.lua:3:"), std::string_view::npos)
      << script.status();
  Write("while true do end\n");
  script = LuaScript::Load(file_, "{}", "svc", 0);
  ASSERT_FALSE(script.ok());
  EXPECT_NE(script.status().message().find("instruction limit"), std::string_view::npos);
  Write("io.open('/etc/passwd')\n");
  EXPECT_FALSE(LuaScript::Load(file_, "{}", "svc", 0).ok());  // no io library
}

}  // namespace lua_filter_test
}  // namespace icaht::filters
