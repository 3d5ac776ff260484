#include "filters/plugin_library.h"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace icaht::filters {
namespace {

struct Libraries {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<PluginLibrary>, std::less<>> by_path;
};

Libraries& Loaded() {
  static auto* libraries = new Libraries;  // never destroyed: shards may still run plugins
  return *libraries;
}

}  // namespace

absl::Status CheckPluginTable(const icaht_plugin_v1* table, std::string_view path_view) {
  const std::string path(path_view);  // absl::StrCat takes no std::string_view here
  if (table == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin ", path, ": icaht_plugin_init returned NULL (it refused this host, ",
                     "ABI ", ICAHT_PLUGIN_ABI_MAJOR, ".", ICAHT_PLUGIN_ABI_MINOR, ")"));
  }
  if (table->abi_major != ICAHT_PLUGIN_ABI_MAJOR || table->abi_minor > ICAHT_PLUGIN_ABI_MINOR) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plugin ", path, " was built for plugin ABI ", table->abi_major, ".", table->abi_minor,
        "; this icaht-sidecar has ABI ", ICAHT_PLUGIN_ABI_MAJOR, ".", ICAHT_PLUGIN_ABI_MINOR,
        table->abi_major != ICAHT_PLUGIN_ABI_MAJOR
            ? " (the major versions differ: rebuild the plugin against this icaht/plugin.h)"
            : " (the plugin is newer than the host: upgrade icaht-sidecar or rebuild the plugin)"));
  }
  if (table->create == nullptr || table->destroy == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin ", path, ": its table has no create or no destroy callback"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const PluginLibrary*> LoadPluginLibrary(const std::string& real_path) {
  Libraries& libraries = Loaded();
  std::lock_guard lock(libraries.mutex);
  if (auto it = libraries.by_path.find(real_path); it != libraries.by_path.end()) {
    return it->second.get();
  }
  // RTLD_LOCAL: two plugins may use the same symbol names.
  void* handle = dlopen(real_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load plugin: ", error != nullptr ? error : real_path));
  }
  auto init = reinterpret_cast<icaht_plugin_init_fn>(dlsym(handle, ICAHT_PLUGIN_INIT_SYMBOL));
  if (init == nullptr) {
    dlclose(handle);
    return absl::InvalidArgumentError(
        absl::StrCat("plugin ", real_path, " exports no ", ICAHT_PLUGIN_INIT_SYMBOL,
                     " (is it an icaht plugin? see docs/plugins.md)"));
  }
  const icaht_plugin_v1* table = init(ICAHT_PLUGIN_ABI_MAJOR, ICAHT_PLUGIN_ABI_MINOR);
  if (absl::Status checked = CheckPluginTable(table, real_path); !checked.ok()) {
    dlclose(handle);
    return checked;
  }
  auto library = std::make_unique<PluginLibrary>();
  library->path = real_path;
  library->name = table->name != nullptr ? table->name : real_path;
  library->table = table;
  const PluginLibrary* loaded = library.get();
  libraries.by_path.emplace(real_path, std::move(library));
  return loaded;
}

absl::Status ValidatePluginConfig(const PluginLibrary& library, std::string_view config_json) {
  if (library.table->validate == nullptr) return absl::OkStatus();
  char error[512] = {};
  if (library.table->validate(config_json.data(), config_json.size(), error, sizeof error) == 0) {
    return absl::OkStatus();
  }
  error[sizeof error - 1] = '\0';
  return absl::InvalidArgumentError(error[0] != '\0' ? error : "refused by the plugin");
}

}  // namespace icaht::filters
