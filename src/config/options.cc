// The option table and each option's setter (options.h).

#include "config/options.h"

#include <sys/un.h>

#include <array>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "config/value_parsers.h"
#include "core/status_macros.h"
#include "net/host_pattern.h"
#include "net/http_url.h"

namespace icaht::config {
namespace {

absl::Status Expected(const Option& option, std::string_view got) {
  return absl::InvalidArgumentError(absl::StrFormat("expected %s, got '%s'", option.expected, got));
}

// An integer in [lo, hi] for a uint32_t field.
absl::Status SetBoundedUint(std::string_view name, uint64_t lo, uint64_t hi, std::string_view text,
                            uint32_t& out) {
  uint64_t n = 0;
  if (!ParseUint(text, n) || n < lo || n > hi) return Expected(FindOptionOrDie(name), text);
  out = static_cast<uint32_t>(n);
  return absl::OkStatus();
}

absl::Status SetAdminSocket(std::string_view text, DaemonConfig& config) {
  // sun_path holds the path and its NUL.
  if (text.empty() || text.size() >= sizeof(sockaddr_un::sun_path)) {
    return Expected(FindOptionOrDie("admin_socket"), text);
  }
  config.admin_socket = std::string(text);
  return absl::OkStatus();
}

absl::Status SetOpsListen(std::string_view text, DaemonConfig& config) {
  absl::StatusOr<net::Address> address = net::Address::ParseListen(text);
  if (!address.ok()) return address.status();
  config.ops_listen = *address;
  return absl::OkStatus();
}

absl::Status SetShards(std::string_view text, DaemonConfig& config) {
  return SetBoundedUint("shards", 1, 256, text, config.shards);
}

absl::Status SetPortRange(std::string_view text, DaemonConfig& config) {
  size_t dash = text.find('-');
  uint64_t lo = 0;
  uint64_t hi = 0;
  if (dash == std::string_view::npos || !ParseUint(text.substr(0, dash), lo) ||
      !ParseUint(text.substr(dash + 1), hi) || lo < 1 || lo > hi || hi > 65535) {
    return Expected(FindOptionOrDie("port_range"), text);
  }
  config.port_range = PortRange{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
  return absl::OkStatus();
}

absl::Status SetStateDir(std::string_view text, DaemonConfig& config) {
  if (text.empty()) return Expected(FindOptionOrDie("state_dir"), text);
  config.state_dir = std::string(text);
  return absl::OkStatus();
}

absl::Status SetPluginDir(std::string_view text, DaemonConfig& config) {
  if (text.empty() || text.front() != '/') return Expected(FindOptionOrDie("plugin_dir"), text);
  config.plugin_dir = std::string(text);
  return absl::OkStatus();
}

absl::Status SetBindAddress(std::string_view text, DaemonConfig& config) {
  absl::StatusOr<net::Address> address = net::Address::FromIp(text, 0);
  if (!address.ok()) return address.status();
  config.bind_address = *address;
  return absl::OkStatus();
}

absl::Status SetAdvertiseAddress(std::string_view text, DaemonConfig& config) {
  // A DNS name or an IP literal (IPv6 with or without brackets); no port, since
  // every service has its own.
  bool ok = !text.empty() && text.size() <= 253;
  for (char c : text) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == ':' || c == '[' || c == ']');
  }
  if (!ok) return Expected(FindOptionOrDie("advertise_address"), text);
  config.advertise_address = std::string(text);
  return absl::OkStatus();
}

absl::Status SetEgressListen(std::string_view text, DaemonConfig& config) {
  if (text == "off") {
    config.egress_listen.reset();
    return absl::OkStatus();
  }
  absl::StatusOr<net::Address> address = net::Address::ParseListen(text);
  if (!address.ok()) return address.status();
  config.egress_listen = *address;
  return absl::OkStatus();
}

absl::Status SetEgressAllow(std::string_view text, DaemonConfig& config) {
  std::vector<std::string> patterns;
  for (absl::string_view piece : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    if (piece.empty()) continue;
    absl::StatusOr<net::HostPattern> pattern =
        net::HostPattern::Parse(std::string_view(piece.data(), piece.size()));
    if (!pattern.ok()) return pattern.status();
    patterns.emplace_back(piece);
  }
  config.egress_allow = std::move(patterns);
  return absl::OkStatus();
}

absl::Status SetEgressCa(std::string_view text, DaemonConfig& config) {
  config.egress_ca = std::string(text);
  return absl::OkStatus();
}

absl::Status SetEgressDns(std::string_view text, DaemonConfig& config) {
  std::vector<std::string> servers;
  for (absl::string_view piece : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    if (piece.empty()) continue;
    std::string_view server(piece.data(), piece.size());
    size_t colon = server.rfind(':');
    // An IP literal ("localhost" would need a resolver of its own).
    bool literal = server[0] == '[' || (server[0] >= '0' && server[0] <= '9');
    if (colon == std::string_view::npos || !literal || !net::Address::Parse(server).ok() ||
        !net::Address::FromIp(server.substr(0, colon), 53).ok()) {
      return Expected(FindOptionOrDie("egress_dns"), server);
    }
    servers.emplace_back(server);
  }
  config.egress_dns = std::move(servers);
  return absl::OkStatus();
}

absl::Status SetEgressSuffix(std::string_view text, DaemonConfig& config) {
  std::string_view name = text.starts_with('.') ? text.substr(1) : text;
  if (!text.empty() && !net::IsValidHostName(name)) {
    return Expected(FindOptionOrDie("egress_suffix"), text);
  }
  config.egress_suffix = text.empty() || text.starts_with('.') ? "" : ".";
  config.egress_suffix.append(text);
  return absl::OkStatus();
}

absl::Status SetTraefikFile(std::string_view text, DaemonConfig& config) {
  // Traefik's file provider reads .yml, .yaml and .toml files only.
  absl::string_view name(text.data(), text.size());
  if (!absl::EndsWith(name, ".yml") && !absl::EndsWith(name, ".yaml")) {
    return Expected(FindOptionOrDie("traefik_file"), text);
  }
  config.traefik_file = std::string(text);
  return absl::OkStatus();
}

absl::Status SetEtcdEndpoints(std::string_view text, DaemonConfig& config) {
  std::vector<std::string> endpoints;
  for (absl::string_view piece : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    std::string url(piece);
    if (url.starts_with("https://")) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "'%s': https is not supported yet in this build (no TLS client); use http:// to an etcd "
          "gateway on a trusted network",
          url));
    }
    absl::StatusOr<net::HttpUrl> parsed = net::ParseHttpUrl(url);
    if (!parsed.ok() || parsed->target != "/") {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s (%s)", Expected(FindOptionOrDie("etcd_endpoints"), text).message(),
                          parsed.ok() ? "no path allowed" : parsed.status().message()));
    }
    endpoints.push_back(std::move(url));
  }
  config.etcd_endpoints = std::move(endpoints);
  return absl::OkStatus();
}

