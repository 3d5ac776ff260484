// The admin API (HTTP/1.1 + JSON over the admin socket) and the ops
// endpoints: the Control members that answer requests. Start-up, signals,
// persistence and restore are in control.cc.

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "admin/control.h"
#include "admin/plugin_loader.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "proxy/config_from_record.h"
#include "proxy/egress_config.h"
#include "registry/json_writer.h"
#include "registry/service_record.h"

namespace icaht::admin {
namespace {

// Automatically chosen ports tried per registration when each is taken between
// the probe and the shards' bind; bounded so a host whose range keeps filling
// up answers instead of walking the whole range.
constexpr int kAutoPortAttempts = 8;

struct ErrorMapping {
  int status;
  const char* code;
};

ErrorMapping MapStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return {400, "invalid_argument"};
    case absl::StatusCode::kNotFound:
      return {404, "not_found"};
    case absl::StatusCode::kAlreadyExists:
      return {409, "already_exists"};
    case absl::StatusCode::kAborted:
      return {409, "aborted"};
    case absl::StatusCode::kResourceExhausted:
      return {507, "resource_exhausted"};
    case absl::StatusCode::kUnavailable:
      return {503, "unavailable"};
    case absl::StatusCode::kPermissionDenied:
      return {403, "permission_denied"};
    case absl::StatusCode::kUnimplemented:
      return {501, "unimplemented"};
    default:
      return {500, "internal"};
  }
}

ControlResponse ErrorResponse(const absl::Status& status) {
  ErrorMapping m = MapStatus(status);
  return {m.status, "application/json",
          registry::JsonErrorBody(m.code, std::string(status.message()))};
}

ControlResponse ErrorResponse(int http_status, std::string_view code, std::string_view message) {
  return {http_status, "application/json", registry::JsonErrorBody(code, message)};
}

ControlResponse JsonResponse(int status, std::string body) {
  return {status, "application/json", std::move(body)};
}

// Tells systemd (Type=notify) our state, if it asked (NOTIFY_SOCKET).

}  // namespace

Control::CommandFactory Control::UpsertOnShards(
    std::shared_ptr<const registry::ServiceRecord> record) {
  auto specs = std::make_shared<std::shared_ptr<filters::FilterSpecs>>();
  return [this, record, specs](proxy::Shard* shard, proxy::ShardCommand::Done done) {
    return new proxy::UpsertServiceCommand(shard, MakeServiceConfig(*record, specs.get()),
                                           std::move(done));
  };
}

std::unique_ptr<proxy::ServiceConfig> Control::MakeServiceConfig(
    const registry::ServiceRecord& record, std::shared_ptr<filters::FilterSpecs>* shared_specs) {
  std::unique_ptr<proxy::ServiceConfig> config =
      proxy::ServiceConfigFromRecord(record, config_.bind_address, config_.drain_timeout_ms,
                                     shared_specs != nullptr ? *shared_specs : nullptr);
  for (proxy::UpstreamConfig& upstream : config->upstreams) {
    upstream.healthy = health_->Healthy(record.name, upstream.address);
    // Only while the record asks for outlier detection (a PUT that drops it
    // must bring every instance back).
    upstream.ejected = record.outlier_detection && OutlierEjected(record.name, upstream.address);
  }
  if (shared_specs == nullptr || *shared_specs == nullptr) {
    filters::FilterSpecs& specs = config->mutable_filters();
    specs.auth_keys = keys_->Keys(record.name);
    specs.shard_count = shards_.size();
    // Loaded when the record was applied (LoadFiles): found again here. A file
    // gone since leaves its library null, and its filter answers 500.
    if (absl::Status plugins = ResolvePlugins(specs.plugins, config_.plugin_dir); !plugins.ok()) {
      ICAHT_LOG(kError, "service '", record.name, "': ", plugins.message());
    }
    if (shared_specs != nullptr) *shared_specs = config->filter_specs;
  }
  TlsStore::Contexts tls = tls_->Get(record);
  config->tls = std::move(tls.server);
  for (size_t i = 0; i < tls.upstreams.size() && i < config->upstreams.size(); ++i) {
    config->upstreams[i].tls = std::move(tls.upstreams[i]);
  }
  config->series = SeriesFor(record.name);
  for (const filters::SubsetSpec& subset : record.subsets) {
    config->subset_series.push_back(config->series->Subset(subset.name));
  }
  if (!record.egress.via_ingress) {
    config->make_egress = [spec = record.egress](const proxy::ServiceConfig& ingress) {
      return proxy::EgressConfigFor(ingress, spec);
    };
  }
  return config;
}

