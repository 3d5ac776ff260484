/* A plugin built for a future ABI major version: the host must refuse it. */
#include "icaht/plugin.h"

static void* create(const icaht_host_api* host, const char* json, size_t len, uint32_t shard) {
  (void)host, (void)json, (void)len, (void)shard;
  return 0;
}
static void destroy(void* instance) { (void)instance; }

static const icaht_plugin_v1 plugin = {.abi_major = ICAHT_PLUGIN_ABI_MAJOR + 1,
                                       .abi_minor = 0,
                                       .name = "abi_v2",
                                       .create = create,
                                       .destroy = destroy};

const icaht_plugin_v1* icaht_plugin_init(uint32_t host_major, uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return &plugin;
}
