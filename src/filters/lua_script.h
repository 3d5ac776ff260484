#pragma once
// One loaded Lua middleware script (`lua` in the service record;
// filters/lua_filter.h runs it): a LuaJIT state of its own with the script
// run once, its on_request / on_response / on_log functions found, and the
// API below installed. One per service config per shard (never shared
// across threads), replaced as a whole when the file changes.
//
// The API a script sees (docs/plugins.md has the cookbook):
//   req:method() req:path() req:target() req:header(name) req:client_ip()
//   req:request_id() req:set_header(name, value) req:remove_header(name)
//   req:respond(status, body [, {name = value, ...}])
//   req:set_response_header(name, value)
//   resp:status() resp:set_status(n) resp:header(name)
//   resp:set_header(name, value) resp:add_header(name, value) resp:remove_header(name)
//   entry (on_log): a table {method, path, status, duration_ms, upstream,
//                    request_id, service, client_ip}
//   icaht.config (the record's config as a table), icaht.shared (a table for
//   the script's state: per shard, kept across calls, fresh after a
//   reload), icaht.shard, icaht.service, icaht.log(message)
// The edits go through filters/extension_api.h (same checks as native
// plugins); a refused edit raises a Lua error.
//
// Calls are bounded: LuaJIT's JIT is off for these states (hooks do not
// fire in compiled traces), and a count hook stops a call after
// kMaxInstructions VM instructions with a Lua error; a state allocates at
// most kMaxMemoryBytes. Only the base, table,
// string, math and bit libraries are opened (no io, os, package, ffi): a
// script talks to the world through its API.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "filters/request_context.h"

struct lua_State;

namespace icaht::filters {

class LuaScript {
 public:
  static constexpr int64_t kMaxInstructions = 10'000'000;
  // What one state may allocate; past it an allocation fails and the call
  // ends with a Lua "not enough memory" error (then a full collection gives
  // back what the failed call held).
  static constexpr size_t kMaxMemoryBytes = size_t{64} << 20;

  // Reads, compiles and runs `file` in a new state, with `config_json` (an
  // object) as icaht.config. Errors carry the script's message (with its
  // line) and are what the record's check reports.
  static absl::StatusOr<std::unique_ptr<LuaScript>> Load(const std::string& file,
                                                         std::string_view config_json,
                                                         std::string_view service,
                                                         uint32_t shard_index);
  ~LuaScript();
  LuaScript(const LuaScript&) = delete;
  LuaScript& operator=(const LuaScript&) = delete;

  bool has_on_request() const { return on_request_ != kNoRef; }
  bool has_on_response() const { return on_response_ != kNoRef; }
  bool has_on_log() const { return on_log_ != kNoRef; }

  // Each runs the function on `ctx` (extension::Begin done by the caller).
  // False on a Lua error (its message, with the line, in *error), a refused
  // edit, or the instruction limit.
  bool OnRequest(RequestContext& ctx, std::string* error);
  bool OnResponse(RequestContext& ctx, std::string* error);
  bool OnLog(const RequestContext& ctx, std::string* error);

  // The context a running call works on (for the API functions).
  RequestContext* current() const { return current_; }

 private:
  static constexpr int kNoRef = -2;  // LUA_NOREF
  LuaScript() = default;
  static void* Allocate(void* script, void* block, size_t old_size, size_t new_size);
  // Calls the function below the `args` values on top of the stack, within
  // the limits.
  bool Call(int args, std::string* error);

  lua_State* state_ = nullptr;
  int on_request_ = kNoRef;
  int on_response_ = kNoRef;
  int on_log_ = kNoRef;
  int req_ = kNoRef;   // the req object
  int resp_ = kNoRef;  // the resp object
  RequestContext* current_ = nullptr;
  size_t memory_ = 0;  // bytes the state holds
};

}  // namespace icaht::filters