void Control::AnswerWhenDurable(Responder* responder, ControlResponse response) {
  store_->WhenDurable([responder, response = std::move(response)](bool ok) mutable {
    if (ok) return responder->Send(std::move(response));
    responder->Send(ErrorResponse(
        500, "not_durable",
        "the change is in force but could not be saved: it may not survive a restart (see the "
        "daemon's log)"));
  });
}

void Control::SetUpstreamTls(const std::string& service, const net::Address& address,
                             proxy::ClientCallSpec* spec) {
  const registry::ServiceRecord* record = registry_.Find(service);
  if (record == nullptr) return;
  TlsStore::Contexts tls = tls_->Get(*record);
  for (size_t i = 0; i < record->upstreams.size() && i < tls.upstreams.size(); ++i) {
    if (record->upstreams[i].resolved != address || tls.upstreams[i] == nullptr) continue;
    spec->tls = tls.upstreams[i];
    spec->server_name = registry::TlsServerName(record->upstreams[i]);
    return;
  }
}

absl::Status Control::LoadFiles(const registry::ServiceRecord& record) {
  std::vector<filters::PluginSpec> plugins = record.plugins;
  ICAHT_RETURN_IF_ERROR(ResolvePlugins(plugins, config_.plugin_dir));
  ICAHT_RETURN_IF_ERROR(CheckLuaScript(record));
  auto tls = tls_->Prepare(record);
  if (!tls.ok()) return tls.status();
  ICAHT_RETURN_IF_ERROR(keys_->Load(record));
  // A record without TLS removes nothing yet: if it is refused, the entry in
  // force stays; if it is applied, building its config drops the entry.
  if (*tls != nullptr) tls_->Commit(record.name, *std::move(tls));
  return absl::OkStatus();
}

void Control::Apply(registry::ServiceRecord record,
                    std::function<void(absl::StatusOr<registry::ServiceRecord>)> done) {
  ApplyAttempt(std::move(record), 1, 0, std::move(done));
}

void Control::ApplyAttempt(registry::ServiceRecord record, int attempt, uint16_t after,
                           std::function<void(absl::StatusOr<registry::ServiceRecord>)> done) {
  if (stopping_) return done(absl::UnavailableError("icaht-sidecar is shutting down"));
  if (after == 0) {
    if (absl::Status files = LoadFiles(record); !files.ok()) return done(files);
  }
  absl::StatusOr<uint16_t> port = registry_.ReservePort(record, after);
  if (!port.ok()) {
    if (after == 0) return done(port.status());
    return done(absl::Status(port.status().code(),
                             absl::StrCat("port ", after,
                                          " was taken by another process before it could be "
                                          "bound, and then: ",
                                          port.status().message())));
  }
  bool chosen = record.port == 0;
  record.port = *port;
  if (absl::Status loop = registry_.CheckNoSelfLoop(record); !loop.ok()) {
    registry_.Abort(record.name);
    return done(loop);
  }
  auto shared = std::make_shared<const registry::ServiceRecord>(std::move(record));
  OpenOnShards(shared, [this, shared, chosen, attempt, done](absl::Status status) {
    if (status.ok()) {
      CommitRecord(*shared);
      return done(*shared);
    }
    registry_.Abort(shared->name);
    DropSeriesIfUnregistered(shared->name);
    // EADDRINUSE (the only bind error mapped to AlreadyExists): the port was
    // taken after the probe said it was free.
    if (!chosen || status.code() != absl::StatusCode::kAlreadyExists) return done(status);
    if (attempt >= kAutoPortAttempts) {
      return done(absl::AlreadyExistsError(
          absl::StrCat(status.message(), " (gave up after ", attempt,
                       " automatically chosen ports were taken by other processes between the "
                       "probe and the bind)")));
    }
    ICAHT_LOG(kWarn, "service '", shared->name, "': port ", shared->port,
              " was taken by another process before it could be bound; trying the next free "
              "port");
    registry::ServiceRecord retry = *shared;
    retry.port = 0;
    ApplyAttempt(std::move(retry), attempt + 1, shared->port, done);
  });
}

