#include "config/daemon_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "temp_dir.h"

namespace icaht::config {
namespace daemon_config_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Each test gets a fresh temp dir for config files and a known environment.
class DaemonConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* old = getenv("XDG_RUNTIME_DIR")) saved_xdg_ = old;
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  }

  void TearDown() override {
    if (saved_xdg_) {
      setenv("XDG_RUNTIME_DIR", saved_xdg_->c_str(), 1);
    } else {
      unsetenv("XDG_RUNTIME_DIR");
    }
  }

  // Writes `text` to <dir>/<name> and returns the path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  static absl::StatusOr<DaemonConfig> Load(std::vector<std::string> args) {
    return LoadDaemonConfig(args);
  }

  // The error message of Load(args), which must fail.
  static std::string ErrorOf(std::vector<std::string> args) {
    absl::StatusOr<DaemonConfig> config = Load(std::move(args));
    EXPECT_FALSE(config.ok());
    return config.ok() ? "" : std::string(config.status().message());
  }

  test::TempDir temp_{"config"};
  std::filesystem::path dir_ = temp_.path();
  std::optional<std::string> saved_xdg_;
};

TEST_F(DaemonConfigTest, DefaultsWithXdgRuntimeDir) {
  absl::StatusOr<DaemonConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->admin_socket, "/run/user/1000/icaht/admin.sock");
  EXPECT_EQ(config->state_dir, "/run/user/1000/icaht");
  EXPECT_EQ(config->ops_listen.ToString(), "127.0.0.1:9901");
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  EXPECT_EQ(config->shards, static_cast<uint32_t>(std::clamp(cpus, 1L, 256L)));
  EXPECT_EQ(config->port_range, (PortRange{7001, 7999}));
  EXPECT_EQ(config->bind_address.HostString(), "127.0.0.1");
  EXPECT_EQ(config->bind_address.port(), 0);
  EXPECT_EQ(config->advertise_address, "");
  ASSERT_TRUE(config->egress_listen.has_value());
  EXPECT_EQ(config->egress_listen->ToString(), "127.0.0.1:7000");
  EXPECT_TRUE(config->egress_allow.empty());
  EXPECT_EQ(config->egress_suffix, ".icaht");
  EXPECT_EQ(config->traefik_file, "");
  EXPECT_TRUE(config->etcd_endpoints.empty());
  EXPECT_EQ(config->access_log, AccessLogMode::kOff);
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_FALSE(config->check_config);
  EXPECT_EQ(config->config_file, "");
  EXPECT_EQ(config->drain_timeout_ms, 5000u);
  EXPECT_EQ(config->control_max_connections, 32u);
  EXPECT_EQ(config->control_header_timeout_ms, 5000u);
  EXPECT_EQ(config->control_idle_timeout_ms, 10000u);
  EXPECT_TRUE(config->services.empty());
  EXPECT_FALSE(config->show_help);
  EXPECT_FALSE(config->show_version);
}

TEST_F(DaemonConfigTest, DefaultsWithoutXdgRuntimeDir) {
  unsetenv("XDG_RUNTIME_DIR");
  absl::StatusOr<DaemonConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->admin_socket, "./run/admin.sock");
  EXPECT_EQ(config->state_dir, "./run");

  setenv("XDG_RUNTIME_DIR", "", 1);  // empty counts as unset
  EXPECT_EQ(Load({})->state_dir, "./run");
}

