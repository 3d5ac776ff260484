/* Example plugin: a maintenance switch. While the configured file exists,
 * every request is answered here with 503, Retry-After and the message;
 * otherwise it goes on. The file is looked at once per check_interval_ms
 * (default 1000) per shard, not on every request.
 *
 *   "plugins": [{"path": ".../libicaht_maintenance.so",
 *                "config": {"file": "/run/icaht/maintenance",
 *                           "message": "back soon\n", "retry_after_s": 120,
 *                           "check_interval_ms": 1000}}]
 *
 * Build: cc -shared -fPIC -O2 -I include maintenance.c -o libicaht_maintenance.so */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "example_config.h"
#include "icaht/plugin.h"

typedef struct {
  const icaht_host_api* host;
  char* file;
  char* message;
  char retry_after[24];
  long interval_ms;
  long long next_check_ms;
  int on;
} maintenance;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int validate(const char* json, size_t len, char* error, size_t error_len) {
  char* file = example_string(json, len, "file");
  int ok = file != NULL && file[0] == '/';
  free(file);
  if (!ok) snprintf(error, error_len, "\"file\" (an absolute path) is required");
  return ok ? 0 : 1;
}

static void* create(const icaht_host_api* host, const char* json, size_t len, uint32_t shard) {
  (void)shard;
  maintenance* m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->host = host;
  m->file = example_string(json, len, "file");
  m->message = example_string(json, len, "message");
  if (m->message == NULL) m->message = strdup("down for maintenance\n");
  snprintf(m->retry_after, sizeof m->retry_after, "%ld",
           example_int(json, len, "retry_after_s", 60));
  m->interval_ms = example_int(json, len, "check_interval_ms", 1000);
  if (m->file == NULL || m->message == NULL) {
    free(m->file);
    free(m->message);
    free(m);
    return NULL;
  }
  return m;
}

static void destroy(void* instance) {
  maintenance* m = instance;
  free(m->file);
  free(m->message);
  free(m);
}

static int on_request(void* instance, icaht_exchange* x) {
  maintenance* m = instance;
  long long now = now_ms();
  if (now >= m->next_check_ms) {
    m->on = access(m->file, F_OK) == 0;
    m->next_check_ms = now + m->interval_ms;
  }
  if (!m->on) return ICAHT_CONTINUE;
  m->host->set_response_header(x, "retry-after", 11, m->retry_after, strlen(m->retry_after));
  m->host->respond(x, 503, m->message, strlen(m->message));
  return ICAHT_RESPOND;
}

static const icaht_plugin_v1 plugin = {
    .abi_major = ICAHT_PLUGIN_ABI_MAJOR,
    .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
    .name = "maintenance",
    .validate = validate,
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
};

const icaht_plugin_v1* icaht_plugin_init(uint32_t host_major, uint32_t host_minor) {
  (void)host_minor;
  return host_major == ICAHT_PLUGIN_ABI_MAJOR ? &plugin : NULL;
}