void Control::Register(std::string body, Responder* responder) {
  Enqueue([this, body = std::move(body), responder](std::function<void()> done) {
    absl::StatusOr<registry::ServiceRecord> record = registry::ParseServiceRecord(body);
    if (!record.ok()) {
      responder->Send(ErrorResponse(record.status()));
      return done();
    }
    Apply(std::move(*record),
          [this, responder, done](absl::StatusOr<registry::ServiceRecord> result) {
            if (result.ok()) {
              CountChange(RegistryOp::kRegister);
              AnswerWhenDurable(responder, JsonResponse(201, registry::ToJson(*result)));
            } else {
              responder->Send(ErrorResponse(result.status()));
            }
            done();
          });
  });
}

void Control::Replace(std::string name, std::string body, Responder* responder) {
  Enqueue([this, name = std::move(name), body = std::move(body),
           responder](std::function<void()> done) {
    if (stopping_) {
      responder->Send(ErrorResponse(absl::UnavailableError("icaht-sidecar is shutting down")));
      return done();
    }
    absl::StatusOr<registry::ServiceRecord> record = registry::ParseServiceRecord(body);
    if (!record.ok()) {
      responder->Send(ErrorResponse(record.status()));
      return done();
    }
    if (record->name == name) {
      if (absl::Status files = LoadFiles(*record); !files.ok()) {
        responder->Send(ErrorResponse(files));
        return done();
      }
    }
    absl::Status begin = registry_.BeginReplace(name, *record);
    if (!begin.ok()) {
      responder->Send(ErrorResponse(begin));
      return done();
    }
    record->port = registry_.Find(name)->port;
    if (absl::Status loop = registry_.CheckNoSelfLoop(*record); !loop.ok()) {
      registry_.Abort(name);
      responder->Send(ErrorResponse(loop));
      return done();
    }
    if (unbound_.contains(name)) {
      // Not on any shard (its port is busy): the next bind retry takes the new record.
      CommitRecord(*record);
      CountChange(RegistryOp::kUpdate);
      AnswerWhenDurable(responder, JsonResponse(200, registry::ToJson(*record)));
      return done();
    }
    auto shared = std::make_shared<registry::ServiceRecord>(std::move(*record));
    Broadcast(UpsertOnShards(shared), [this, shared, responder, done](absl::Status status) {
      if (status.ok()) {
        CommitRecord(*shared);
        CountChange(RegistryOp::kUpdate);
        AnswerWhenDurable(responder, JsonResponse(200, registry::ToJson(*shared)));
      } else {
        registry_.Abort(shared->name);
        responder->Send(ErrorResponse(status));
      }
      done();
    });
  });
}

void Control::Deregister(std::string name, Responder* responder) {
  Enqueue([this, name = std::move(name), responder](std::function<void()> done) {
    if (stopping_) {  // the shards are stopping (or gone): no message may reach them
      if (responder != nullptr) {
        responder->Send(ErrorResponse(absl::UnavailableError("icaht-sidecar is shutting down")));
      }
      return done();
    }
    absl::Status begin = registry_.BeginRemove(name);
    if (!begin.ok()) {
      if (responder != nullptr) responder->Send(ErrorResponse(begin));
      return done();
    }
    uint16_t port = registry_.Find(name)->port;
    Broadcast(
        [port](proxy::Shard* shard, proxy::ShardCommand::Done d) {
          return new proxy::RemoveServiceCommand(shard, port, std::move(d));
        },
        [this, name, responder, done](absl::Status) {
          // Every shard has closed its listener: the port refuses and is free.
          registry_.Remove(name);
          rate_limited_.erase(name);
          CountChange(RegistryOp::kDeregister);
          DropSeriesIfUnregistered(name);
          health_->Remove(name);
          outliers_.erase(name);
          keys_->Remove(name);
          tls_->Remove(name);
          unbound_.erase(name);
          last_heartbeat_ns_.erase(name);
          if (persist_ && !static_names_.erase(name)) {
            store_->Delete(name);
            MaybeCompact();
          }
          TraefikChanged(name);
          if (responder != nullptr) AnswerWhenDurable(responder, {204, "application/json", ""});
          done();
        });
  });
}

void Control::Heartbeat(const std::string& name, Responder* responder) {
  const registry::ServiceRecord* record = registry_.Find(name);
  if (record == nullptr) {
    return responder->Send(
        ErrorResponse(404, "not_found", absl::StrCat("service '", name, "' is not registered")));
  }
  if (record->ttl_s > 0) last_heartbeat_ns_[name] = core::NowNs();
  registry::JsonWriter json;
  json.StartObject().Key("name").String(name).Key("ttl_s").Uint(record->ttl_s).EndObject();
  responder->Send(JsonResponse(200, std::move(json).Take()));
}