TEST_F(DaemonConfigTest, EveryFlagInBothForms) {
  absl::StatusOr<DaemonConfig> config = Load(
      {"--admin-socket", "/tmp/a.sock", "--ops-listen=[::1]:9000", "--shards", "3",
       "--port-range=8000-8010", "--state-dir", "/var/lib/icaht", "--bind-address=0.0.0.0",
       "--access-log", "stdout", "--log-level=debug", "--check-config", "--drain-timeout-ms", "0"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->admin_socket, "/tmp/a.sock");
  EXPECT_EQ(config->ops_listen.ToString(), "[::1]:9000");
  EXPECT_EQ(config->shards, 3u);
  EXPECT_EQ(config->port_range, (PortRange{8000, 8010}));
  EXPECT_EQ(config->state_dir, "/var/lib/icaht");
  EXPECT_EQ(config->bind_address.HostString(), "0.0.0.0");
  EXPECT_EQ(config->access_log, AccessLogMode::kStdout);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_TRUE(config->check_config);
  EXPECT_EQ(config->drain_timeout_ms, 0u);
}

TEST_F(DaemonConfigTest, ControlListenerBounds) {
  absl::StatusOr<DaemonConfig> config =
      Load({"--control-max-connections", "7", "--control-header-timeout-ms=250",
            "--control-idle-timeout-ms", "900"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->control_max_connections, 7u);
  EXPECT_EQ(config->control_header_timeout_ms, 250u);
  EXPECT_EQ(config->control_idle_timeout_ms, 900u);
}

TEST_F(DaemonConfigTest, AccessLogPathAndLastFlagWins) {
  absl::StatusOr<DaemonConfig> config =
      Load({"--access-log", "/var/log/a.log", "--shards=2", "--shards=4", "--check-config=false"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->access_log, AccessLogMode::kFile);
  EXPECT_EQ(config->access_log_path, "/var/log/a.log");
  EXPECT_EQ(config->shards, 4u);
  EXPECT_FALSE(config->check_config);
}

TEST_F(DaemonConfigTest, AdminAccessFlags) {
  absl::StatusOr<DaemonConfig> config =
      Load({"--admin-group", "root", "--admin-allow-uid", "root,1234", "--admin-allow-gid=0,77"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->admin_group, 0u);
  EXPECT_EQ(config->admin_allow_uids, (std::vector<uint32_t>{0, 1234}));
  EXPECT_EQ(config->admin_allow_gids, (std::vector<uint32_t>{0, 77}));
  EXPECT_FALSE(Load({})->admin_group.has_value());
  EXPECT_EQ(ErrorOf({"--admin-group", "no-such-group-here"}),
            "--admin-group: expected a group name or number, got 'no-such-group-here'");
  EXPECT_THAT(ErrorOf({"--admin-allow-uid", "1,nobody-at-all"}),
              StartsWith("--admin-allow-uid: expected comma-separated user names or numbers"));
}

TEST_F(DaemonConfigTest, TraceEndpoint) {
  EXPECT_EQ(Load({})->trace_endpoint, "");
  absl::StatusOr<DaemonConfig> config =
      Load({"--trace-endpoint", "http://127.0.0.1:4318/v1/traces"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->trace_endpoint, "http://127.0.0.1:4318/v1/traces");
  EXPECT_EQ(Load({"--trace-endpoint", "http://[::1]:9411/api/v2/spans", "--trace-endpoint="})
                ->trace_endpoint,
            "");
  EXPECT_EQ(ErrorOf({"--trace-endpoint", "https://127.0.0.1/v1/traces"}),
            "--trace-endpoint: expected \"\" or http://IP:PORT/PATH (an IP address, not a host "
            "name), got 'https://127.0.0.1/v1/traces' (must start with http://)");
  EXPECT_THAT(ErrorOf({"--trace-endpoint", "http://collector:4318/v1/traces"}),
              StartsWith("--trace-endpoint: expected"));
}

TEST_F(DaemonConfigTest, OpsListenPortZeroIsAllowedForTests) {
  absl::StatusOr<DaemonConfig> config = Load({"--ops-listen", "127.0.0.1:0"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ops_listen.port(), 0);
}

TEST_F(DaemonConfigTest, FlagErrors) {
  EXPECT_EQ(ErrorOf({"--foo"}), "unknown flag --foo");
  EXPECT_EQ(ErrorOf({"--foo=1"}), "unknown flag --foo");
  EXPECT_EQ(ErrorOf({"stray"}), "unexpected argument 'stray'");
  EXPECT_EQ(ErrorOf({"--shards"}), "--shards: missing value");
  EXPECT_EQ(ErrorOf({"--shards", "x"}), "--shards: expected an integer 1..256, got 'x'");
  EXPECT_EQ(ErrorOf({"--shards=0"}), "--shards: expected an integer 1..256, got '0'");
  EXPECT_EQ(ErrorOf({"--shards=257"}), "--shards: expected an integer 1..256, got '257'");
  EXPECT_EQ(ErrorOf({"--control-max-connections=10001"}),
            "--control-max-connections: expected an integer 1..10000, got '10001'");
  EXPECT_EQ(ErrorOf({"--shards=-1"}), "--shards: expected an integer 1..256, got '-1'");
  EXPECT_EQ(ErrorOf({"--port-range", "9-1"}),
            "--port-range: expected \"A-B\" with 1 <= A <= B <= 65535, got '9-1'");
  EXPECT_THAT(ErrorOf({"--port-range", "0-10"}), StartsWith("--port-range: expected"));
  EXPECT_THAT(ErrorOf({"--port-range", "1-65536"}), StartsWith("--port-range: expected"));
  EXPECT_THAT(ErrorOf({"--port-range", "7001"}), StartsWith("--port-range: expected"));
  EXPECT_EQ(ErrorOf({"--ops-listen", "nope"}),
            "--ops-listen: address 'nope': missing port (expected HOST:PORT)");
  EXPECT_THAT(ErrorOf({"--bind-address", "example.com"}),
              StartsWith("--bind-address: 'example.com' is not an IP address"));
  EXPECT_EQ(ErrorOf({"--log-level", "trace"}),
            "--log-level: expected one of debug, info, warn, error, got 'trace'");
  EXPECT_THAT(ErrorOf({"--access-log="}), StartsWith("--access-log: expected"));
  EXPECT_THAT(ErrorOf({"--admin-socket", std::string(108, 's')}),
              StartsWith("--admin-socket: expected a socket path of 1..107 bytes"));
  EXPECT_THAT(ErrorOf({"--check-config=yes"}),
              StartsWith("--check-config: expected true or false"));
  EXPECT_THAT(ErrorOf({"--drain-timeout-ms", "3600001"}),
              StartsWith("--drain-timeout-ms: expected an integer 0..3600000"));
  EXPECT_EQ(ErrorOf({"--config"}), "--config: missing value");
}

TEST_F(DaemonConfigTest, HelpAndVersion) {
  absl::StatusOr<DaemonConfig> help = Load({"--shards", "x", "--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->show_help);
  EXPECT_TRUE(Load({"-h"})->show_help);
  EXPECT_TRUE(Load({"--version"})->show_version);
  std::string usage = UsageText();
  for (const char* flag :
       {"--config FILE", "--admin-socket PATH", "--ops-listen HOST:PORT", "--shards N",
        "--port-range A-B", "--state-dir DIR", "--bind-address ADDR", "--advertise-address ADDR",
        "--egress-listen HOST:PORT", "--traefik-file PATH", "--etcd-endpoints URLS",
        "--access-log PATH|stdout|off", "--trace-endpoint URL", "--log-level LEVEL",
        "--check-config", "--drain-timeout-ms MS"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  EXPECT_THAT(VersionText(), StartsWith("icaht-sidecar "));
}

TEST_F(DaemonConfigTest, FileThenFlagsOverride) {
  std::string path = WriteFile("config.json", R"({
    "admin_socket": "/srv/admin.sock",
    "ops_listen": "127.0.0.1:9911",
    "shards": 2,
    "port_range": "7100-7199",
    "state_dir": "/srv/state",
    "bind_address": "::1",
    "access_log": "off",
    "log_level": "warn",
    "check_config": true,
    "drain_timeout_ms": 250,
    "control_max_connections": 9,
    "control_header_timeout_ms": 1500,
    "control_idle_timeout_ms": 2500
  })");
  // --config may come after the flags that override it.
  absl::StatusOr<DaemonConfig> config = Load({"--shards=5", "--config", path, "--log-level=error"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->config_file, path);
  EXPECT_EQ(config->admin_socket, "/srv/admin.sock");
  EXPECT_EQ(config->ops_listen.ToString(), "127.0.0.1:9911");
  EXPECT_EQ(config->shards, 5u);                   // flag
  EXPECT_EQ(config->log_level, LogLevel::kError);  // flag
  EXPECT_EQ(config->port_range, (PortRange{7100, 7199}));
  EXPECT_EQ(config->state_dir, "/srv/state");
  EXPECT_EQ(config->bind_address.ToString(), "[::1]:0");
  EXPECT_TRUE(config->check_config);
  EXPECT_EQ(config->drain_timeout_ms, 250u);
  EXPECT_EQ(config->control_max_connections, 9u);
  EXPECT_EQ(config->control_header_timeout_ms, 1500u);
  EXPECT_EQ(config->control_idle_timeout_ms, 2500u);
}

TEST_F(DaemonConfigTest, StaticServices) {
  std::string path = WriteFile("config.json", R"({
    "services": [
      {"name": "orders", "upstreams": ["127.0.0.1:8080"], "port": 7005},
      {"name": "billing", "upstreams": [{"address": "127.0.0.1:8081", "weight": 3}]}
    ]
  })");
  absl::StatusOr<DaemonConfig> config = Load({"--config=" + path});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->services.size(), 2u);
  EXPECT_EQ(config->services[0].name, "orders");
  EXPECT_EQ(config->services[0].port, 7005);
  EXPECT_EQ(config->services[1].name, "billing");
  EXPECT_EQ(config->services[1].upstreams[0].weight, 3u);
  EXPECT_EQ(config->services[1].route_rule, "PathPrefix(`/billing`)");
}

TEST_F(DaemonConfigTest, FileErrorsNameTheFileAndTheField) {
  struct Case {
    std::string json;
    std::string message;  // after "<path>: "
  };
  for (const Case& c : std::vector<Case>{
           {R"({"port_range": "9-1"})",
            "field 'port_range': expected \"A-B\" with 1 <= A <= B <= 65535, got '9-1'"},
           {R"({"shards": 0})", "field 'shards': expected an integer 1..256, got '0'"},
           {R"({"shards": 1.5})", "field 'shards': expected an integer 1..256, got '1.5'"},
           {R"({"shards": "2"})", "field 'shards': expected an integer 1..256, got a string"},
           {R"({"control_max_connections": 0})",
            "field 'control_max_connections': expected an integer 1..10000, got '0'"},
           {R"({"control_header_timeout_ms": -5})",
            "field 'control_header_timeout_ms': expected an integer 1..3600000, got '-5'"},
           {R"({"control_idle_timeout_ms": "1s"})",
            "field 'control_idle_timeout_ms': expected an integer 1..3600000, got a string"},
           {R"({"log_level": 3})",
            "field 'log_level': expected one of debug, info, warn, error, got a number"},
           {R"({"check_config": "yes"})",
            "field 'check_config': expected true or false, got a string"},
           {R"({"ops_listen": "x"})", "field 'ops_listen': address 'x': missing port"},
           {R"({"nope": 1})", "unknown field 'nope'"},
           {R"({"config": "other.json"})", "unknown field 'config'"},
           {R"({"shards": 1, "shards": 2})", "field 'shards': duplicate key"},
           {R"({"services": {}})", "field 'services': must be an array"},
           {R"({"services": [{"name": "a", "upstreams": ["127.0.0.1:1"]}, {"name": "b"}]})",
            "field 'services[1].upstreams': required"},
           {R"({"services": [{"name": "a", "upstreams": ["127.0.0.1:1"], "plugins": [{}]}]})",
            "field 'services[0].plugins[0].path': required"},
           {R"({"plugin_dir": "relative"})",
            "field 'plugin_dir': expected an absolute "
            "directory path, got 'relative'"},
           {R"({"services": [{"name": "a", "upstreams": ["127.0.0.1:1"],
                              "cache": {"max_bytes": 1048576, "max_object_bytes": 1048577}}]})",
            "field 'services[0].cache.max_object_bytes': must not exceed "
            "services[0].cache.max_bytes (1048576)"},
           {R"({"services": [{"name": "a", "upstreams": [{"address": "127.0.0.1:1", "w": 1}]}]})",
            "unknown field 'services[0].upstreams[0].w'"},
           {R"({"services": [{"name": "a", "upstreams": ["127.0.0.1:1"]},
                             {"name": "a", "upstreams": ["127.0.0.1:2"]}]})",
            "field 'services[1].name': service 'a' is already defined by services[0]"},
           {R"({"services": [{"name": "a", "upstreams": ["127.0.0.1:1"], "port": 7005},
                             {"name": "b", "upstreams": ["127.0.0.1:2"], "port": 7005}]})",
            "field 'services[1].port': port 7005 is already used by services[0] ('a')"},
           {"[1]", "the document must be a JSON object, got an array"},
           {"{\"shards\": 2,\n \"log_level\": \"info\",\n}",
            "invalid JSON at byte 36 (line 3, column 1)"},
           {"{\"services\": [{\"name\": \"a\",, }]}", "invalid JSON at byte"},
           {"{} {}",
            "invalid JSON at byte 3 (line 1, column 4): unexpected content after the object"},
       }) {
    std::string path = WriteFile("config.json", c.json);
    absl::StatusOr<DaemonConfig> config = Load({"--config", path});
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(config.status().message()), StartsWith(path + ": " + c.message))
        << c.json;
  }
}

