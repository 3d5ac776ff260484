#include "registry/service_record.h"

#include <algorithm>
#include <array>

#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "http/field_syntax.h"
#include "registry/json_reader.h"
#include "registry/record_auth.h"
#include "registry/record_cache.h"
#include "registry/record_cors.h"
#include "registry/record_fault.h"
#include "registry/record_fields.h"
#include "registry/record_health.h"
#include "registry/record_lua.h"
#include "registry/record_mirror.h"
#include "registry/record_plugins.h"
#include "registry/record_rate_limit.h"
#include "registry/record_retries.h"
#include "registry/record_routes.h"
#include "registry/record_tracing.h"
#include "registry/record_upstream_policy.h"
#include "registry/service_record_json.h"

namespace icaht::registry {
namespace {

using json::FieldError;
using json::JoinPath;
using json::Value;

constexpr size_t kMaxNameLength = 63;
constexpr size_t kMaxVersionLength = 64;
constexpr size_t kMaxUpstreams = 64;
constexpr size_t kMaxRouteRuleLength = 1024;

// Fields of DESIGN.md's record that this build does not implement. They are
// refused, not ignored: a user who sends "auth" must not believe it is enforced.

constexpr std::array<std::string_view, 5> kLoadBalancers = {"round_robin", "least_request",
                                                            "random", "ring_hash", "maglev"};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

absl::Status ParseUpstream(Value& value, const std::string& path, UpstreamSpec& out) {
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  std::string address_path = path;
  if (type == simdjson::ondemand::json_type::string) {
    ICAHT_ASSIGN_OR_RETURN(out.address, json::ReadString(value, path));
  } else if (type == simdjson::ondemand::json_type::object) {
    bool has_address = false;
    address_path = JoinPath(path, "address");
    ICAHT_RETURN_IF_ERROR(
        json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
          std::string field_path = JoinPath(path, key);
          if (key == "address") {
            ICAHT_ASSIGN_OR_RETURN(out.address, json::ReadString(field, field_path));
            has_address = true;
          } else if (key == "weight") {
            ICAHT_ASSIGN_OR_RETURN(int64_t weight, json::ReadInt(field, field_path, 1, 1000));
            out.weight = static_cast<uint32_t>(weight);
          } else if (key == "tls") {
            ICAHT_RETURN_IF_ERROR(ParseUpstreamTls(field, field_path, out.tls));
          } else if (key == "labels") {
            ICAHT_RETURN_IF_ERROR(ParseLabels(field, field_path, out.labels));
          } else {
            return json::UnknownFieldError(field_path);
          }
          return absl::OkStatus();
        }));
    if (!has_address) return FieldError(address_path, "required");
  } else {
    return FieldError(path, "must be \"HOST:PORT\" or {\"address\": \"HOST:PORT\", \"weight\": N}");
  }
  absl::StatusOr<net::Address> resolved = net::Address::Parse(out.address);
  if (!resolved.ok()) return FieldError(address_path, std::string(resolved.status().message()));
  out.resolved = *resolved;
  return absl::OkStatus();
}

absl::Status ParseUpstreams(Value& value, const std::string& path, ServiceRecord& record) {
  ICAHT_RETURN_IF_ERROR(
      json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
        if (index >= kMaxUpstreams) {
          return FieldError(path, absl::StrFormat("must have at most %d entries", kMaxUpstreams));
        }
        UpstreamSpec upstream;
        ICAHT_RETURN_IF_ERROR(ParseUpstream(element, json::IndexPath(path, index), upstream));
        record.upstreams.push_back(std::move(upstream));
        return absl::OkStatus();
      }));
  if (record.upstreams.empty()) return FieldError(path, "must have at least one entry");
  return absl::OkStatus();
}

