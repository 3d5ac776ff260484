#pragma once
// The daemon's configuration: command-line flags and the JSON config file
// (DESIGN.md "Interfaces", "Daemon flags").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/address.h"
#include "registry/service_record.h"

namespace icaht::config {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

enum class AccessLogMode { kOff, kStdout, kFile };

struct PortRange {
  uint16_t lo = 7001;
  uint16_t hi = 7999;

  friend bool operator==(const PortRange&, const PortRange&) = default;
};

// Everything the daemon is told at start. Every field has a value after
// LoadDaemonConfig succeeds (defaults filled in).
struct DaemonConfig {
  std::string admin_socket;  // default $XDG_RUNTIME_DIR/icaht/admin.sock, else ./run/admin.sock
  // Who may use the admin socket (mode 0660): root, the daemon's user and
  // group, `admin_group` (its members; the socket file is chowned to it), and
  // the listed uids and gids (a peer's primary or supplementary group).
  std::optional<uint32_t> admin_group;  // --admin-group NAME|GID
  std::vector<uint32_t> admin_allow_uids;
  std::vector<uint32_t> admin_allow_gids;
  net::Address ops_listen;    // default 127.0.0.1:9901; port 0 = kernel picks (tests)
  uint32_t shards = 1;        // 1..256; default: online CPUs (capped at 256)
  PortRange port_range;       // automatic service ports
  std::string state_dir;      // default $XDG_RUNTIME_DIR/icaht, else ./run
  net::Address bind_address;  // IP that service ports listen on (port 0 here); default 127.0.0.1
  std::string advertise_address;  // host name or IP in published URLs; "" = the bind address
  std::string traefik_file;       // Traefik file-provider output; "" = none
  // etcd (the Traefik KV provider's layout, and the fleet's service records):
  // the v3 JSON gateway's "http://IP:PORT" URLs, tried in turn; empty = not
  // published. `host_id` numbers this host's server keys (unique in the
  // fleet); unset, it comes from /etc/machine-id (its first 8 hex digits).
  // This host's keys live on a lease of `etcd_lease_ttl_s` (2..3600).
  std::vector<std::string> etcd_endpoints;
  std::optional<uint32_t> host_id;
  uint32_t etcd_lease_ttl_s = 10;
  // The egress listener (local applications call services by name through
  // it): default 127.0.0.1:7000; nullopt ("off"): none. `egress_allow`: the
  // external hosts it may call (net/host_pattern.h; empty: none).
  // `egress_suffix`: "billing" + this names service billing in a Host header
  // or URL ("" = only bare names).
  std::optional<net::Address> egress_listen;
  std::vector<std::string> egress_allow;
  std::string egress_suffix = ".icaht";
  // Name servers ("IP:PORT") for the egress's external hosts; empty: the
  // system's (/etc/resolv.conf).
  std::vector<std::string> egress_dns;
  // Trust anchors (PEM) for https to allowed external hosts; "": the
  // system's trust store.
  std::string egress_ca;
  AccessLogMode access_log = AccessLogMode::kOff;
  std::string access_log_path;  // kFile only
  // Where spans are exported: "http://IP:PORT/v1/traces" (OTLP/HTTP JSON) or a
  // path ending in /api/v2/spans (Zipkin v2 JSON); "" = spans not exported.
  std::string trace_endpoint;
  // This host's TLS identity (PEM files): its certificate (whose URI SAN
  // names the host) and key, used by services whose tls names no
  // certificate and presented to fleet upstreams; and the fleet's CA, which
  // verifies other sidecars (and their callers). All or none of cert and key.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  // Native plugins load only from this directory (after realpath).
  std::string plugin_dir = "/usr/lib/icaht/plugins";
  LogLevel log_level = LogLevel::kInfo;
  bool log_json = false;      // --log-format json: one JSON object per daemon log line
  bool check_config = false;  // validate, print the result and exit
  std::string config_file;    // "" = none
  // Bounded grace for draining connections on deregistration and SIGTERM.
  uint32_t drain_timeout_ms = 5000;  // 0..3600000
  // Bounds for each of the admin socket and the ops listener (any local user
  // can connect to the ops port): connections open at once (1..10000), and
  // how long a request may take to arrive / a connection may sit idle
  // (1..3600000 ms).
  uint32_t control_max_connections = 32;
  uint32_t control_header_timeout_ms = 5000;
  uint32_t control_idle_timeout_ms = 10000;
  // Static services ("services" in the config file), in file order; names and
  // explicit ports are unique among them.
  std::vector<registry::ServiceRecord> services;

  // --help / -h or --version was given: the caller prints UsageText() or
  // VersionText() and exits 0. No other field is meaningful then.
  bool show_help = false;
  bool show_version = false;

  // The arguments it was loaded from (after the program name): a reload
  // loads them again, re-reading the --config file they name.
  std::vector<std::string> args;
};

// Parses argv (argv[0] is the program name and is skipped). Flags take
// "--flag value" or "--flag=value"; --check-config also stands alone. A
// repeated flag: the last one wins. With --config FILE the file is read
// first and the command line overrides it. Errors are InvalidArgument (or the
// errno's code when the file cannot be read) and name their source:
//   "unknown flag --foo"   "--shards: expected an integer 1..256, got 'x'"
//   "config.json: field 'port_range': expected \"A-B\" with 1 <= A <= B <= 65535, got '9-1'"
//   "config.json: field 'services[1].upstreams': required"
//   "config.json: invalid JSON at byte 57 (line 3, column 9): ..."
// Features named by the design but not in this build (Option::not_built;
// none at the moment) are validated like the others and then refused with
// Unimplemented("--flag: not supported yet in this build") (or
// "FILE: field 'flag': ..."), so that nobody runs believing they work.
// Reads the environment (XDG_RUNTIME_DIR), the CPU count and, with
// etcd_endpoints and no host_id, /etc/machine-id for defaults.
absl::StatusOr<DaemonConfig> LoadDaemonConfig(int argc, char** argv);
// The same, with the arguments after the program name.
absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::vector<std::string>& args);

// Parses the config file's JSON text alone, on top of `base` (which holds
// defaults or earlier settings). `file_name` only prefixes error messages.
// Does not fill environment defaults nor refuse unbuilt features.
absl::StatusOr<DaemonConfig> ParseConfigFile(std::string_view json_text, std::string_view file_name,
                                             DaemonConfig base);

// The --help text (flags, defaults, the config file's form).
std::string UsageText();
// "icaht-sidecar <version>".
std::string VersionText();

std::string_view LogLevelName(LogLevel level);

}  // namespace icaht::config
