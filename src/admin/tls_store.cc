#include "admin/tls_store.h"

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "registry/json_reader.h"

namespace icaht::admin {
namespace {
constexpr int64_t kCheckFilesNs = 1'000'000'000;
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

absl::Status HostIdentity::Check() const {
  if (cert_file.empty() && ca_file.empty()) return absl::OkStatus();
  auto context = net::TlsClientContext::Create(
      {.ca_file = ca_file, .cert_file = cert_file, .key_file = key_file, .field = "host"});
  if (context.ok()) return absl::OkStatus();
  std::string message(context.status().message());
  for (auto [field, flag] :
       {std::pair<std::string, std::string>{"field 'host.cert_file'", "--tls-cert"},
        std::pair<std::string, std::string>{"field 'host.key_file'", "--tls-key"},
        std::pair<std::string, std::string>{"field 'host.ca_file'", "--tls-ca"}}) {
    if (message.starts_with(field)) message = flag + message.substr(field.size());
  }
  return absl::InvalidArgumentError(message);
}

TlsStore::TlsStore(core::Ring& ring, HostIdentity host,
                   std::function<void(const std::string&)> on_change)
    : host_(std::move(host)),
      ring_(ring),
      on_change_(std::move(on_change)),
      tick_([this] { Tick(); }) {}

absl::Status TlsStore::Resolve(Entry& entry) const {
  auto need = [](const std::string& value, const std::string& field, const char* flag) {
    return value.empty() ? absl::InvalidArgumentError(absl::StrCat(
                               "field '", field, "': required (this host has no ", flag, ")"))
                         : absl::OkStatus();
  };
  if (entry.server) {
    registry::TlsSpec& spec = *entry.server;
    if (spec.certificate.cert_file.empty()) {
      ICAHT_RETURN_IF_ERROR(need(host_.cert_file, "tls.cert_file", "--tls-cert identity"));
      spec.certificate.cert_file = host_.cert_file;
      spec.certificate.key_file = host_.key_file;
    }
    if (spec.client_ca_file.empty() && spec.require_client_cert) {
      ICAHT_RETURN_IF_ERROR(need(host_.ca_file, "tls.client_ca_file", "--tls-ca"));
      spec.client_ca_file = host_.ca_file;
    }
  }
  for (size_t i = 0; i < entry.upstreams.size(); ++i) {
    if (!entry.upstreams[i] || !entry.upstreams[i]->fleet) continue;
    registry::UpstreamTlsSpec& spec = *entry.upstreams[i];
    std::string field = absl::StrCat(registry::json::IndexPath("upstreams", i), ".tls.");
    if (spec.ca_file.empty()) {
      ICAHT_RETURN_IF_ERROR(need(host_.ca_file, field + "ca_file", "--tls-ca"));
      spec.ca_file = host_.ca_file;
    }
    if (spec.cert_file.empty()) {
      ICAHT_RETURN_IF_ERROR(need(host_.cert_file, field + "cert_file", "--tls-cert identity"));
      spec.cert_file = host_.cert_file;
      spec.key_file = host_.key_file;
    }
  }
  return absl::OkStatus();
}

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
  entry->server = record.tls.ToOptional();
  for (const registry::UpstreamSpec& upstream : record.upstreams) {
    entry->upstreams.push_back(upstream.tls.ToOptional());
  }
  entry->written_server = entry->server;
  entry->written_upstreams = entry->upstreams;
  entry->prepared_ns = core::NowNs();
  ICAHT_RETURN_IF_ERROR(Resolve(*entry));
  std::vector<std::string> files;
  if (entry->server) {
    const registry::TlsSpec& tls = *entry->server;
    files = {tls.certificate.cert_file, tls.certificate.key_file, tls.client_ca_file};
    for (const registry::TlsCertSpec& cert : tls.certificates) {
      files.push_back(cert.cert_file);
      files.push_back(cert.key_file);
    }
  }
  for (const auto& upstream : entry->upstreams) {
    if (upstream) {
      files.insert(files.end(), {upstream->ca_file, upstream->cert_file, upstream->key_file});
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
  ArmTick();
}

void TlsStore::ArmTick() {
  if (!tick_.armed()) ring_.timers().Arm(&tick_, core::NowNs() + kCheckFilesNs);
}

std::shared_ptr<const net::TlsClientContext> TlsStore::HostClient() {
  if (host_client_ == nullptr) {
    host_client_ = std::make_unique<HostClientState>();
    for (const std::string* file : {&host_.cert_file, &host_.key_file, &host_.ca_file}) {
      if (file->empty()) continue;
      host_client_->watches.emplace_back(*file);
      host_client_->watches.back().Changed();  // stamped before reading, as entries are
    }
    BuildHostClient();
    ArmTick();
  }
  return host_client_->context;
}

bool TlsStore::BuildHostClient() {
  auto context = net::TlsClientContext::Create({.ca_file = host_.ca_file,
                                                .verify = true,
                                                .cert_file = host_.cert_file,
                                                .key_file = host_.key_file,
                                                .field = "--tls-cert",
                                                .ca_field = "--tls-ca"});
  if (!context.ok()) {
    ICAHT_LOG(kWarn, "the host identity cannot be used for calls to other hosts",
              host_client_->context != nullptr ? ", keeping the last good one: " : ": ",
              std::string(context.status().message()));
    return false;
  }
  host_client_->context = *std::move(context);
  return true;
}

void TlsStore::Remove(const std::string& name) { entries_.erase(name); }

void TlsStore::Stop() {
  entries_.clear();
  host_client_.reset();
  ring_.timers().Cancel(&tick_);
}

bool TlsStore::Matches(const Entry& entry, const registry::ServiceRecord& record) {
  if (entry.written_server != record.tls) return false;
  if (entry.written_upstreams.size() != record.upstreams.size()) return false;
  for (size_t i = 0; i < record.upstreams.size(); ++i) {
    if (entry.written_upstreams[i] != record.upstreams[i].tls) return false;
  }
  return true;
}

TlsStore::Contexts TlsStore::Get(const registry::ServiceRecord& record) {
  auto it = entries_.find(record.name);
  if (it != entries_.end() && Matches(*it->second, record)) return it->second->contexts;
  auto prepared = Prepare(record);
  if (!prepared.ok()) {
    ICAHT_LOG(kError, "service '", record.name,
              "': its TLS files cannot be used: ", std::string(prepared.status().message()));
    return {};
  }
  if (*prepared == nullptr) {
    Remove(record.name);
    return {};
  }
  Contexts contexts = (*prepared)->contexts;
  Commit(record.name, *std::move(prepared));
  return contexts;
}

void TlsStore::Tick() {
  // Entries a refused change left behind give way to the record in force.
  if (lookup_) {
    std::vector<std::string> stale;
    for (auto& [name, entry] : entries_) {
      const registry::ServiceRecord* live = lookup_(name);
      if (live != nullptr ? !Matches(*entry, *live)
                          : core::NowNs() - entry->prepared_ns > 10 * kCheckFilesNs) {
        stale.push_back(name);
      }
    }
    for (const std::string& name : stale) {
      const registry::ServiceRecord* live = lookup_(name);
      if (live == nullptr) {
        entries_.erase(name);
      } else {
        Get(*live);
      }
    }
  }
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
  if (host_client_ != nullptr) {
    bool changed = false;
    for (filters::FileWatcher& watch : host_client_->watches) changed |= watch.Changed();
    if (changed && BuildHostClient()) {
      ICAHT_LOG(kInfo, "host identity reloaded for calls to other hosts");
      if (on_host_change_) on_host_change_();
    }
  }
  if (!entries_.empty() || host_client_ != nullptr) ArmTick();
}

}  // namespace icaht::admin