// Traefik names: entry points and middlewares ("auth@file"), 1..128 visible
// characters.
absl::Status ParseTraefikNames(Value& value, const std::string& path,
                               std::vector<std::string>& out) {
  out.clear();
  ICAHT_RETURN_IF_ERROR(
      json::ForEachElement(value, path, [&](size_t index, Value& element) -> absl::Status {
        std::string element_path = json::IndexPath(path, index);
        ICAHT_ASSIGN_OR_RETURN(std::string name, json::ReadString(element, element_path));
        bool ok = !name.empty() && name.size() <= 128;
        for (char c : name) ok &= c > 0x20 && c < 0x7f && c != '"' && c != '\\';
        if (!ok)
          return FieldError(element_path, "must be a Traefik name (1-128 visible characters)");
        out.push_back(std::move(name));
        return absl::OkStatus();
      }));
  if (out.size() > 16) return FieldError(path, "must have at most 16 entries");
  return absl::OkStatus();
}

absl::Status ParseRoute(Value& value, const std::string& path, ServiceRecord& record) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key == "entry_points")
      return ParseTraefikNames(field, field_path, record.route_entry_points);
    if (key == "middlewares") return ParseTraefikNames(field, field_path, record.route_middlewares);
    if (key == "priority") {
      ICAHT_ASSIGN_OR_RETURN(int64_t priority, json::ReadInt(field, field_path, 0, 1'000'000));
      record.route_priority = static_cast<int32_t>(priority);
      return absl::OkStatus();
    }
    if (key != "rule") return json::UnknownFieldError(field_path);
    ICAHT_ASSIGN_OR_RETURN(record.route_rule, json::ReadString(field, field_path));
    if (record.route_rule.size() > kMaxRouteRuleLength) {
      return FieldError(field_path,
                        absl::StrFormat("must be at most %d characters", kMaxRouteRuleLength));
    }
    return absl::OkStatus();
  });
}

absl::Status ParseTimeouts(Value& value, const std::string& path, TimeoutSpec& timeouts) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    uint32_t* target = nullptr;
    int64_t max = 0;
    if (key == "connect_ms") {
      target = &timeouts.connect_ms;
      max = 600'000;  // 10 minutes
    } else if (key == "request_ms") {
      target = &timeouts.request_ms;
      max = 3'600'000;  // 1 hour
    } else if (key == "idle_ms") {
      target = &timeouts.idle_ms;
      max = 86'400'000;  // 1 day
    } else if (key == "total_ms") {
      ICAHT_ASSIGN_OR_RETURN(int64_t ms, json::ReadInt(field, field_path, 0, 3'600'000));
      timeouts.total_ms = static_cast<uint32_t>(ms);
      return absl::OkStatus();
    } else if (key == "trust_header") {
      ICAHT_ASSIGN_OR_RETURN(timeouts.trust_header, json::ReadBool(field, field_path));
      return absl::OkStatus();
    } else {
      return json::UnknownFieldError(field_path);
    }
    ICAHT_ASSIGN_OR_RETURN(int64_t ms, json::ReadInt(field, field_path, 1, max));
    *target = static_cast<uint32_t>(ms);
    return absl::OkStatus();
  });
}

absl::Status ParseLimits(Value& value, const std::string& path, LimitSpec& limits) {
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    uint32_t* target = nullptr;
    int64_t min = 1;
    int64_t max = 0;
    if (key == "max_request_line") {
      target = &limits.max_request_line;
      min = 256;
      max = 1 << 20;
    } else if (key == "max_header_bytes") {
      target = &limits.max_header_bytes;
      min = 1024;
      max = 1 << 20;
    } else if (key == "max_headers") {
      target = &limits.max_headers;
      max = 1000;
    } else {
      return json::UnknownFieldError(field_path);
    }
    ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(field, field_path, min, max));
    *target = static_cast<uint32_t>(n);
    return absl::OkStatus();
  });
}

