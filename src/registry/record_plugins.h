#pragma once
// The record's `plugins` field (native plugins, filters/plugin_filter.h):
//
//   "plugins": [{"path": "/usr/lib/icaht/plugins/libsign.so", "config": {...}}]
//
// Up to 8 entries, run in list order after the built-in filters. `path` is
// an absolute path of 1..4096 bytes; that it lies in --plugin-dir (after
// realpath) and loads is checked when the record is applied
// (admin/plugin_loader.h). `config` is any object (absent or null: {}), kept
// as the JSON text it was written as and handed to the plugin; the plugin's
// validate callback, if any, checks it then too. null or [] means none.
//
// Errors name the field ("field 'plugins[0].path': must be an absolute path").

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "filters/plugin_filter.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

inline constexpr size_t kMaxPlugins = 8;

// Shared with `lua` (registry/record_lua.h): an absolute path of 1..4096
// bytes, and a `config` object kept as its JSON text (null: "{}").
absl::StatusOr<std::string> ReadAbsolutePath(json::Value& value, const std::string& path);
absl::Status ReadConfigObject(json::Value& value, const std::string& path, std::string& out);

absl::Status ParsePlugins(json::Value& value, const std::string& path,
                          std::vector<filters::PluginSpec>& out);
// Every entry with its path and config. ParsePlugins(WritePlugins(s)) == s.
void WritePlugins(JsonWriter& writer, const std::vector<filters::PluginSpec>& specs);

}  // namespace icaht::registry