namespace {

// The value of `key` in a query string, percent-decoded ('+' is a space);
// nullopt when absent or badly encoded.
std::optional<std::string> QueryValue(std::string_view query, std::string_view key) {
  for (;;) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) {
      if (query.empty()) return std::nullopt;
      continue;
    }
    std::string_view encoded = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < encoded.size(); ++i) {
      char c = encoded[i];
      if (c == '+') {
        out.push_back(' ');
      } else if (c != '%') {
        out.push_back(c);
      } else {
        int hi = i + 2 < encoded.size() ? http::HexValue(encoded[i + 1]) : -1;
        int lo = hi >= 0 ? http::HexValue(encoded[i + 2]) : -1;
        if (lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      }
    }
    return out;
  }
}

}  // namespace

void Control::PurgeCache(const std::string& name, const std::string& query, Responder* responder) {
  const registry::ServiceRecord* record = registry_.Find(name);
  if (record == nullptr) {
    return responder->Send(
        ErrorResponse(404, "not_found", absl::StrCat("service '", name, "' is not registered")));
  }
  if (!record->cache) {
    return responder->Send(ErrorResponse(400, "failed_precondition",
                                         absl::StrCat("service '", name, "' has no cache")));
  }
  // One URI: the path (and query) as clients send it; the cache keys start
  // with it and a newline (filters/cache_filter.h).
  std::string prefix;
  if (!query.empty()) {
    std::optional<std::string> path = QueryValue(query, "path");
    if (!path || path->empty() || (*path)[0] != '/') {
      return responder->Send(
          ErrorResponse(400, "invalid_argument",
                        "query: path must be an origin-form URI (\"/...\", percent-encoded)"));
    }
    std::string_view uri = *path;
    if (record->cache->key_ignore_query) uri = uri.substr(0, uri.find('?'));
    prefix.assign(uri).push_back('\n');
  }
  auto purged = std::make_shared<std::atomic<size_t>>(0);
  uint16_t port = record->port;
  Broadcast(
      [&](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::PurgeCacheCommand(shard, port, prefix, purged, std::move(d));
      },
      [responder, purged, name](absl::Status status) {
        if (!status.ok()) return responder->Send(ErrorResponse(status));
        registry::JsonWriter json;
        json.StartObject().Key("service").String(name).Key("purged").Uint(purged->load());
        json.EndObject();
        responder->Send(JsonResponse(200, std::move(json).Take()));
      });
}