absl::Status ParseRequestId(Value& value, const std::string& path, filters::RequestIdSpec& spec) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  spec = filters::RequestIdSpec{};
  if (is_null) return absl::OkStatus();  // off, as when absent
  spec.enabled = true;
  return json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
    std::string field_path = JoinPath(path, key);
    if (key == "header") {
      ICAHT_ASSIGN_OR_RETURN(spec.header, json::ReadString(field, field_path));
      if (spec.header.empty() || spec.header.size() > kMaxHeaderNameLength ||
          !http::IsToken(spec.header)) {
        return FieldError(field_path, "must be a header name (1..64 token characters)");
      }
      return absl::OkStatus();
    }
    if (key == "trust_incoming") {
      ICAHT_ASSIGN_OR_RETURN(spec.trust_incoming, json::ReadBool(field, field_path));
      return absl::OkStatus();
    }
    return json::UnknownFieldError(field_path);
  });
}

absl::Status ParseLoadBalancer(Value& value, const std::string& path, ServiceRecord& record) {
  ICAHT_ASSIGN_OR_RETURN(std::string name, json::ReadString(value, path));
  for (std::string_view known : kLoadBalancers) {
    if (name == known) {
      record.load_balancer = std::move(name);
      return absl::OkStatus();
    }
  }
  return FieldError(path, "must be one of round_robin, least_request, random, ring_hash, maglev");
}