absl::Status SetHostId(std::string_view text, DaemonConfig& config) {
  uint32_t id = 0;
  ICAHT_RETURN_IF_ERROR(SetBoundedUint("host_id", 0, UINT32_MAX, text, id));
  config.host_id = id;
  return absl::OkStatus();
}

absl::Status SetEtcdLeaseTtl(std::string_view text, DaemonConfig& config) {
  return SetBoundedUint("etcd_lease_ttl_s", 2, 3600, text, config.etcd_lease_ttl_s);
}

absl::Status SetAccessLog(std::string_view text, DaemonConfig& config) {
  if (text.empty()) return Expected(FindOptionOrDie("access_log"), text);
  config.access_log_path.clear();
  if (text == "off") {
    config.access_log = AccessLogMode::kOff;
  } else if (text == "stdout") {
    config.access_log = AccessLogMode::kStdout;
  } else {
    config.access_log = AccessLogMode::kFile;
    config.access_log_path = std::string(text);
  }
  return absl::OkStatus();
}

absl::Status SetAdminGroup(std::string_view text, DaemonConfig& config) {
  uint32_t gid = 0;
  if (!ParseId(text, /*group=*/true, gid)) return Expected(FindOptionOrDie("admin_group"), text);
  config.admin_group = gid;
  return absl::OkStatus();
}

absl::Status SetIdList(std::string_view name, bool group, std::string_view text,
                       std::vector<uint32_t>& out) {
  if (!ParseIdList(text, group, out)) return Expected(FindOptionOrDie(name), text);
  return absl::OkStatus();
}

absl::Status SetAdminAllowUid(std::string_view text, DaemonConfig& config) {
  return SetIdList("admin_allow_uid", false, text, config.admin_allow_uids);
}

absl::Status SetAdminAllowGid(std::string_view text, DaemonConfig& config) {
  return SetIdList("admin_allow_gid", true, text, config.admin_allow_gids);
}

absl::Status SetTlsCert(std::string_view text, DaemonConfig& config) {
  config.tls_cert = std::string(text);
  return absl::OkStatus();
}

absl::Status SetTlsKey(std::string_view text, DaemonConfig& config) {
  config.tls_key = std::string(text);
  return absl::OkStatus();
}

absl::Status SetTlsCa(std::string_view text, DaemonConfig& config) {
  config.tls_ca = std::string(text);
  return absl::OkStatus();
}