TEST_F(DaemonConfigTest, MissingFile) {
  std::string path = (dir_ / "missing.json").string();
  absl::StatusOr<DaemonConfig> config = Load({"--config", path});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path + ": cannot open"));
}

TEST_F(DaemonConfigTest, BadFlagIsReportedEvenWhenTheFileSetsTheOption) {
  std::string path = WriteFile("config.json", R"({"shards": 2})");
  EXPECT_EQ(ErrorOf({"--config", path, "--shards", "x"}),
            "--shards: expected an integer 1..256, got 'x'");
}

TEST_F(DaemonConfigTest, TraefikOutputs) {
  absl::StatusOr<DaemonConfig> config =
      Load({"--advertise-address", "10.0.0.5", "--traefik-file", "/tmp/traefik.yaml"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->advertise_address, "10.0.0.5");
  EXPECT_EQ(config->traefik_file, "/tmp/traefik.yaml");
  // Traefik's file provider reads no .json file.
  EXPECT_THAT(ErrorOf({"--traefik-file", "/tmp/traefik.json"}),
              StartsWith("--traefik-file: expected a file path ending in .yml or .yaml"));
}

TEST_F(DaemonConfigTest, Etcd) {
  absl::StatusOr<DaemonConfig> config =
      Load({"--etcd-endpoints", "http://127.0.0.1:2379,http://[::1]:2379/", "--host-id", "7",
            "--etcd-lease-ttl-s", "30", "--advertise-address", "10.0.0.7"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->etcd_endpoints, ElementsAre("http://127.0.0.1:2379", "http://[::1]:2379/"));
  EXPECT_EQ(config->host_id, 7u);
  EXPECT_EQ(config->etcd_lease_ttl_s, 30u);
  EXPECT_EQ(Load({})->etcd_lease_ttl_s, 10u);
  EXPECT_FALSE(Load({})->host_id.has_value());  // only derived when etcd is used
  EXPECT_THAT(ErrorOf({"--etcd-endpoints", "ftp://x"}),
              StartsWith("--etcd-endpoints: expected comma-separated http://IP:PORT URLs, got "
                         "'ftp://x' (must start with http://)"));
  EXPECT_THAT(ErrorOf({"--etcd-endpoints", "http://etcd.example:2379"}),
              StartsWith("--etcd-endpoints: expected comma-separated http://IP:PORT URLs"));
  EXPECT_THAT(ErrorOf({"--etcd-endpoints", "http://127.0.0.1:2379/v3"}), HasSubstr("no path"));
  EXPECT_THAT(ErrorOf({"--etcd-endpoints", "https://127.0.0.1:2379"}),
              StartsWith("--etcd-endpoints: 'https://127.0.0.1:2379': https is not supported yet"));
  EXPECT_THAT(ErrorOf({"--host-id", "4294967296"}),
              StartsWith("--host-id: expected an integer 0..4294967295"));
  EXPECT_THAT(ErrorOf({"--etcd-lease-ttl-s", "1"}),
              StartsWith("--etcd-lease-ttl-s: expected an integer 2..3600"));
  EXPECT_THAT(ErrorOf({"--etcd-endpoints", "http://127.0.0.1:2379"}),
              StartsWith("--advertise-address: required with --etcd-endpoints"));
  std::string path = WriteFile("config.json", R"({"etcd_endpoints": ["http://127.0.0.1:2379"],
                                                  "host_id": 12, "advertise_address": "h1"})");
  config = Load({"--config", path});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->host_id, 12u);
  // No --host-id: this machine's id.
  std::ifstream machine_id("/etc/machine-id");
  std::string hex;
  if (machine_id >> hex && hex.size() >= 8) {
    config = Load({"--etcd-endpoints", "http://127.0.0.1:2379", "--advertise-address", "h"});
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->host_id, std::stoul(hex.substr(0, 8), nullptr, 16));
  }
}

