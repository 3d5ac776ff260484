/* Icaht Sidecar native plugin ABI (docs/plugins.md).
 *
 * A plugin is a shared object that exports one C function,
 *
 *   const icaht_plugin_v1* icaht_plugin_init(uint32_t host_abi_major,
 *                                            uint32_t host_abi_minor);
 *
 * called once per process when a service record first names the plugin. It
 * returns a table of callbacks that lives as long as the process (a static
 * const struct), or NULL to refuse the host. The host refuses a plugin whose
 * table's abi_major differs from ICAHT_PLUGIN_ABI_MAJOR, and one whose
 * abi_minor is newer than its own (the table may name callbacks the host
 * does not know).
 *
 * Stability: within one major version the host only ever adds functions at
 * the end of icaht_host_api and fields at the end of icaht_plugin_v1 (minor
 * version up); nothing is removed, reordered or changes meaning. A plugin
 * built against 1.x loads in every host of major 1 with minor >= x.
 *
 * Threading: every callback of an instance runs on the one shard thread that
 * created it; instances never share a thread, so they need no locks (state
 * shared between instances, e.g. a process-wide cache, is the plugin's to
 * guard). Callbacks must not block: the shard serves every connection of its
 * CPU.
 *
 * Strings from the host (icaht_str) are not NUL-terminated and are valid
 * until the callback that got them returns. Strings given to the host are
 * copied by it.
 *
 * Bodies are out of scope in this version: a plugin sees and changes heads
 * only. A plugin runs in the daemon's process: if it crashes, the process
 * (every service on this host) goes down with it.
 */
#ifndef ICAHT_PLUGIN_H_
#define ICAHT_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ICAHT_PLUGIN_ABI_MAJOR 1
#define ICAHT_PLUGIN_ABI_MINOR 0

/* What a request or response callback answers. Any other value is a bug in
 * the plugin: the exchange is answered 500 and the daemon logs it. */
#define ICAHT_CONTINUE 0 /* go on with the next filter (or the upstream) */
#define ICAHT_RESPOND 1  /* request phase only: answer with what respond() set */
#define ICAHT_PAUSE 2    /* request phase only: after_ms() was armed; resume() later */

/* What host functions that change the exchange return. */
#define ICAHT_OK 0
#define ICAHT_EINVAL (-1)  /* invalid name, value, status or phase: the exchange will get a 500 */
#define ICAHT_ETOOBIG (-2) /* over a limit below: the exchange will get a 500 */

/* Limits the host enforces on what a plugin adds to one exchange. */
#define ICAHT_MAX_HEADER_NAME 256
#define ICAHT_MAX_HEADER_VALUE 8192
#define ICAHT_MAX_ADDED_BYTES 65536 /* names + values added to one exchange */
#define ICAHT_MAX_BODY 1048576      /* a local answer's body */

typedef struct icaht_str {
  const char* data;
  size_t len;
} icaht_str;

/* One exchange (request + response) as a plugin callback sees it. Valid
 * during the callback it was passed to; for an exchange the plugin paused,
 * until it calls resume() or until on_cancel() for it. */
typedef struct icaht_exchange icaht_exchange;

/* Called once on the shard thread when a timer armed with after_ms() fires.
 * The exchange is still paused: the callback calls resume() (after editing
 * the request or calling respond()), or arms another timer. */
typedef void (*icaht_timer_cb)(void* instance, icaht_exchange* x, void* arg);