absl::Status SetTraceEndpoint(std::string_view text, DaemonConfig& config) {
  if (text.empty()) {
    config.trace_endpoint.clear();
    return absl::OkStatus();
  }
  if (absl::StatusOr<net::HttpUrl> url = net::ParseHttpUrl(text); !url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s (%s)", Expected(FindOptionOrDie("trace_endpoint"), text).message(),
                        url.status().message()));
  }
  config.trace_endpoint = std::string(text);
  return absl::OkStatus();
}

absl::Status SetLogLevel(std::string_view text, DaemonConfig& config) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LogLevelName(level)) {
      config.log_level = level;
      return absl::OkStatus();
    }
  }
  return Expected(FindOptionOrDie("log_level"), text);
}

absl::Status SetLogFormat(std::string_view text, DaemonConfig& config) {
  if (text != "text" && text != "json") return Expected(FindOptionOrDie("log_format"), text);
  config.log_json = text == "json";
  return absl::OkStatus();
}

absl::Status SetCheckConfig(std::string_view text, DaemonConfig& config) {
  if (text != "true" && text != "false") return Expected(FindOptionOrDie("check_config"), text);
  config.check_config = text == "true";
  return absl::OkStatus();
}

absl::Status SetDrainTimeout(std::string_view text, DaemonConfig& config) {
  return SetBoundedUint("drain_timeout_ms", 0, 3'600'000, text, config.drain_timeout_ms);
}

absl::Status SetControlMaxConnections(std::string_view text, DaemonConfig& config) {
  return SetBoundedUint("control_max_connections", 1, 10000, text, config.control_max_connections);
}

absl::Status SetControlHeaderTimeout(std::string_view text, DaemonConfig& config) {
  return SetBoundedUint("control_header_timeout_ms", 1, 3'600'000, text,
                        config.control_header_timeout_ms);
}

absl::Status SetControlIdleTimeout(std::string_view text, DaemonConfig& config) {
  return SetBoundedUint("control_idle_timeout_ms", 1, 3'600'000, text,
                        config.control_idle_timeout_ms);
}

