#include "config/daemon_config.h"

#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "config/options.h"
#include "config/value_parsers.h"
#include "core/status_macros.h"
#include "registry/json_reader.h"
#include "registry/service_record_json.h"

#ifndef ICAHT_VERSION
#define ICAHT_VERSION "unknown"
#endif

namespace icaht::config {
namespace {

namespace json = registry::json;
absl::Status WithSource(std::string_view source, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrFormat("%s: %s", source, status.message()));
}

// Reads the value of `option` from the file and applies it.
absl::Status ApplyJsonOption(const Option& option, json::Value& value, DaemonConfig& config) {
  std::string_view key = option.name;
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  using simdjson::ondemand::json_type;
  auto wrong_type = [&] {
    return json::FieldError(
        key, absl::StrFormat("expected %s, got %s", option.expected, json::TypeName(type)));
  };
  std::string text;
  switch (option.kind) {
    case Kind::kString: {
      if (type != json_type::string) return wrong_type();
      ICAHT_ASSIGN_OR_RETURN(text, json::ReadString(value, key));
      break;
    }
    case Kind::kInt:
    case Kind::kBool: {
      if (type != (option.kind == Kind::kInt ? json_type::number : json_type::boolean)) {
        return wrong_type();
      }
      // The token as written, so that errors quote it ("got '1.5'").
      text = std::string(TrimTrailingSpace(value.raw_json_token()));
      break;
    }
    case Kind::kList: {
      if (type == json_type::string) {
        ICAHT_ASSIGN_OR_RETURN(text, json::ReadString(value, key));
      } else if (type == json_type::array) {
        std::vector<std::string> items;
        ICAHT_RETURN_IF_ERROR(json::ForEachElement(
            value, key, [&](size_t index, json::Value& element) -> absl::Status {
              ICAHT_ASSIGN_OR_RETURN(std::string item,
                                     json::ReadString(element, json::IndexPath(key, index)));
              items.push_back(std::move(item));
              return absl::OkStatus();
            }));
        text = absl::StrJoin(items, ",");
      } else {
        return wrong_type();
      }
      break;
    }
  }
  absl::Status status = option.set(text, config);
  if (!status.ok()) return json::FieldError(key, std::string(status.message()));
  return absl::OkStatus();
}

// Parses "services" and checks that names and explicit ports are unique.
absl::Status ApplyServices(json::Value& value, DaemonConfig& config) {
  config.services.clear();
  return json::ForEachElement(
      value, "services", [&](size_t index, json::Value& element) -> absl::Status {
        std::string path = json::IndexPath("services", index);
        ICAHT_ASSIGN_OR_RETURN(registry::ServiceRecord record,
                               registry::ParseServiceRecordValue(element, path + "."));
        for (size_t i = 0; i < config.services.size(); ++i) {
          const registry::ServiceRecord& other = config.services[i];
          if (other.name == record.name) {
            return json::FieldError(
                path + ".name",
                absl::StrFormat("service '%s' is already defined by services[%d]", record.name, i));
          }
          if (record.port != 0 && other.port == record.port) {
            return json::FieldError(
                path + ".port", absl::StrFormat("port %d is already used by services[%d] ('%s')",
                                                record.port, i, other.name));
          }
        }
        config.services.push_back(std::move(record));
        return absl::OkStatus();
      });
}

DaemonConfig Defaults() {
  DaemonConfig config;
  config.ops_listen = *net::Address::Parse("127.0.0.1:9901");
  config.egress_listen = *net::Address::Parse("127.0.0.1:7000");
  config.bind_address = *net::Address::FromIp("127.0.0.1", 0);
  config.shards = OnlineCpus();
  return config;
}

// Fills the paths that default from the environment.
void FillEnvironmentDefaults(DaemonConfig& config) {
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  std::string base = (runtime_dir != nullptr && runtime_dir[0] != '\0')
                         ? absl::StrFormat("%s/icaht", runtime_dir)
                         : std::string("./run");
  if (config.admin_socket.empty()) config.admin_socket = base + "/admin.sock";
  if (config.state_dir.empty()) config.state_dir = base;
}

// With etcd: --advertise-address is required, and with no --host-id the
// first 8 hex digits of /etc/machine-id (random per installation, stable
// across boots) number this host.
absl::Status FillHostId(DaemonConfig& config) {
  if (config.etcd_endpoints.empty()) return absl::OkStatus();
  if (config.advertise_address.empty()) {
    // The bind address would do for a local Traefik, not for a fleet's.
    return absl::InvalidArgumentError(
        "--advertise-address: required with --etcd-endpoints (the address other hosts and "
        "their Traefik reach this host's service ports on)");
  }
  if (config.host_id.has_value()) return absl::OkStatus();
  constexpr const char* kMachineId = "/etc/machine-id";
  absl::StatusOr<std::string> text = ReadConfigText(kMachineId);
  uint32_t id = 0;
  bool ok = text.ok() && text->size() >= 8;
  for (size_t i = 0; ok && i < 8; ++i) {
    char c = (*text)[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    ok = digit >= 0;
    id = id * 16 + static_cast<uint32_t>(digit);
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--host-id: required with --etcd-endpoints (no %s to derive it from)", kMachineId));
  }
  config.host_id = id;
  return absl::OkStatus();
}

bool IsSet(const Option& option, const DaemonConfig& config) {
  (void)option;
  (void)config;
  return false;
}

struct FlagSetting {
  const Option* option;
  std::string value;
};

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

absl::StatusOr<DaemonConfig> ParseConfigFile(std::string_view json_text, std::string_view file_name,
                                             DaemonConfig base) {
  DaemonConfig config = std::move(base);
  absl::Status status =
      json::ParseObjectDocument(json_text, [&](json::Value& root) -> absl::Status {
        return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
          if (key == "services") return ApplyServices(value, config);
          const Option* option = FindOption(key);
          if (option == nullptr) return json::UnknownFieldError(key);
          return ApplyJsonOption(*option, value, config);
        });
      });
  if (!status.ok()) return WithSource(file_name, status);
  return config;
}

absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::vector<std::string>& args) {
  DaemonConfig config = Defaults();
  config.args = args;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      config.show_help = true;
      return config;
    }
  }
  for (const std::string& arg : args) {
    if (arg == "--version") {
      config.show_version = true;
      return config;
    }
  }

  // Collect the flags first: the file (--config) is applied before them,
  // wherever it appears.
  std::vector<FlagSetting> flags;
  std::string config_file;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      return absl::InvalidArgumentError(absl::StrFormat("unexpected argument '%s'", arg));
    }
    size_t equals = arg.find('=');
    std::string_view flag = arg.substr(0, equals);
    std::optional<std::string> value;
    if (equals != std::string_view::npos) value = std::string(arg.substr(equals + 1));
    const Option* option = FindFlag(flag);
    if (option == nullptr && flag != "--config") {
      return absl::InvalidArgumentError(absl::StrFormat("unknown flag %s", flag));
    }
    if (!value) {
      if (option != nullptr && option->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrFormat("%s: missing value", flag));
      }
    }
    if (option == nullptr) {
      if (value->empty()) return absl::InvalidArgumentError("--config: expected a file path");
      config_file = *value;
    } else {
      flags.push_back({option, *value});
    }
  }

  if (!config_file.empty()) {
    ICAHT_ASSIGN_OR_RETURN(std::string text, ReadConfigText(config_file));
    ICAHT_ASSIGN_OR_RETURN(config, ParseConfigFile(text, config_file, std::move(config)));
    config.config_file = config_file;
  }
  for (const FlagSetting& setting : flags) {
    absl::Status status = setting.option->set(setting.value, config);
    if (!status.ok()) return WithSource(FlagName(setting.option->name), status);
  }
  FillEnvironmentDefaults(config);
  ICAHT_RETURN_IF_ERROR(FillHostId(config));
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        config.tls_cert.empty() ? "--tls-key: needs --tls-cert (a key alone is no identity)"
                                : "--tls-cert: needs --tls-key");
  }

  for (const Option& option : Options()) {
    if (!option.not_built || !IsSet(option, config)) continue;
    bool from_flag = false;
    for (const FlagSetting& setting : flags) from_flag |= setting.option == &option;
    std::string source = from_flag ? FlagName(option.name)
                                   : absl::StrFormat("%s: field '%s'", config_file, option.name);
    return absl::UnimplementedError(absl::StrFormat("%s: not supported yet in this build", source));
  }
  return config;
}

absl::StatusOr<DaemonConfig> LoadDaemonConfig(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return LoadDaemonConfig(args);
}

std::string UsageText() {
  std::string text =
      "Usage: icaht-sidecar [--config FILE] [flags]\n"
      "\n"
      "Gives every registered service its own enriched HTTP proxy port.\n"
      "Flags take \"--flag VALUE\" or \"--flag=VALUE\"; they override the config file.\n"
      "\n";
  auto line = [&](std::string_view flag, std::string_view help) {
    absl::StrAppendFormat(&text, "  %-36s %s\n", flag, help);
  };
  line("--config FILE", "JSON object: the flags below in snake_case, plus \"services\"");
  for (const Option& option : Options()) {
    std::string flag = FlagName(option.name);
    if (!option.value_name.empty()) flag = absl::StrFormat("%s %s", flag, option.value_name);
    line(flag, option.help);
  }
  line("--help, -h", "print this text and exit");
  line("--version", "print the version and exit");
  text +=
      "\n"
      "Config file example:\n"
      "  {\"shards\": 2, \"port_range\": \"7001-7999\", \"log_level\": \"info\",\n"
      "   \"services\": [{\"name\": \"orders\", \"upstreams\": [\"127.0.0.1:8080\"]}]}\n";
  return text;
}

std::string VersionText() { return absl::StrFormat("icaht-sidecar %s", ICAHT_VERSION); }

}  // namespace icaht::config
