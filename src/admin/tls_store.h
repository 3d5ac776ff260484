#pragma once
// TLS contexts for the services, owned by the control thread: the files a
// record's `tls` (and its upstreams' `tls`) name are read when the record is
// applied (a missing, unreadable or mismatched file refuses the change,
// naming the field and the file), checked for changes every second, and
// read again when one changes: the new contexts reach the shards as a fresh
// service config (on_change), so new handshakes use the new certificate
// while open connections keep the one they started with. A reload that
// fails keeps the last good contexts (logged).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "filters/api_key_store.h"
#include "net/tls_context.h"
#include "registry/service_record.h"

namespace icaht::admin {

// This host's identity (the --tls-cert, --tls-key and --tls-ca flags; each
// may be empty): what records that name no files of their own fall back on.
struct HostIdentity {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;

  // Loads and checks the files, naming the flag that names a bad one.
  absl::Status Check() const;
};

class TlsStore {
 public:
  TlsStore(core::Ring& ring, HostIdentity host,
           std::function<void(const std::string& service)> on_change);
  ~TlsStore();

  // Load in two steps, so that a caller loading other files too can refuse
  // the record without having changed anything: Prepare reads and checks
  // (InvalidArgument naming the field), Commit makes the result current
  // (null: the record has no TLS).
  class Prepared;
  absl::StatusOr<std::unique_ptr<Prepared>> Prepare(const registry::ServiceRecord& record) const;
  void Commit(const std::string& name, std::unique_ptr<Prepared> prepared);
  void Remove(const std::string& name);
  void Stop();

  struct Contexts {
    std::shared_ptr<const net::TlsServerContext> server;  // null: plain HTTP
    // Per upstreams[] entry (null: plain HTTP to it).
    std::vector<std::shared_ptr<const net::TlsClientContext>> upstreams;
  };
  // The contexts built for `record`'s TLS settings. The store may hold
  // another record's (one refused after Prepare/Commit, or one being
  // applied): then these are built now from `record`'s files, and kept (a
  // failure is logged and leaves the record without TLS contexts).
  Contexts Get(const registry::ServiceRecord& record);
  // Each second the store checks its entries against the records in force
  // (this callback; null: not registered): an entry left by a refused change
  // is rebuilt from the record in force, so its files are the ones watched.
  void set_lookup(std::function<const registry::ServiceRecord*(const std::string&)> lookup) {
    lookup_ = std::move(lookup);
  }

  // This host's identity as a TLS client of other sidecars (the egress's
  // calls to their https ports): built at the first call and, like every
  // entry, built again when one of its files changes (then `on_host_change`
  // runs, so that new connections use the new pair); null while the files
  // cannot be used (logged).
  std::shared_ptr<const net::TlsClientContext> HostClient();
  void set_on_host_change(std::function<void()> on_host_change) {
    on_host_change_ = std::move(on_host_change);
  }

 private:
  struct Entry;

 private:
  static absl::StatusOr<Contexts> Build(const Entry& entry, const std::string& name);
  static bool Matches(const Entry& entry, const registry::ServiceRecord& record);
  std::function<const registry::ServiceRecord*(const std::string&)> lookup_;
  // The record's TLS specs with the host identity filled in where they name
  // no files of their own (an error naming the field when there is none).
  absl::Status Resolve(Entry& entry) const;
  HostIdentity host_;
  void Tick();

  core::Ring& ring_;
  std::function<void(const std::string&)> on_change_;
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_;
  struct HostClientState {
    std::shared_ptr<const net::TlsClientContext> context;
    std::vector<filters::FileWatcher> watches;
  };
  std::unique_ptr<HostClientState> host_client_;  // after the first HostClient()
  std::function<void()> on_host_change_;
  // Builds host_client_'s context from the files (false: kept the last).
  bool BuildHostClient();
  void ArmTick();
  core::Timer tick_;
};

struct TlsStore::Entry {
  std::optional<registry::TlsSpec> server;
  std::vector<std::optional<registry::UpstreamTlsSpec>> upstreams;
  Contexts contexts;
  std::vector<filters::FileWatcher> watches;
  // The record's settings as written (before the host identity filled them).
  std::optional<registry::TlsSpec> written_server;
  std::vector<std::optional<registry::UpstreamTlsSpec>> written_upstreams;
  int64_t prepared_ns = 0;
};

class TlsStore::Prepared : public TlsStore::Entry {};

// The options the record's `tls` means, for a service named `service`.
net::TlsServerOptions ServerOptions(const registry::TlsSpec& spec, const std::string& service);

}  // namespace icaht::admin