void Control::ExpireTtls() {
  int64_t now = core::NowNs();
  std::vector<std::string> expired;
  for (const auto& [name, last] : last_heartbeat_ns_) {
    const registry::ServiceRecord* record = registry_.Find(name);
    if (record == nullptr || record->ttl_s == 0) continue;
    if (now - last > int64_t{record->ttl_s} * 1'000'000'000) expired.push_back(name);
  }
  for (const std::string& name : expired) {
    ICAHT_LOG(kInfo, "service '", name, "' missed its heartbeat (ttl): deregistering");
    last_heartbeat_ns_.erase(name);
    Deregister(name, nullptr);
  }
  if (!last_heartbeat_ns_.empty()) ring_->timers().Arm(&ttl_timer_, now + 1'000'000'000);
}

std::string Control::ApiJson(const registry::ServiceRecord& record) const {
  // The stored record plus the daemon's view of it: "serving" is false while
  // its port is held by another process (kept registered after a restore, see
  // RestoreOne). ToJson writes one object, so the field goes before its '}'.
  std::string json = registry::ToJson(record);
  json.pop_back();
  json += unbound_.contains(record.name) ? ",\"serving\":false" : ",\"serving\":true";
  // With outlier detection, the instances it holds out of the rotation (by
  // the addresses the record names, each once).
  if (record.outlier_detection) {
    json += ",\"ejected\":[";
    std::vector<std::string_view> listed;
    for (const registry::UpstreamSpec& upstream : record.upstreams) {
      if (!OutlierEjected(record.name, upstream.resolved) ||
          std::find(listed.begin(), listed.end(), upstream.address) != listed.end()) {
        continue;
      }
      if (!listed.empty()) json += ',';
      listed.push_back(upstream.address);
      json += absl::StrCat("\"", upstream.address, "\"");
    }
    json += "]";
  }
  json += "}";
  return json;
}

void Control::HandleAdmin(const ControlRequest& request, Responder* responder) {
  constexpr std::string_view kPrefix = "/v1/services";
  const std::string& path = request.path;
  // The ops listener's page, for clients that speak only to this socket
  // (icahtctl top); fine while starting.
  if (path == "/metrics") return HandleOps(request, responder);
  if (starting_) {
    return responder->Send(
        ErrorResponse(503, "unavailable", "starting: restoring registrations; retry in a moment"));
  }
  if (path == "/v1/reload") {
    if (request.method != "POST") {
      return responder->Send(ErrorResponse(405, "method_not_allowed", "reload: allowed is POST"));
    }
    return Reload([responder](absl::StatusOr<ReloadResult> result) {
      if (!result.ok()) return responder->Send(ErrorResponse(result.status()));
      responder->Send(JsonResponse(200, result->ToJson()));
    });
  }
  if (path == kPrefix || path == "/v1/services/") {
    if (request.method == "GET") {
      registry::JsonWriter json;
      json.StartObject().Key("services").StartArray();
      for (const registry::ServiceRecord* record : registry_.List()) {
        json.RawValue(ApiJson(*record));
      }
      json.EndArray().EndObject();
      return responder->Send(JsonResponse(200, std::move(json).Take()));
    }
    if (request.method == "POST") {
      if (stopping_) {
        return responder->Send(ErrorResponse(503, "unavailable", "icaht-sidecar is shutting down"));
      }
      return Register(request.body, responder);
    }
    return responder->Send(
        ErrorResponse(405, "method_not_allowed",
                      absl::StrCat(request.method, " ", path, ": allowed are GET and POST")));
  }
  if (absl::StartsWith(path, "/v1/services/")) {
    std::string_view rest = std::string_view(path).substr(kPrefix.size() + 1);
    size_t slash = rest.find('/');
    std::string name(rest.substr(0, slash));
    if (slash != std::string_view::npos && rest.substr(slash) == "/cache") {
      if (request.method != "DELETE") {
        return responder->Send(
            ErrorResponse(405, "method_not_allowed", "cache: allowed is DELETE (a purge)"));
      }
      return PurgeCache(name, request.query, responder);
    }
    if (slash != std::string_view::npos) {
      if (rest.substr(slash) != "/heartbeat") {
        return responder->Send(ErrorResponse(404, "not_found", absl::StrCat("no route ", path)));
      }
      if (request.method != "PUT" && request.method != "POST") {
        return responder->Send(
            ErrorResponse(405, "method_not_allowed", "heartbeat: allowed is PUT"));
      }
      return Heartbeat(name, responder);
    }
    if (request.method == "GET") {
      const registry::ServiceRecord* record = registry_.Find(name);
      if (record == nullptr) {
        return responder->Send(ErrorResponse(
            404, "not_found", absl::StrCat("service '", name, "' is not registered")));
      }
      return responder->Send(JsonResponse(200, ApiJson(*record)));
    }
    if (request.method == "PUT") return Replace(name, request.body, responder);
    if (request.method == "DELETE") return Deregister(name, responder);
    return responder->Send(ErrorResponse(
        405, "method_not_allowed",
        absl::StrCat(request.method, " ", path, ": allowed are GET, PUT and DELETE")));
  }
  return responder->Send(ErrorResponse(404, "not_found", absl::StrCat("no route ", path)));
}

void Control::HandleOps(const ControlRequest& request, Responder* responder) {
  if (request.method != "GET" && request.method != "HEAD") {
    return responder->Send(ErrorResponse(405, "method_not_allowed", "ops endpoints are GET only"));
  }
  if (request.path == "/health") {
    return responder->Send(JsonResponse(200, "{\"status\":\"ok\"}"));
  }
  if (request.path == "/metrics") {
    metrics::Format format = metrics::FormatFor(request.accept);
    return responder->Send({200, std::string(metrics::ContentType(format)), RenderMetrics(format)});
  }
  if (request.path == "/traefik") {
    return responder->Send(
        {200, "application/json", TraefikConfig(discovery::TraefikFormat::kJson)});
  }
  if (request.path == "/ready") {
    if (ready_) return responder->Send(JsonResponse(200, "{\"status\":\"ready\"}"));
    return responder->Send(
        JsonResponse(503, stopping_ ? "{\"status\":\"stopping\"}" : "{\"status\":\"starting\"}"));
  }
  return responder->Send(ErrorResponse(404, "not_found", absl::StrCat("no route ", request.path)));
}

}  // namespace icaht::admin