absl::Status ParseHashOn(Value& value, const std::string& path, ServiceRecord& record) {
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) {
    record.hash_on.clear();
    return absl::OkStatus();
  }
  ICAHT_ASSIGN_OR_RETURN(std::string text, json::ReadString(value, path));
  std::string_view rest = text;
  bool ok = text == "client_ip";
  for (std::string_view prefix : {"header:", "cookie:"}) {
    if (rest.starts_with(prefix)) {
      std::string_view name = rest.substr(prefix.size());
      ok = !name.empty() && name.size() <= kMaxHeaderNameLength && http::IsToken(name);
    }
  }
  if (!ok) {
    return FieldError(path,
                      "must be \"client_ip\", \"header:<name>\" or \"cookie:<name>\" (a token "
                      "of 1..64 characters)");
  }
  if (text.starts_with("header:")) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  record.hash_on = std::move(text);
  return absl::OkStatus();
}
// Dispatches one top-level field of the record.
absl::Status ParseRecordField(std::string_view key, Value& value, const std::string& path,
                              ServiceRecord& record, bool& has_name, bool& has_upstreams) {
  if (key == "name") {
    ICAHT_ASSIGN_OR_RETURN(record.name, json::ReadString(value, path));
    if (!IsValidServiceName(record.name)) {
      return FieldError(path,
                        "must be 1..63 characters of [a-z0-9._-] starting with a letter or digit");
    }
    has_name = true;
  } else if (key == "version") {
    ICAHT_ASSIGN_OR_RETURN(record.version, json::ReadString(value, path));
    if (record.version.size() > kMaxVersionLength) {
      return FieldError(path, absl::StrFormat("must be at most %d characters", kMaxVersionLength));
    }
  } else if (key == "upstreams") {
    ICAHT_RETURN_IF_ERROR(ParseUpstreams(value, path, record));
    has_upstreams = true;
  } else if (key == "subsets") {
    ICAHT_RETURN_IF_ERROR(ParseSubsets(value, path, record.subsets));
  } else if (key == "routes") {
    ICAHT_RETURN_IF_ERROR(ParseRoutes(value, path, record.routes));
  } else if (key == "port") {
    ICAHT_ASSIGN_OR_RETURN(int64_t port, json::ReadInt(value, path, 0, 65535));
    record.port = static_cast<uint16_t>(port);
  } else if (key == "route") {
    ICAHT_RETURN_IF_ERROR(ParseRoute(value, path, record));
  } else if (key == "ttl_s") {
    ICAHT_ASSIGN_OR_RETURN(int64_t ttl, json::ReadInt(value, path, 0, 86400));
    record.ttl_s = static_cast<uint32_t>(ttl);
  } else if (key == "timeouts") {
    ICAHT_RETURN_IF_ERROR(ParseTimeouts(value, path, record.timeouts));
  } else if (key == "load_balancer") {
    ICAHT_RETURN_IF_ERROR(ParseLoadBalancer(value, path, record));
  } else if (key == "hash_on") {
    ICAHT_RETURN_IF_ERROR(ParseHashOn(value, path, record));
  } else if (key == "limits") {
    ICAHT_RETURN_IF_ERROR(ParseLimits(value, path, record.limits));
  } else if (key == "request_id") {
    ICAHT_RETURN_IF_ERROR(ParseRequestId(value, path, record.request_id));
  } else if (key == "health") {
    ICAHT_RETURN_IF_ERROR(ParseHealth(value, path, record.health));
  } else if (key == "endpoints") {
    ICAHT_RETURN_IF_ERROR(ParseEndpoints(value, path, record.endpoints));
  } else if (key == "rate_limit") {
    ICAHT_RETURN_IF_ERROR(ParseRateLimits(value, path, record.rate_limits));
  } else if (key == "cors") {
    ICAHT_RETURN_IF_ERROR(ParseCors(value, path, record.cors));
  } else if (key == "auth") {
    ICAHT_RETURN_IF_ERROR(ParseAuth(value, path, record.auth));
  } else if (key == "max_body_bytes") {
    ICAHT_ASSIGN_OR_RETURN(record.max_body_bytes, json::ReadUint64(value, path));
  } else if (key == "retries") {
    ICAHT_RETURN_IF_ERROR(ParseRetries(value, path, record.retries));
  } else if (key == "mirror") {
    ICAHT_RETURN_IF_ERROR(ParseMirror(value, path, record.mirror));
  } else if (key == "tls") {
    ICAHT_RETURN_IF_ERROR(ParseTls(value, path, record.tls));
  } else if (key == "circuit_breaker") {
    ICAHT_RETURN_IF_ERROR(ParseCircuitBreaker(value, path, record.circuit_breaker));
  } else if (key == "outlier_detection") {
    ICAHT_RETURN_IF_ERROR(ParseOutlierDetection(value, path, record.outlier_detection));
  } else if (key == "tracing") {
    ICAHT_RETURN_IF_ERROR(ParseTracing(value, path, record.tracing));
  } else if (key == "fault") {
    ICAHT_RETURN_IF_ERROR(ParseFault(value, path, record.fault));
  } else if (key == "cache") {
    ICAHT_RETURN_IF_ERROR(ParseCache(value, path, record.cache));
  } else if (key == "access_log") {
    ICAHT_ASSIGN_OR_RETURN(record.access_log, json::ReadBool(value, path));
  } else if (key == "egress") {
    ICAHT_RETURN_IF_ERROR(ParseEgress(value, path, record.egress));
  } else if (key == "serving") {
    // Reported by GET (the daemon's state, not the user's): accepted and
    // ignored, so that a record read with GET can be sent back with PUT.
    ICAHT_RETURN_IF_ERROR(json::ReadBool(value, path).status());
  } else if (key == "ejected") {
    // Also GET's: the instances outlier detection holds out of the rotation.
    ICAHT_RETURN_IF_ERROR(
        json::ForEachElement(value, path, [&](size_t i, json::Value& e) -> absl::Status {
          return json::ReadString(e, json::IndexPath(path, i)).status();
        }));
  } else if (key == "plugins") {
    ICAHT_RETURN_IF_ERROR(ParsePlugins(value, path, record.plugins));
  } else if (key == "lua") {
    ICAHT_RETURN_IF_ERROR(ParseLua(value, path, record.lua));
  } else {
    return json::UnknownFieldError(path);
  }
  return absl::OkStatus();
}

}  // namespace

std::string TlsServerName(const UpstreamSpec& upstream) {
  if (upstream.tls && !upstream.tls->server_name.empty()) return upstream.tls->server_name;
  std::string_view host = upstream.address;
  host = host.substr(0, host.rfind(':'));
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return std::string(host);
}