/* The host's functions, passed to create(). Valid for the process's life. */
typedef struct icaht_host_api {
  uint32_t abi_major;
  uint32_t abi_minor;

  /* Request (every phase). method: "GET"; path: the target up to '?';
   * target: the whole request-target. */
  icaht_str (*method)(const icaht_exchange* x);
  icaht_str (*path)(const icaht_exchange* x);
  icaht_str (*target)(const icaht_exchange* x);
  /* The request field `name` (case-insensitive) as it goes upstream (edits
   * of earlier filters included): 1 and *value set, or 0 when absent. */
  int (*request_header)(const icaht_exchange* x, const char* name, size_t name_len,
                        icaht_str* value);

  /* Request phase: replaces every field of that name going upstream; removes
   * them. */
  int (*set_request_header)(icaht_exchange* x, const char* name, size_t name_len, const char* value,
                            size_t value_len);
  int (*remove_request_header)(icaht_exchange* x, const char* name, size_t name_len);
  /* Request phase: the local answer a RESPOND (or resume(x, ICAHT_RESPOND))
   * sends: status 200..599, a body (text/plain unless a Content-Type field
   * is added with add_response_header). */
  int (*respond)(icaht_exchange* x, int status, const char* body, size_t body_len);

  /* Response fields. In the request phase they go on the local answer (or,
   * for the upstream's answer, they are kept for the response phase); in the
   * response phase they edit the head the client gets. set replaces fields
   * of that name, add adds one more, remove removes the upstream's. */
  int (*set_response_header)(icaht_exchange* x, const char* name, size_t name_len,
                             const char* value, size_t value_len);
  int (*add_response_header)(icaht_exchange* x, const char* name, size_t name_len,
                             const char* value, size_t value_len);
  int (*remove_response_header)(icaht_exchange* x, const char* name, size_t name_len);
  /* Response and log phases: the answer's field `name` as received from the
   * upstream (0 for local answers and when absent). */
  int (*response_header)(const icaht_exchange* x, const char* name, size_t name_len,
                         icaht_str* value);
  /* Response phase: the status the client gets (200..599; not to or from
   * 204 and 304, whose framing differs). */
  int (*set_status)(icaht_exchange* x, int status);

  /* Response and log phases: the status (0 in the request phase). */
  int (*status)(const icaht_exchange* x);
  /* Log phase: microseconds from the first byte to the end. */
  int64_t (*duration_us)(const icaht_exchange* x);
  /* The instance's address as configured ("" when none was chosen). */
  icaht_str (*upstream)(const icaht_exchange* x);
  /* The request ID ("" unless the service's request_id filter is on). */
  icaht_str (*request_id)(const icaht_exchange* x);
  icaht_str (*service)(const icaht_exchange* x);
  icaht_str (*client_ip)(const icaht_exchange* x);

  /* Request phase, before returning ICAHT_PAUSE (or from a timer callback):
   * calls cb(instance, x, arg) in `ms` milliseconds (0..3600000) on this
   * shard. One timer per exchange at a time. The exchange's deadline
   * (timeouts.request_ms) still runs: if it ends first, on_cancel is
   * called and the timer is dropped. */
  int (*after_ms)(icaht_exchange* x, uint32_t ms, icaht_timer_cb cb, void* arg);
  /* Ends a pause: ICAHT_CONTINUE goes on, ICAHT_RESPOND sends what respond()
   * set. x is not the plugin's any more after this call. */
  void (*resume)(icaht_exchange* x, int verdict);

  /* A line in the daemon's log (level 0 debug, 1 info, 2 warn, 3 error),
   * prefixed with the plugin's name. */
  void (*log)(int level, const char* message, size_t len);
} icaht_host_api;

typedef struct icaht_plugin_v1 {
  uint32_t abi_major; /* ICAHT_PLUGIN_ABI_MAJOR as the plugin was built */
  uint32_t abi_minor;
  const char* name; /* for logs: a short NUL-terminated name */

  /* Optional (NULL: any config): checks a service's `config` (JSON text) when
   * a record is registered, on the control thread. Returns 0, or writes a
   * NUL-terminated reason into error[error_len] and returns non-zero (the
   * registration is refused with it). */
  int (*validate)(const char* config_json, size_t len, char* error, size_t error_len);
  /* Makes one instance for one service on one shard (called on that shard's
   * thread). NULL: the instance could not be made (every request of the
   * service on that shard is answered 500). */
  void* (*create)(const icaht_host_api* host, const char* config_json, size_t len,
                  uint32_t shard_index);
  void (*destroy)(void* instance);

  /* Each optional (NULL: not called). on_request: the request head, after
   * the built-in filters. on_response: the response head (the upstream's or
   * a local answer), before it is written. on_log: once per exchange at its
   * end, however it ended. on_cancel: an exchange this instance paused ended
   * before resume() (client gone, deadline): forget it. */
  int (*on_request)(void* instance, icaht_exchange* x);
  int (*on_response)(void* instance, icaht_exchange* x);
  void (*on_log)(void* instance, const icaht_exchange* x);
  void (*on_cancel)(void* instance, icaht_exchange* x);
} icaht_plugin_v1;

typedef const icaht_plugin_v1* (*icaht_plugin_init_fn)(uint32_t host_abi_major,
                                                       uint32_t host_abi_minor);

#define ICAHT_PLUGIN_INIT_SYMBOL "icaht_plugin_init"

#ifdef __cplusplus
}
#endif

#endif /* ICAHT_PLUGIN_H_ */
