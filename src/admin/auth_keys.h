#pragma once
// Key material for the services' auth filters, owned by the control thread:
// JWKS files and API key files are read at registration (a file that cannot
// be read or parsed refuses the registration, naming the field), checked for
// changes every second and re-read when they change; a jwks_url is fetched
// off the data path (HttpClientCall) at registration, every jwks_refresh_s,
// and when a shard met a token whose key the set lacks (KeyMissSignal, looked
// at every second; at most one such fetch per 30 s). A failed reload or fetch keeps the last good
// set (logged). A new set reaches the shards as a fresh service config (on_change).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "filters/auth.h"
#include "net/tls_context.h"
#include "registry/service_record.h"

namespace icaht::proxy {
class HttpClientCall;
}

namespace icaht::admin {

class AuthKeyStore {
 public:
  AuthKeyStore(core::Ring& ring, core::BufRing& bufs,
               std::function<void(const std::string& service)> on_change);
  ~AuthKeyStore();

  // Reads the files `record.auth` names and keeps the result for the
  // service (a jwks_url starts empty and is fetched). InvalidArgument naming
  // the field when a file cannot be read or parsed; nothing changes then.
  absl::Status Load(const registry::ServiceRecord& record);
  void Remove(const std::string& name);
  void Stop();
  // The service's current keys (empty when it has none).
  filters::AuthKeys Keys(const std::string& name) const;

 private:
  struct Entry {
    // Where the keys come from (what of the record's auth this store needs:
    // not a copy of the whole spec, kept for each of 10,000 services).
    struct {
      bool enabled = false;
      std::string jwks_file;
      std::string jwks_url;
      std::string jwks_ca_file;
      uint32_t jwks_refresh_s = 0;
    } jwt;
    struct {
      bool enabled = false;
      std::string keys_file;
    } api_key;
    filters::AuthKeys keys;
    std::optional<filters::FileWatcher> keys_watch;
    proxy::HttpClientCall* fetch = nullptr;
    std::shared_ptr<const net::TlsClientContext> jwks_tls;  // an https jwks_url's
    int64_t next_fetch_ns = 0;
    int64_t last_miss_fetch_ns = 0;  // when the last fetch for a key miss started
    std::string last_body;           // of the last good fetch: an unchanged set is not re-sent
  };

  void Tick();
  void Fetch(const std::string& name, Entry& entry);
  // A JWKS file's keys, parsed once for every service that names it and
  // looked at (stat) once per tick: 10,000 services with one file hold one
  // set and cost one stat a second.
  absl::StatusOr<std::shared_ptr<const filters::jwt::JwkSet>> JwksFromFile(const std::string& path);
  struct SharedJwks {
    explicit SharedJwks(std::string path) : watch(std::move(path)) {}
    filters::FileWatcher watch;
    uint64_t tick = UINT64_MAX;  // when last looked at
    bool changed = false;        // ...and it had changed then
    absl::StatusOr<std::shared_ptr<const filters::jwt::JwkSet>> result =
        absl::UnavailableError("not read yet");
  };

  core::Ring& ring_;
  core::BufRing& bufs_;
  std::function<void(const std::string&)> on_change_;
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_;
  absl::flat_hash_map<std::string, SharedJwks> jwks_files_;
  uint64_t tick_count_ = 0;
  core::Timer tick_;
};

}  // namespace icaht::admin