bool IsValidServiceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  char first = name.front();
  if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

std::string DefaultRouteRule(std::string_view name) {
  return absl::StrFormat("PathPrefix(`/%s`)", name);
}

std::string EffectiveRouteRule(const ServiceRecord& record) {
  return record.route_rule.empty() ? DefaultRouteRule(record.name) : record.route_rule;
}

absl::StatusOr<ServiceRecord> ParseServiceRecordValue(simdjson::ondemand::value value,
                                                      std::string_view field_prefix) {
  // "services[2]." -> "services[2]": field paths are built with JoinPath.
  std::string_view object_path = field_prefix;
  if (!object_path.empty() && object_path.back() == '.') object_path.remove_suffix(1);

  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type != simdjson::ondemand::json_type::object) {
    if (object_path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("a service record must be a JSON object, got %s", json::TypeName(type)));
    }
    return FieldError(object_path, "must be an object");
  }

  ServiceRecord record;
  bool has_name = false;
  bool has_upstreams = false;
  ICAHT_RETURN_IF_ERROR(json::ForEachField(
      value, object_path, [&](std::string_view key, Value& field) -> absl::Status {
        return ParseRecordField(key, field, JoinPath(object_path, key), record, has_name,
                                has_upstreams);
      }));
  if (!has_name) return FieldError(JoinPath(object_path, "name"), "required");
  if (!has_upstreams) return FieldError(JoinPath(object_path, "upstreams"), "required");
  ICAHT_RETURN_IF_ERROR(CheckAuthAndEndpoints(record.auth, record.endpoints, object_path));
  for (size_t i = 0; i < record.endpoints.size(); ++i) {
    for (const auto& [name, values] : record.endpoints[i].claims) {
      if (name.starts_with("peer.") && (!record.tls || (record.tls->client_ca_file.empty() &&
                                                        !record.tls->require_client_cert))) {
        return FieldError(json::IndexPath(JoinPath(object_path, "endpoints"), i) + ".auth",
                          "peer.* claims need tls with client certificates (client_ca_file)");
      }
    }
  }
  // hash_on keys the hashing balancers and makes weighted splits sticky.
  if (!record.hash_on.empty() && record.load_balancer != "ring_hash" &&
      record.load_balancer != "maglev" && record.routes.empty()) {
    return FieldError(JoinPath(object_path, "hash_on"),
                      absl::StrFormat("only with load_balancer ring_hash or maglev, or routes "
                                      "(this record has %s and none)",
                                      record.load_balancer));
  }
  ICAHT_RETURN_IF_ERROR(CheckRoutes(record, object_path));
  // A delay that long would meet the paused exchange's deadline: a 504 that
  // looks like the upstream's timeout.
  if (record.fault && record.fault->delay_ms >= record.timeouts.request_ms) {
    return FieldError(
        JoinPath(JoinPath(object_path, "fault"), "delay_ms"),
        absl::StrFormat("must be below timeouts.request_ms (%d)", record.timeouts.request_ms));
  }
  if (record.route_rule.empty()) record.route_rule = DefaultRouteRule(record.name);
  return record;
}

absl::StatusOr<ServiceRecord> ParseServiceRecord(std::string_view json_text) {
  ServiceRecord record;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(json_text, [&](Value& root) -> absl::Status {
    ICAHT_ASSIGN_OR_RETURN(record, ParseServiceRecordValue(root, ""));
    return absl::OkStatus();
  }));
  return record;
}

