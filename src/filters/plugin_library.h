#pragma once
// Native plugin libraries (include/icaht/plugin.h): loaded with dlopen once
// per process, checked, and kept for the process's life (never dlclose'd:
// instances on every shard hold its function pointers, and unloading code
// that may still be on a stack is a crash waiting to happen).
//
// Control thread only (registration, config reload); the process-wide table
// is guarded by a mutex, which is never taken on the request path: shards get
// the loaded library's pointer in their config.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "icaht/plugin.h"

namespace icaht::filters {

struct PluginLibrary {
  std::string path;  // the real path it was loaded from
  std::string name;  // the table's name
  const icaht_plugin_v1* table = nullptr;
};

// Checks what a plugin's icaht_plugin_init returned against this host
// (ICAHT_PLUGIN_ABI_MAJOR/MINOR): FailedPrecondition with a message naming
// `path` and both versions when the major differs or the minor is newer than
// the host's, InvalidArgument when the table is null or lacks create/destroy.
absl::Status CheckPluginTable(const icaht_plugin_v1* table, std::string_view path);

// The library at `real_path` (already resolved with realpath), loaded and
// checked on first use. Errors say what failed (dlopen's message, a missing
// icaht_plugin_init, CheckPluginTable's); a failed load is not remembered, so
// a fixed file loads on the next try.
absl::StatusOr<const PluginLibrary*> LoadPluginLibrary(const std::string& real_path);

// Validates a service's plugin config with the library's validate callback
// (when it has one): InvalidArgument with the plugin's reason.
absl::Status ValidatePluginConfig(const PluginLibrary& library, std::string_view config_json);

// The host's function table (filters/plugin_filter.cc), for tests that drive
// a table directly.
const icaht_host_api* PluginHostApi();

}  // namespace icaht::filters