TEST_F(DaemonConfigTest, EgressSettings) {
  EXPECT_THAT(ErrorOf({"--egress-listen", "nope"}), StartsWith("--egress-listen: address 'nope'"));
  absl::StatusOr<DaemonConfig> config = Load({"--egress-listen", "off"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->egress_listen.has_value());
  config = Load({"--egress-listen", "127.0.0.2:7100", "--egress-allow",
                 "api.example.com,*.example.org:443,127.0.0.1:9000", "--egress-suffix", "mesh"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->egress_listen->ToString(), "127.0.0.2:7100");
  EXPECT_EQ(config->egress_allow.size(), 3u);
  EXPECT_EQ(config->egress_suffix, ".mesh");
  EXPECT_THAT(ErrorOf({"--egress-allow", "a b"}), StartsWith("--egress-allow: expected a host"));
  EXPECT_THAT(ErrorOf({"--egress-suffix", "a..b"}), StartsWith("--egress-suffix: expected"));
  std::string path = WriteFile("config.json", R"({"egress_allow": ["*.example.com"],
                                                  "egress_suffix": ""})");
  config = Load({"--config", path});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->egress_allow, std::vector<std::string>{"*.example.com"});
  EXPECT_EQ(config->egress_suffix, "");
}

TEST_F(DaemonConfigTest, EgressNameServersAndTrustAnchors) {
  absl::StatusOr<DaemonConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->egress_dns.empty());  // the system's resolv.conf
  EXPECT_EQ(config->egress_ca, "");         // the system's trust store
  config = Load({"--egress-dns", "127.0.0.53:53,[::1]:5353", "--egress-ca", "/etc/ca.pem"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->egress_dns, (std::vector<std::string>{"127.0.0.53:53", "[::1]:5353"}));
  EXPECT_EQ(config->egress_ca, "/etc/ca.pem");
  // A name server is an IP address with a port: no names (they would need a resolver).
  EXPECT_THAT(ErrorOf({"--egress-dns", "dns.example:53"}), StartsWith("--egress-dns: expected"));
  EXPECT_THAT(ErrorOf({"--egress-dns", "127.0.0.1"}), StartsWith("--egress-dns: expected"));
  EXPECT_THAT(ErrorOf({"--egress-dns", "localhost:53"}), StartsWith("--egress-dns: expected"));
}

TEST_F(DaemonConfigTest, ParseConfigFileAlone) {
  DaemonConfig base;
  base.shards = 7;
  absl::StatusOr<DaemonConfig> config =
      ParseConfigFile(R"({"log_level": "debug"})", "inline.json", base);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->shards, 7u);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_EQ(ParseConfigFile("{", "inline.json", base).status().message().substr(0, 25),
            "inline.json: invalid JSON");
}

TEST_F(DaemonConfigTest, ArgcArgvEntryPointSkipsProgramName) {
  char prog[] = "icaht-sidecar";
  char flag[] = "--shards=2";
  char* argv[] = {prog, flag, nullptr};
  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig(2, argv);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->shards, 2u);
}

TEST(LogLevelTest, Names) {
  EXPECT_EQ(LogLevelName(LogLevel::kDebug), "debug");
  EXPECT_EQ(LogLevelName(LogLevel::kInfo), "info");
  EXPECT_EQ(LogLevelName(LogLevel::kWarn), "warn");
  EXPECT_EQ(LogLevelName(LogLevel::kError), "error");
}

}  // namespace daemon_config_test
}  // namespace icaht::config
