#include "filters/lua_script.h"

#include <cstdlib>
#include <lua.hpp>
#include <utility>

#include "core/log.h"
#include "filters/extension_api.h"
#include "icaht/plugin.h"
#include "simdjson.h"

namespace icaht::filters {
namespace {

constexpr int kHookEvery = 1000;  // VM instructions between two count hooks
// The calls left to the running call's count hook (shard-local: a state runs
// on one thread, one call at a time).
thread_local int64_t hook_budget = 0;

void CountHook(lua_State* state, lua_Debug*) {
  if (--hook_budget > 0) return;
  luaL_where(state, 0);
  lua_pushfstring(state, "instruction limit (%d) exceeded",
                  static_cast<int>(LuaScript::kMaxInstructions));
  lua_concat(state, 2);
  lua_error(state);
}

std::string_view ToView(lua_State* state, int index) {
  size_t len = 0;
  const char* text = luaL_checklstring(state, index, &len);
  return {text, len};
}

void Push(lua_State* state, std::string_view text) {
  lua_pushlstring(state, text.data(), text.size());
}

LuaScript& Self(lua_State* state) {
  return *static_cast<LuaScript*>(lua_touserdata(state, lua_upvalueindex(1)));
}

RequestContext& Current(lua_State* state) {
  RequestContext* ctx = Self(state).current();
  if (ctx == nullptr) luaL_error(state, "an exchange's API called outside its call");
  return *ctx;
}

// A refused edit: a Lua error at the script's line with the reason.
int Refused(lua_State* state, const RequestContext& ctx) {
  luaL_where(state, 1);
  Push(state, ctx.extension.failure);
  lua_concat(state, 2);
  return lua_error(state);
}

int Checked(lua_State* state, const RequestContext& ctx, int result) {
  return result == ICAHT_OK ? 0 : Refused(state, ctx);
}

// ---- req ---------------------------------------------------------------------

int ReqMethod(lua_State* s) { return Push(s, Current(s).request().method), 1; }
int ReqPath(lua_State* s) { return Push(s, Current(s).path()), 1; }
int ReqTarget(lua_State* s) { return Push(s, Current(s).request().target), 1; }
int ReqClientIp(lua_State* s) { return Push(s, Current(s).client_ip), 1; }
int ReqRequestId(lua_State* s) { return Push(s, Current(s).request_id), 1; }

// A field's value, or nil.
int PushField(lua_State* s, std::optional<std::string_view> value) {
  if (value) {
    Push(s, *value);
  } else {
    lua_pushnil(s);
  }
  return 1;
}

int ReqHeader(lua_State* s) {
  return PushField(s, extension::RequestHeader(Current(s), ToView(s, 2)));
}

int ReqSetHeader(lua_State* s) {
  RequestContext& ctx = Current(s);
  return Checked(s, ctx, extension::SetRequestHeader(ctx, ToView(s, 2), ToView(s, 3)));
}

int ReqRemoveHeader(lua_State* s) {
  RequestContext& ctx = Current(s);
  return Checked(s, ctx, extension::RemoveRequestHeader(ctx, ToView(s, 2)));
}

int ReqSetResponseHeader(lua_State* s) {
  RequestContext& ctx = Current(s);
  return Checked(s, ctx, extension::SetResponseHeader(ctx, ToView(s, 2), ToView(s, 3), false));
}

int ReqRespond(lua_State* s) {
  RequestContext& ctx = Current(s);
  const int status = static_cast<int>(luaL_checkinteger(s, 2));
  std::string_view body = lua_isnoneornil(s, 3) ? std::string_view() : ToView(s, 3);
  if (lua_istable(s, 4)) {
    lua_pushnil(s);
    while (lua_next(s, 4) != 0) {
      // Key at -2, value at -1: checked as strings without converting the key
      // in place (lua_next needs it as it was).
      if (lua_type(s, -2) != LUA_TSTRING) luaL_error(s, "respond(): header names must be strings");
      size_t name_len = 0, value_len = 0;
      const char* name = lua_tolstring(s, -2, &name_len);
      const char* value = luaL_checklstring(s, -1, &value_len);
      Checked(s, ctx,
              extension::SetResponseHeader(ctx, {name, name_len}, {value, value_len}, false));
      lua_pop(s, 1);
    }
  }
  return Checked(s, ctx, extension::Respond(ctx, status, body));
}

// ---- resp --------------------------------------------------------------------

int RespStatus(lua_State* s) {
  lua_pushinteger(s, extension::Status(Current(s)));
  return 1;
}

int RespSetStatus(lua_State* s) {
  RequestContext& ctx = Current(s);
  return Checked(s, ctx, extension::SetStatus(ctx, static_cast<int>(luaL_checkinteger(s, 2))));
}

int RespHeader(lua_State* s) {
  return PushField(s, extension::ResponseHeader(Current(s), ToView(s, 2)));
}

int RespSetOrAdd(lua_State* s, bool add) {
  RequestContext& ctx = Current(s);
  return Checked(s, ctx, extension::SetResponseHeader(ctx, ToView(s, 2), ToView(s, 3), add));
}
int RespSetHeader(lua_State* s) { return RespSetOrAdd(s, false); }
int RespAddHeader(lua_State* s) { return RespSetOrAdd(s, true); }

int RespRemoveHeader(lua_State* s) {
  RequestContext& ctx = Current(s);
  return Checked(s, ctx, extension::RemoveResponseHeader(ctx, ToView(s, 2)));
}

// ---- icaht -------------------------------------------------------------------

int Log(lua_State* s) {
  const char* service = lua_tostring(s, lua_upvalueindex(1));
  core::Log(core::LogLevel::kInfo, "lua (service '", service, "'): ", std::string(ToView(s, 1)));
  return 0;
}

// Pushes a table of `functions`, each a closure over `script`.
void PushObject(lua_State* s, LuaScript* script,
                std::initializer_list<std::pair<const char*, lua_CFunction>> functions) {
  lua_createtable(s, 0, static_cast<int>(functions.size()));
  for (const auto& [name, function] : functions) {
    lua_pushlightuserdata(s, script);
    lua_pushcclosure(s, function, 1);
    lua_setfield(s, -2, name);
  }
}

// Pushes a JSON value (simdjson DOM) as Lua: objects and arrays as tables
// (arrays from 1), null as nil in a table is left out.
void PushJson(lua_State* s, simdjson::dom::element element) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      lua_newtable(s);
      simdjson::dom::object object;
      if (element.get_object().get(object) != simdjson::SUCCESS) return;
      for (simdjson::dom::key_value_pair field : object) {
        if (field.value.is_null()) continue;
        Push(s, {field.key.data(), field.key.size()});
        PushJson(s, field.value);
        lua_rawset(s, -3);
      }
      return;
    }
    case Type::ARRAY: {
      lua_newtable(s);
      simdjson::dom::array array;
      if (element.get_array().get(array) != simdjson::SUCCESS) return;
      int i = 0;
      for (simdjson::dom::element value : array) {
        ++i;
        if (value.is_null()) continue;
        PushJson(s, value);
        lua_rawseti(s, -2, i);
      }
      return;
    }
    case Type::STRING: {
      std::string_view text = element.get_string().value_unsafe();
      Push(s, text);
      return;
    }
    case Type::INT64:
    case Type::UINT64:
    case Type::DOUBLE:
      lua_pushnumber(s, element.get_double().value_unsafe());
      return;
    case Type::BOOL:
      lua_pushboolean(s, element.get_bool().value_unsafe());
      return;
    case Type::NULL_VALUE:
      lua_pushnil(s);
      return;
  }
}

