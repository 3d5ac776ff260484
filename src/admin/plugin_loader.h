#pragma once
// The control thread's side of native plugins: a record's plugins[].path is
// resolved with realpath and must lie inside --plugin-dir (so that whoever
// may register services cannot make the daemon run any shared object on the
// host), the library is loaded once per process (filters/plugin_library.h)
// and the plugin's validate callback, if it has one, checks the config.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "filters/plugin_filter.h"
#include "registry/service_record.h"

namespace icaht::admin {

// Fills each spec's library (and replaces its path with the real path).
// Refused, naming the field ("field 'plugins[1].path': ..."), when a path is
// outside `plugin_dir`, does not exist or does not load, or a config is
// refused by its plugin ("field 'plugins[1].config': ..."); `specs` may then
// be partly resolved.
absl::Status ResolvePlugins(std::vector<filters::PluginSpec>& specs, const std::string& plugin_dir);

// Loads the record's Lua script once (read, compile, run its top level) on
// this thread: refused as "field 'lua.file': <the error, with its line>".
absl::Status CheckLuaScript(const registry::ServiceRecord& record);

}  // namespace icaht::admin
