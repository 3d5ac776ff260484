/* A plugin that misbehaves on request, for tests/e2e/test_plugins.py: the
 * request's x-misbehave field picks what it does wrong, and the host must
 * answer 500, log it, and go on serving. Without the field it adds
 * x-behaved: yes and lets the request through. */
#include <string.h>

#include "icaht/plugin.h"

static void* create(const icaht_host_api* host, const char* json, size_t len, uint32_t shard) {
  (void)json, (void)len, (void)shard;
  return (void*)host;
}

static void destroy(void* instance) { (void)instance; }

static int is(icaht_str s, const char* literal) {
  return s.len == strlen(literal) && memcmp(s.data, literal, s.len) == 0;
}

static int on_request(void* instance, icaht_exchange* x) {
  const icaht_host_api* host = instance;
  icaht_str how;
  if (!host->request_header(x, "x-misbehave", 11, &how)) {
    host->set_request_header(x, "x-behaved", 9, "yes", 3);
    return ICAHT_CONTINUE;
  }
  static char big[ICAHT_MAX_HEADER_VALUE + 1];
  if (is(how, "verdict")) return 42;
  if (is(how, "crlf")) host->set_request_header(x, "x-a", 3, "v\r\nInjected: 1", 14);
  if (is(how, "name")) host->set_request_header(x, "bad name", 8, "v", 1);
  if (is(how, "big")) {
    memset(big, 'a', sizeof big);
    host->set_request_header(x, "x-big", 5, big, sizeof big);
  }
  if (is(how, "framing")) host->set_response_header(x, "content-length", 14, "0", 1);
  if (is(how, "respond")) return ICAHT_RESPOND; /* without respond() */
  if (is(how, "pause")) return ICAHT_PAUSE;     /* without after_ms() */
  return ICAHT_CONTINUE;
}

static const icaht_plugin_v1 plugin = {
    .abi_major = ICAHT_PLUGIN_ABI_MAJOR,
    .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
    .name = "misbehaving",
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
};

const icaht_plugin_v1* icaht_plugin_init(uint32_t host_major, uint32_t host_minor) {
  (void)host_major, (void)host_minor;
  return &plugin;
}