// Every daemon setting, in --help order. The config file accepts the same
// names as keys, plus "services" (handled apart).
constexpr std::array<Option, 32> kOptions = {{
    {"admin_socket", Kind::kString, "PATH", "a socket path of 1..107 bytes",
     "admin API Unix socket (default $XDG_RUNTIME_DIR/icaht/admin.sock, or ./run/admin.sock)",
     SetAdminSocket},
    {"admin_group", Kind::kString, "GROUP", "a group name or number",
     "the admin socket's group: its members may use the admin API", SetAdminGroup},
    {"admin_allow_uid", Kind::kList, "UIDS", "comma-separated user names or numbers",
     "more users that may use the admin API (root and the daemon's user always may)",
     SetAdminAllowUid},
    {"admin_allow_gid", Kind::kList, "GIDS", "comma-separated group names or numbers",
     "more groups whose members may use the admin API (the daemon's group always may)",
     SetAdminAllowGid},
    {"ops_listen", Kind::kString, "HOST:PORT", "HOST:PORT",
     "ops listener: /metrics /health /ready /traefik (default 127.0.0.1:9901)", SetOpsListen},
    {"shards", Kind::kInt, "N", "an integer 1..256",
     "proxy threads, one per CPU (default: online CPUs)", SetShards},
    {"port_range", Kind::kString, "A-B", "\"A-B\" with 1 <= A <= B <= 65535",
     "ports allocated to services (default 7001-7999)", SetPortRange},
    {"state_dir", Kind::kString, "DIR", "a directory path",
     "persisted registrations (default $XDG_RUNTIME_DIR/icaht, or ./run)", SetStateDir},
    {"bind_address", Kind::kString, "ADDR", "an IP address",
     "address service ports listen on (default 127.0.0.1)", SetBindAddress},
    {"advertise_address", Kind::kString, "ADDR", "a host name or IP address",
     "host in the URLs published to Traefik (default: the bind address)", SetAdvertiseAddress},
    {"egress_listen", Kind::kString, "HOST:PORT|off", "HOST:PORT or \"off\"",
     "egress listener: local applications call services by name through it (default "
     "127.0.0.1:7000)",
     SetEgressListen},
    {"egress_allow", Kind::kList, "PATTERNS",
     "comma-separated host names, *.domain wildcards or IP literals, each with an optional :PORT",
     "external hosts the egress listener may call (default: none)", SetEgressAllow},
    {"egress_ca", Kind::kString, "FILE", "a PEM file path",
     "trust anchors for https to allowed external hosts (default: the system's)", SetEgressCa},
    {"egress_dns", Kind::kList, "SERVERS", "comma-separated IP:PORT name servers",
     "name servers for the egress's external hosts (default: /etc/resolv.conf's)", SetEgressDns},
    {"egress_suffix", Kind::kString, "SUFFIX", "\"\" or a domain suffix such as .icaht",
     "Host \"billing<SUFFIX>\" names service billing on the egress listener (default .icaht)",
     SetEgressSuffix},
    {"traefik_file", Kind::kString, "PATH", "a file path ending in .yml or .yaml",
     "Traefik file-provider dynamic configuration (YAML), rewritten atomically on every change",
     SetTraefikFile},
    {"etcd_endpoints", Kind::kList, "URLS", "comma-separated http://IP:PORT URLs",
     "publish services in etcd (Traefik's KV layout) through these v3 JSON gateway endpoints, "
     "and watch the fleet's for the egress (default: not published)",
     SetEtcdEndpoints},
    {"host_id", Kind::kInt, "N", "an integer 0..4294967295",
     "this host's number in etcd keys, unique in the fleet (default: from /etc/machine-id)",
     SetHostId},
    {"etcd_lease_ttl_s", Kind::kInt, "S", "an integer 2..3600",
     "this host's etcd keys vanish this long after it stops renewing them (default 10)",
     SetEtcdLeaseTtl},
    {"access_log", Kind::kString, "PATH|stdout|off", "a file path, \"stdout\" or \"off\"",
     "JSON-lines access log (default off)", SetAccessLog},
    {"trace_endpoint", Kind::kString, "URL",
     "\"\" or http://IP:PORT/PATH (an IP address, not a host name)",
     "export spans to this collector: OTLP/HTTP JSON, or Zipkin v2 JSON when the path ends in "
     "/api/v2/spans (default: not exported)",
     SetTraceEndpoint},
    {"tls_cert", Kind::kString, "PATH", "a PEM certificate file",
     "this host's TLS certificate (its URI SAN names the host): for services whose tls names "
     "no certificate, and presented to fleet upstreams (default: none)",
     SetTlsCert},
    {"tls_key", Kind::kString, "PATH", "a PEM private key file", "the key of --tls-cert",
     SetTlsKey},
    {"tls_ca", Kind::kString, "PATH", "a PEM CA file",
     "the fleet's CA: verifies other sidecars and the callers of services that ask for client "
     "certificates without naming a CA (default: none)",
     SetTlsCa},
    {"plugin_dir", Kind::kString, "DIR", "an absolute directory path",
     "native plugins (a service record's plugins[].path) must lie in this directory (default "
     "/usr/lib/icaht/plugins)",
     SetPluginDir},
    {"log_level", Kind::kString, "LEVEL", "one of debug, info, warn, error",
     "daemon log level (default info)", SetLogLevel},
    {"log_format", Kind::kString, "text|json", "text or json",
     "daemon log lines as text or as JSON objects (default text)", SetLogFormat},
    {"check_config", Kind::kBool, "", "true or false",
     "validate the configuration, print the result and exit", SetCheckConfig},
    {"drain_timeout_ms", Kind::kInt, "MS", "an integer 0..3600000",
     "grace for draining connections on deregistration and SIGTERM (default 5000)",
     SetDrainTimeout},
    {"control_max_connections", Kind::kInt, "N", "an integer 1..10000",
     "connections open at once on each of the admin socket and the ops listener; at the cap "
     "the longest-idle one is closed (default 32)",
     SetControlMaxConnections},
    {"control_header_timeout_ms", Kind::kInt, "MS", "an integer 1..3600000",
     "admin/ops request not complete this long after its first byte -> 408 (default 5000)",
     SetControlHeaderTimeout},
    {"control_idle_timeout_ms", Kind::kInt, "MS", "an integer 1..3600000",
     "admin/ops connection closed after this long without a request (default 10000)",
     SetControlIdleTimeout},
}};

}  // namespace

std::string FlagName(std::string_view name) {
  std::string flag = absl::StrFormat("--%s", name);
  for (char& c : flag) {
    if (c == '_') c = '-';
  }
  return flag;
}

std::span<const Option> Options() { return kOptions; }

const Option* FindOption(std::string_view name) {
  for (const Option& option : kOptions) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

const Option& FindOptionOrDie(std::string_view name) {
  const Option* option = FindOption(name);
  if (option == nullptr) std::abort();  // a typo in this file
  return *option;
}

const Option* FindFlag(std::string_view flag) {
  for (const Option& option : kOptions) {
    if (FlagName(option.name) == flag) return &option;
  }
  return nullptr;
}

}  // namespace icaht::config
