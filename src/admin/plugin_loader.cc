#include "admin/plugin_loader.h"

#include <climits>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "filters/lua_script.h"
#include "filters/plugin_library.h"
#include "registry/json_reader.h"

namespace icaht::admin {
namespace {

absl::StatusOr<std::string> RealPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(realpath(path.c_str(), nullptr), &std::free);
  if (resolved == nullptr) return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
  return std::string(resolved.get());
}

}  // namespace

absl::Status ResolvePlugins(std::vector<filters::PluginSpec>& specs,
                            const std::string& plugin_dir) {
  if (specs.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> dir = RealPath(plugin_dir);
  for (size_t i = 0; i < specs.size(); ++i) {
    filters::PluginSpec& spec = specs[i];
    std::string field = registry::json::IndexPath("plugins", i);
    if (!dir.ok()) {
      return registry::json::FieldError(
          field + ".path", absl::StrCat("the plugin directory (--plugin-dir) is unusable: ",
                                        dir.status().message()));
    }
    absl::StatusOr<std::string> real = RealPath(spec.path);
    if (!real.ok())
      return registry::json::FieldError(field + ".path", std::string(real.status().message()));
    // Inside the directory after every link is followed: "../" and symbolic
    // links out of it are refused.
    if (!real->starts_with(*dir + "/")) {
      return registry::json::FieldError(
          field + ".path",
          absl::StrCat(spec.path, " is outside the plugin directory ", *dir, " (--plugin-dir)"));
    }
    absl::StatusOr<const filters::PluginLibrary*> library = filters::LoadPluginLibrary(*real);
    if (!library.ok()) {
      return registry::json::FieldError(field + ".path", std::string(library.status().message()));
    }
    if (absl::Status valid = filters::ValidatePluginConfig(**library, spec.config_json);
        !valid.ok()) {
      return registry::json::FieldError(field + ".config", std::string(valid.message()));
    }
    spec.path = *std::move(real);
    spec.library = *library;
  }
  return absl::OkStatus();
}

absl::Status CheckLuaScript(const registry::ServiceRecord& record) {
  if (!record.lua) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<filters::LuaScript>> script =
      filters::LuaScript::Load(record.lua->file, record.lua->config_json, record.name, 0);
  if (!script.ok()) {
    return registry::json::FieldError("lua.file", std::string(script.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace icaht::admin
