/* Example plugin: signs each request for the upstream. Adds
 *   <header>: <hex HMAC-SHA256 of "METHOD PATH" with the configured key>
 * so that the upstream can check the request came through the proxy.
 *
 *   "plugins": [{"path": ".../libicaht_hmac_sign.so",
 *                "config": {"key": "secret", "header": "x-icaht-signature",
 *                           "delay_ms": 0}}]
 *
 * delay_ms > 0 shows a pause: the request waits that long (as if the key
 * came from a service) on a host timer, then is signed and resumed.
 *
 * Build: cc -shared -fPIC -O2 -I include hmac_sign.c -o libicaht_hmac_sign.so -lcrypto */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_config.h"
#include "icaht/plugin.h"

typedef struct {
  const icaht_host_api* host;
  char* key;
  char* header;
  long delay_ms;
} signer;

static int validate(const char* json, size_t len, char* error, size_t error_len) {
  char* key = example_string(json, len, "key");
  int ok = key != NULL && key[0] != '\0';
  free(key);
  if (!ok) snprintf(error, error_len, "\"key\" (a non-empty string) is required");
  long delay = example_int(json, len, "delay_ms", 0);
  if (ok && (delay < 0 || delay > 60000)) {
    snprintf(error, error_len, "\"delay_ms\" must be 0..60000");
    ok = 0;
  }
  return ok ? 0 : 1;
}

static void* create(const icaht_host_api* host, const char* json, size_t len, uint32_t shard) {
  (void)shard;
  signer* s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->host = host;
  s->key = example_string(json, len, "key");
  s->header = example_string(json, len, "header");
  if (s->header == NULL) s->header = strdup("x-icaht-signature");
  s->delay_ms = example_int(json, len, "delay_ms", 0);
  if (s->key == NULL || s->header == NULL) {
    free(s->key);
    free(s->header);
    free(s);
    return NULL;
  }
  return s;
}

static void destroy(void* instance) {
  signer* s = instance;
  free(s->key);
  free(s->header);
  free(s);
}

static void sign(signer* s, icaht_exchange* x) {
  icaht_str method = s->host->method(x);
  icaht_str path = s->host->path(x);
  /* "METHOD PATH": what the upstream recomputes to check the signature. */
  size_t len = method.len + 1 + path.len;
  unsigned char* text = malloc(len);
  if (text == NULL) return; /* no signature: the upstream refuses the request */
  memcpy(text, method.data, method.len);
  text[method.len] = ' ';
  memcpy(text + method.len + 1, path.data, path.len);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), s->key, (int)strlen(s->key), text, len, mac, &mac_len);
  free(text);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < mac_len; ++i) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  s->host->set_request_header(x, s->header, strlen(s->header), hex, 2 * mac_len);
}

static void delayed(void* instance, icaht_exchange* x, void* arg) {
  (void)arg;
  signer* s = instance;
  sign(s, x);
  s->host->resume(x, ICAHT_CONTINUE);
}

static int on_request(void* instance, icaht_exchange* x) {
  signer* s = instance;
  if (s->delay_ms > 0) {
    if (s->host->after_ms(x, (uint32_t)s->delay_ms, delayed, NULL) != ICAHT_OK) {
      return ICAHT_CONTINUE; /* the host answers 500 */
    }
    return ICAHT_PAUSE;
  }
  sign(s, x);
  return ICAHT_CONTINUE;
}

static const icaht_plugin_v1 plugin = {
    .abi_major = ICAHT_PLUGIN_ABI_MAJOR,
    .abi_minor = ICAHT_PLUGIN_ABI_MINOR,
    .name = "hmac_sign",
    .validate = validate,
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
};

const icaht_plugin_v1* icaht_plugin_init(uint32_t host_major, uint32_t host_minor) {
  (void)host_minor;
  return host_major == ICAHT_PLUGIN_ABI_MAJOR ? &plugin : NULL;
}
