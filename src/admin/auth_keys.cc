#include "admin/auth_keys.h"

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "net/http_url.h"
#include "proxy/http_client.h"

namespace icaht::admin {
namespace {

constexpr int64_t kTickNs = 1'000'000'000;
constexpr size_t kMaxJwksBytes = 1024 * 1024;
// A failed fetch is retried after this; an unknown key fetches at most this often.
constexpr int64_t kRefetchNs = int64_t{30} * 1'000'000'000;

absl::StatusOr<std::shared_ptr<const filters::jwt::JwkSet>> LoadJwksFile(const std::string& path) {
  absl::StatusOr<std::string> text = filters::ReadKeyFile(path, kMaxJwksBytes);
  if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
  auto set = filters::jwt::JwkSet::Parse(*text);
  if (!set.ok())
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", set.status().message()));
  return set;
}

}  // namespace

AuthKeyStore::AuthKeyStore(core::Ring& ring, core::BufRing& bufs,
                           std::function<void(const std::string&)> on_change)
    : ring_(ring), bufs_(bufs), on_change_(std::move(on_change)), tick_([this] { Tick(); }) {}

AuthKeyStore::~AuthKeyStore() { Stop(); }

absl::Status AuthKeyStore::Load(const registry::ServiceRecord& record) {
  const filters::AuthSpec& auth = record.auth;
  if (!auth.jwt.enabled && !auth.api_key.enabled) {
    Remove(record.name);
    return absl::OkStatus();
  }
  auto entry = std::make_unique<Entry>();
  entry->jwt = {.enabled = auth.jwt.enabled,
                .jwks_file = auth.jwt.jwks_file,
                .jwks_url = auth.jwt.jwks_url,
                .jwks_ca_file = auth.jwt.jwks_ca_file,
                .jwks_refresh_s = auth.jwt.jwks_refresh_s};
  entry->api_key = {.enabled = auth.api_key.enabled, .keys_file = auth.api_key.keys_file};
  if (auth.jwt.enabled && !auth.jwt.jwks_file.empty()) {
    auto set = JwksFromFile(auth.jwt.jwks_file);
    if (!set.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field 'auth.jwt.jwks_file': ", set.status().message()));
    }
    entry->keys.jwks = *std::move(set);
  }
  if (auth.api_key.enabled) {
    entry->keys_watch.emplace(auth.api_key.keys_file);
    entry->keys_watch->Changed();
    auto keys = filters::LoadApiKeyFile(auth.api_key.keys_file);
    if (!keys.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field 'auth.api_key.keys_file': ", keys.status().message()));
    }
    entry->keys.api_keys = *std::move(keys);
  }
  if (auth.jwt.enabled && !auth.jwt.jwks_url.empty()) {
    absl::StatusOr<net::HttpUrl> url = net::ParseHttpUrl(auth.jwt.jwks_url, true);
    if (url.ok() && url->https) {
      auto tls = net::TlsClientContext::Create({.ca_file = auth.jwt.jwks_ca_file,
                                                .field = "auth.jwt",
                                                .ca_field = "auth.jwt.jwks_ca_file"});
      if (!tls.ok()) return tls.status();
      entry->jwks_tls = *std::move(tls);
    }
  }
  // A replaced record keeps the keys it fetched until the next fetch.
  auto old = entries_.find(record.name);
  if (old != entries_.end()) {
    if (old->second->jwt.jwks_url == auth.jwt.jwks_url && !auth.jwt.jwks_url.empty()) {
      entry->keys.jwks = old->second->keys.jwks;
    }
    if (old->second->fetch != nullptr) old->second->fetch->Cancel();
  }
  Entry& stored = *(entries_[record.name] = std::move(entry));
  if (auth.jwt.enabled && !auth.jwt.jwks_url.empty()) {
    stored.keys.key_miss = std::make_shared<filters::KeyMissSignal>();
    Fetch(record.name, stored);
  }
  if (!tick_.armed()) ring_.timers().Arm(&tick_, core::NowNs() + kTickNs);
  return absl::OkStatus();
}

void AuthKeyStore::Remove(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  if (it->second->fetch != nullptr) it->second->fetch->Cancel();
  entries_.erase(it);
}

void AuthKeyStore::Stop() {
  for (auto& [name, entry] : entries_) {
    if (entry->fetch != nullptr) entry->fetch->Cancel();
  }
  entries_.clear();
  ring_.timers().Cancel(&tick_);
}

filters::AuthKeys AuthKeyStore::Keys(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? filters::AuthKeys{} : it->second->keys;
}

absl::StatusOr<std::shared_ptr<const filters::jwt::JwkSet>> AuthKeyStore::JwksFromFile(
    const std::string& path) {
  SharedJwks& file = jwks_files_.try_emplace(path, path).first->second;
  if (file.tick != tick_count_) {
    file.tick = tick_count_;
    file.changed = file.watch.Changed();
    if (file.changed) file.result = LoadJwksFile(path);
  }
  return file.result;
}

void AuthKeyStore::Tick() {
  int64_t now = core::NowNs();
  ++tick_count_;
  for (auto& [name, entry] : entries_) {
    bool changed = false;
    if (entry->jwt.enabled && !entry->jwt.jwks_file.empty()) {
      auto set = JwksFromFile(entry->jwt.jwks_file);
      if (set.ok() && *set != entry->keys.jwks) {
        entry->keys.jwks = *std::move(set);
        changed = true;
        ICAHT_LOG(kInfo, "service '", name, "': JWKS reloaded from ", entry->jwt.jwks_file);
      } else if (!set.ok() && jwks_files_.find(entry->jwt.jwks_file)->second.changed) {
        ICAHT_LOG(kWarn, "service '", name, "': JWKS reload failed, keeping the last good set: ",
                  std::string(set.status().message()));
      }
    }
    if (entry->keys_watch && entry->keys_watch->Changed()) {
      auto keys = filters::LoadApiKeyFile(entry->api_key.keys_file);
      if (keys.ok()) {
        entry->keys.api_keys = *std::move(keys);
        changed = true;
        ICAHT_LOG(kInfo, "service '", name, "': API keys reloaded from ", entry->api_key.keys_file);
      } else {
        ICAHT_LOG(kWarn, "service '", name, "': API key reload failed, keeping the last good set: ",
                  std::string(keys.status().message()));
      }
    }
    if (!entry->jwt.jwks_url.empty() && entry->fetch == nullptr) {
      bool key_missed =
          entry->keys.key_miss->raised.load(std::memory_order_relaxed) &&
          (entry->last_miss_fetch_ns == 0 || now >= entry->last_miss_fetch_ns + kRefetchNs);
      if (key_missed) {
        entry->last_miss_fetch_ns = now;
        ICAHT_LOG(kInfo, "service '", name, "': a token names a key the JWKS lacks; fetching ",
                  entry->jwt.jwks_url, " again");
      }
      if (key_missed || now >= entry->next_fetch_ns) Fetch(name, *entry);
    }
    if (changed && on_change_) on_change_(name);
  }
  // Files no service asked for in this tick (none names them any more) go.
  absl::erase_if(jwks_files_, [this](const auto& file) { return file.second.tick != tick_count_; });
  if (!entries_.empty()) ring_.timers().Arm(&tick_, now + kTickNs);
}

void AuthKeyStore::Fetch(const std::string& name, Entry& entry) {
  absl::StatusOr<net::HttpUrl> url = net::ParseHttpUrl(entry.jwt.jwks_url, true);
  if (!url.ok()) return;  // checked when the record was parsed
  proxy::ClientCallSpec spec;
  spec.address = url->address;
  if (url->https) {
    spec.tls = entry.jwks_tls;
    spec.server_name = url->host_name;
  }
  spec.request = proxy::BuildClientRequest("GET", url->target, url->host,
                                           "Accept: application/json\r\n"
                                           "User-Agent: icaht-sidecar/jwks\r\n");
  spec.timeout_ms = 5000;
  spec.max_body_bytes = kMaxJwksBytes;
  Entry* target = &entry;
  // A failed fetch is retried after 30 s; a good one after jwks_refresh_s.
  entry.next_fetch_ns = core::NowNs() + kRefetchNs;
  entry.keys.key_miss->raised.store(false, std::memory_order_relaxed);
  entry.fetch = proxy::HttpClientCall::Start(
      ring_, bufs_, std::move(spec), [this, name, target](absl::StatusOr<http::ClientResponse> r) {
        target->fetch = nullptr;
        std::string problem;
        if (!r.ok()) {
          problem = std::string(r.status().message());
        } else if (r->status != 200) {
          problem = absl::StrCat("status ", r->status);
        } else if (auto set = filters::jwt::JwkSet::Parse(r->body); !set.ok()) {
          problem = std::string(set.status().message());
        } else {
          target->next_fetch_ns =
              core::NowNs() + int64_t{target->jwt.jwks_refresh_s} * 1'000'000'000;
          bool changed = target->keys.jwks == nullptr || r->body != target->last_body;
          target->last_body = std::move(r->body);
          target->keys.jwks = *std::move(set);
          ICAHT_LOG(kInfo, "service '", name, "': JWKS fetched from ", target->jwt.jwks_url);
          if (changed && on_change_) on_change_(name);
          return;
        }
        ICAHT_LOG_LIMITED(kWarn, "service '", name, "': JWKS fetch from ", target->jwt.jwks_url,
                          " failed (keeping the last good set; retry in 30 s): ", problem);
      });
}

}  // namespace icaht::admin