void WriteJson(JsonWriter& w, const ServiceRecord& record) {
  w.StartObject();
  w.Key("name").String(record.name);
  w.Key("version").String(record.version);
  w.Key("upstreams").StartArray();
  for (const UpstreamSpec& upstream : record.upstreams) {
    w.StartObject().Key("address").String(upstream.address).Key("weight").Uint(upstream.weight);
    if (upstream.tls) WriteUpstreamTls(w.Key("tls"), *upstream.tls);
    if (!upstream.labels.empty()) WriteLabels(w.Key("labels"), upstream.labels);
    w.EndObject();
  }
  w.EndArray();
  // Traffic splitting, only when set (as the route's optional settings below).
  if (!record.subsets.empty()) WriteSubsets(w.Key("subsets"), record.subsets);
  if (!record.routes.empty()) WriteRoutes(w.Key("routes"), record.routes);
  w.Key("port").Uint(record.port);
  w.Key("route").StartObject().Key("rule").String(EffectiveRouteRule(record));
  // Traefik's optional router settings, only when set (the canonical form of
  // a record that uses none stays as it was).
  if (!record.route_entry_points.empty()) {
    w.Key("entry_points").StartArray();
    for (const std::string& name : record.route_entry_points) w.String(name);
    w.EndArray();
  }
  if (!record.route_middlewares.empty()) {
    w.Key("middlewares").StartArray();
    for (const std::string& name : record.route_middlewares) w.String(name);
    w.EndArray();
  }
  if (record.route_priority != 0) w.Key("priority").Int(record.route_priority);
  w.EndObject();
  w.Key("ttl_s").Uint(record.ttl_s);
  w.Key("timeouts").StartObject();
  w.Key("connect_ms").Uint(record.timeouts.connect_ms);
  w.Key("request_ms").Uint(record.timeouts.request_ms);
  w.Key("idle_ms").Uint(record.timeouts.idle_ms);
  w.Key("total_ms").Uint(record.timeouts.total_ms);
  w.Key("trust_header").Bool(record.timeouts.trust_header);
  w.EndObject();
  w.Key("load_balancer").String(record.load_balancer);
  if (record.hash_on.empty()) {
    w.Key("hash_on").Null();
  } else {
    w.Key("hash_on").String(record.hash_on);
  }
  w.Key("retries");
  WriteRetries(w, record.retries);
  w.Key("circuit_breaker");
  WriteCircuitBreaker(w, record.circuit_breaker);
  w.Key("outlier_detection");
  WriteOutlierDetection(w, record.outlier_detection);
  w.Key("mirror");
  WriteMirror(w, record.mirror);
  w.Key("max_body_bytes").Uint(record.max_body_bytes);
  w.Key("limits").StartObject();
  w.Key("max_request_line").Uint(record.limits.max_request_line);
  w.Key("max_header_bytes").Uint(record.limits.max_header_bytes);
  w.Key("max_headers").Uint(record.limits.max_headers);
  w.EndObject();
  if (record.request_id.enabled) {
    w.Key("request_id").StartObject();
    w.Key("header").String(record.request_id.header);
    w.Key("trust_incoming").Bool(record.request_id.trust_incoming);
    w.EndObject();
  } else {
    w.Key("request_id").Null();
  }
  w.Key("health");
  WriteHealth(w, record.health);
  w.Key("endpoints");
  WriteEndpoints(w, record.endpoints);
  w.Key("auth");
  WriteAuth(w, record.auth);
  w.Key("cors");
  WriteCors(w, record.cors);
  w.Key("rate_limit");
  WriteRateLimits(w, record.rate_limits);
  w.Key("fault");
  WriteFault(w, record.fault);
  w.Key("cache");
  WriteCache(w, record.cache);
  w.Key("tracing");
  WriteTracing(w, record.tracing);
  w.Key("access_log").Bool(record.access_log);
  if (!record.plugins.empty()) {
    w.Key("plugins");
    WritePlugins(w, record.plugins);
  }
  if (record.lua) {
    w.Key("lua");
    WriteLua(w, record.lua);
  }
  w.Key("tls");
  WriteTls(w, record.tls);
  w.Key("egress");
  WriteEgress(w, record.egress);
  w.EndObject();
}

std::string ToJson(const ServiceRecord& record) {
  JsonWriter w;
  WriteJson(w, record);
  return std::move(w).Take();
}

}  // namespace icaht::registry
