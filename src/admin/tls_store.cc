#include "admin/tls_store.h"

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "registry/json_reader.h"

namespace icaht::admin {
namespace {
constexpr int64_t kTickNs = 1'000'000'000;
}  // namespace

net::TlsServerOptions ServerOptions(const registry::TlsSpec& spec, const std::string& service) {
  net::TlsServerOptions options;
  options.certificate = {spec.certificate.cert_file, spec.certificate.key_file, "tls"};
  for (size_t i = 0; i < spec.certificates.size(); ++i) {
    const registry::TlsCertSpec& cert = spec.certificates[i];
    options.named.push_back(
        {{cert.cert_file, cert.key_file, registry::json::IndexPath("tls.certificates", i)},
         cert.server_names});
  }
  options.min_version = spec.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  options.ciphers = spec.ciphers;
  options.ciphersuites = spec.ciphersuites;
  options.client_ca_file = spec.client_ca_file;
  options.require_client_cert = spec.require_client_cert;
  options.session_tickets = spec.session_tickets;
  options.session_context = service;
  return options;
}

TlsStore::TlsStore(core::Ring& ring, std::function<void(const std::string&)> on_change)
    : ring_(ring), on_change_(std::move(on_change)), tick_([this] { Tick(); }) {}

TlsStore::~TlsStore() { Stop(); }

absl::StatusOr<TlsStore::Contexts> TlsStore::Build(const Entry& entry, const std::string& name) {
  Contexts out;
  if (entry.server) {
    auto server = net::TlsServerContext::Create(ServerOptions(*entry.server, name));
    if (!server.ok()) return server.status();
    out.server = *std::move(server);
  }
  out.upstreams.resize(entry.upstreams.size());
  for (size_t i = 0; i < entry.upstreams.size(); ++i) {
    if (!entry.upstreams[i]) continue;
    const registry::UpstreamTlsSpec& spec = *entry.upstreams[i];
    auto client = net::TlsClientContext::Create(
        {.ca_file = spec.ca_file,
         .verify = spec.verify,
         .cert_file = spec.cert_file,
         .key_file = spec.key_file,
         .field = absl::StrCat(registry::json::IndexPath("upstreams", i), ".tls")});
    if (!client.ok()) return client.status();
    out.upstreams[i] = *std::move(client);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TlsStore::Prepared>> TlsStore::Prepare(
    const registry::ServiceRecord& record) const {
  bool any = record.tls.has_value();
  for (const registry::UpstreamSpec& upstream : record.upstreams) any |= upstream.tls.has_value();
  if (!any) return nullptr;
  auto entry = std::make_unique<Prepared>();
  entry->server = record.tls;
  std::vector<std::string> files;
  if (record.tls) {
    files = {record.tls->certificate.cert_file, record.tls->certificate.key_file,
             record.tls->client_ca_file};
    for (const registry::TlsCertSpec& cert : record.tls->certificates) {
      files.push_back(cert.cert_file);
      files.push_back(cert.key_file);
    }
  }
  for (const registry::UpstreamSpec& upstream : record.upstreams) {
    entry->upstreams.push_back(upstream.tls);
    if (upstream.tls) {
      files.insert(files.end(),
                   {upstream.tls->ca_file, upstream.tls->cert_file, upstream.tls->key_file});
    }
  }
  for (const std::string& file : files) {
    if (file.empty()) continue;
    entry->watches.emplace_back(file);
    // Stamped before reading: a change during the read is seen next tick.
    entry->watches.back().Changed();
  }
  absl::StatusOr<Contexts> contexts = Build(*entry, record.name);
  if (!contexts.ok()) return contexts.status();
  entry->contexts = *std::move(contexts);
  return entry;
}

void TlsStore::Commit(const std::string& name, std::unique_ptr<Prepared> prepared) {
  if (prepared == nullptr) return Remove(name);
  entries_[name] = std::move(prepared);
  if (!tick_.armed()) ring_.timers().Arm(&tick_, core::NowNs() + kTickNs);
}

void TlsStore::Remove(const std::string& name) { entries_.erase(name); }

void TlsStore::Stop() {
  entries_.clear();
  ring_.timers().Cancel(&tick_);
}

TlsStore::Contexts TlsStore::Get(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? Contexts{} : it->second->contexts;
}

void TlsStore::Tick() {
  for (auto& [name, entry] : entries_) {
    bool changed = false;
    // Every watch is stamped, so one tick sees a rotation of several files.
    for (filters::FileWatcher& watch : entry->watches) changed |= watch.Changed();
    if (!changed) continue;
    absl::StatusOr<Contexts> contexts = Build(*entry, name);
    if (!contexts.ok()) {
      // Half a rotation (a new certificate before its key) lands here too:
      // the next change of either file tries again.
      ICAHT_LOG(kWarn, "service '", name, "': TLS files changed but cannot be used, keeping the ",
                "last good ones: ", std::string(contexts.status().message()));
      continue;
    }
    entry->contexts = *std::move(contexts);
    ICAHT_LOG(kInfo, "service '", name, "': TLS certificates and keys reloaded");
    if (on_change_) on_change_(name);
  }
  if (!entries_.empty()) ring_.timers().Arm(&tick_, core::NowNs() + kTickNs);
}

}  // namespace icaht::admin