void OpenLibraries(lua_State* s) {
  struct Library {
    const char* name;
    lua_CFunction open;
  };
  for (const Library& library :
       {Library{"", luaopen_base}, Library{LUA_TABLIBNAME, luaopen_table},
        Library{LUA_STRLIBNAME, luaopen_string}, Library{LUA_MATHLIBNAME, luaopen_math},
        Library{LUA_BITLIBNAME, luaopen_bit}}) {
    lua_pushcfunction(s, library.open);
    lua_pushstring(s, library.name);
    lua_call(s, 1, 0);
  }
  // The base library's doors to the file system.
  for (const char* name : {"dofile", "loadfile"}) {
    lua_pushnil(s);
    lua_setglobal(s, name);
  }
}

int RefGlobalFunction(lua_State* s, const char* name) {
  lua_getglobal(s, name);
  if (!lua_isfunction(s, -1)) {
    lua_pop(s, 1);
    return LUA_NOREF;
  }
  return luaL_ref(s, LUA_REGISTRYINDEX);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LuaScript>> LuaScript::Load(const std::string& file,
                                                           std::string_view config_json,
                                                           std::string_view service,
                                                           uint32_t shard_index) {
  std::unique_ptr<LuaScript> script(new LuaScript);
  lua_State* s = lua_newstate(&LuaScript::Allocate, script.get());
  if (s == nullptr) return absl::ResourceExhaustedError("cannot make a Lua state");
  script->state_ = s;
  luaJIT_setmode(s, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  OpenLibraries(s);
  lua_sethook(s, CountHook, LUA_MASKCOUNT, kHookEvery);

  simdjson::dom::parser parser;
  simdjson::dom::element config;
  if (parser.parse(config_json.data(), config_json.size()).get(config) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("config is not valid JSON");
  }
  lua_newtable(s);  // icaht
  PushJson(s, config);
  lua_setfield(s, -2, "config");
  lua_newtable(s);
  lua_setfield(s, -2, "shared");
  lua_pushinteger(s, shard_index);
  lua_setfield(s, -2, "shard");
  Push(s, service);
  lua_setfield(s, -2, "service");
  Push(s, service);
  lua_pushcclosure(s, Log, 1);
  lua_setfield(s, -2, "log");
  lua_setglobal(s, "icaht");

  LuaScript* self = script.get();
  PushObject(s, self,
             {{"method", ReqMethod},
              {"path", ReqPath},
              {"target", ReqTarget},
              {"client_ip", ReqClientIp},
              {"request_id", ReqRequestId},
              {"header", ReqHeader},
              {"set_header", ReqSetHeader},
              {"remove_header", ReqRemoveHeader},
              {"set_response_header", ReqSetResponseHeader},
              {"respond", ReqRespond}});
  script->req_ = luaL_ref(s, LUA_REGISTRYINDEX);
  PushObject(s, self,
             {{"status", RespStatus},
              {"set_status", RespSetStatus},
              {"header", RespHeader},
              {"set_header", RespSetHeader},
              {"add_header", RespAddHeader},
              {"remove_header", RespRemoveHeader}});
  script->resp_ = luaL_ref(s, LUA_REGISTRYINDEX);

  std::string error;
  if (luaL_loadfile(s, file.c_str()) != 0) {
    error = lua_tostring(s, -1);
    return absl::InvalidArgumentError(error);
  }
  if (!script->Call(0, &error)) return absl::InvalidArgumentError(error);
  script->on_request_ = RefGlobalFunction(s, "on_request");
  script->on_response_ = RefGlobalFunction(s, "on_response");
  script->on_log_ = RefGlobalFunction(s, "on_log");
  return script;
}

// LuaJIT's allocation function (GC64 builds take a custom one), counting
// against kMaxMemoryBytes.
void* LuaScript::Allocate(void* script, void* block, size_t old_size, size_t new_size) {
  auto* self = static_cast<LuaScript*>(script);
  const size_t held = block != nullptr ? old_size : 0;
  if (new_size == 0) {
    self->memory_ -= held;
    std::free(block);
    return nullptr;
  }
  if (self->memory_ - held + new_size > kMaxMemoryBytes) return nullptr;
  void* grown = std::realloc(block, new_size);
  if (grown != nullptr) self->memory_ = self->memory_ - held + new_size;
  return grown;
}

LuaScript::~LuaScript() {
  if (state_ != nullptr) lua_close(state_);
}

bool LuaScript::Call(int args, std::string* error) {
  hook_budget = kMaxInstructions / kHookEvery;
  const int result = lua_pcall(state_, args, 0, 0);
  if (result == 0) return true;
  const char* message = lua_tostring(state_, -1);
  *error = message != nullptr ? message : "a Lua error that is not a string";
  lua_pop(state_, 1);
  if (result == LUA_ERRMEM) {
    *error += " (a script's state may hold 64 MiB)";
    // What the failed call allocated is garbage now: collect it, so that the
    // next call does not start at the limit.
    lua_gc(state_, LUA_GCCOLLECT, 0);
  }
  return false;
}

bool LuaScript::OnRequest(RequestContext& ctx, std::string* error) {
  current_ = &ctx;
  lua_rawgeti(state_, LUA_REGISTRYINDEX, on_request_);
  lua_rawgeti(state_, LUA_REGISTRYINDEX, req_);
  bool ok = Call(1, error);
  current_ = nullptr;
  return ok;
}

bool LuaScript::OnResponse(RequestContext& ctx, std::string* error) {
  current_ = &ctx;
  lua_rawgeti(state_, LUA_REGISTRYINDEX, on_response_);
  lua_rawgeti(state_, LUA_REGISTRYINDEX, req_);
  lua_rawgeti(state_, LUA_REGISTRYINDEX, resp_);
  bool ok = Call(2, error);
  current_ = nullptr;
  return ok;
}

bool LuaScript::OnLog(const RequestContext& ctx, std::string* error) {
  lua_rawgeti(state_, LUA_REGISTRYINDEX, on_log_);
  lua_createtable(state_, 0, 8);
  auto field = [&](const char* name, std::string_view value) {
    Push(state_, value);
    lua_setfield(state_, -2, name);
  };
  field("method", ctx.has_request() ? ctx.request().method : std::string_view());
  field("path", ctx.has_request() ? ctx.path() : std::string_view());
  field("upstream", ctx.upstream_address);
  field("request_id", ctx.request_id);
  field("service", ctx.service_name);
  field("client_ip", ctx.client_ip);
  lua_pushinteger(state_, ctx.response_status);
  lua_setfield(state_, -2, "status");
  lua_pushnumber(state_, static_cast<double>(extension::DurationUs(ctx)) / 1000.0);
  lua_setfield(state_, -2, "duration_ms");
  return Call(1, error);
}

}  // namespace icaht::filters
