#pragma once
// The record's `lua` field (Lua middleware, filters/lua_filter.h):
//
//   "lua": null   none, as when absent
//   "lua": {"file": "/etc/icaht/orders.lua", "config": {...}}
//
// `file` is an absolute path of 1..4096 bytes; that the script loads (reads,
// compiles and runs its top level) is checked when the record is applied,
// and a failure refused naming "lua.file" with the script's error and line.
// `config` is any object (absent or null: {}), kept as written, and seen by
// the script as icaht.config.
//
// Errors name the field ("field 'lua.file': must be an absolute path").

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/boxed.h"
#include "filters/lua_filter.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

absl::Status ParseLua(json::Value& value, const std::string& path,
                      core::Boxed<filters::LuaSpec>& out);
// ParseLua(WriteLua(s)) == s.
void WriteLua(JsonWriter& writer, const core::Boxed<filters::LuaSpec>& spec);

}  // namespace icaht::registry
