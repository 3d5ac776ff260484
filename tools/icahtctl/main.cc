// icahtctl: command-line client of the icaht-sidecar admin API (DESIGN.md "Admin API").
//
// Exit codes: 0 success, 1 the daemon refused the call (or answered nonsense), 2 usage error,
// 3 the admin socket cannot be reached.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "admin_client.h"
#include "cache_purge.h"
#include "record_json.h"
#include "route_cmd.h"
#include "text.h"
#include "top.h"

namespace icaht::ctl {
namespace {

enum ExitCode : int { kOk = 0, kApiError = 1, kUsage = 2, kNoDaemon = 3 };

constexpr std::chrono::milliseconds kTimeout{10000};

constexpr char kMainUsage[] =
    "usage: icahtctl [--admin-socket PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "Manage the services of a running icaht-sidecar through its admin socket.\n"
    "\n"
    "commands:\n"
    "  register    register a service (gets its own proxy port)\n"
    "  deregister  remove a service and free its port\n"
    "  list        list registered services\n"
    "  get         show one service\n"
    "  update      replace a service's upstreams/version (port kept)\n"
    "  top         live per-service traffic view from /metrics\n"
    "  cache       'cache purge NAME [--path URI]': drop a service's cached responses\n"
    "  route       show a service's routes, or set a split: --split v1=90,v2=10\n"
    "\n"
    "global options:\n"
    "  --admin-socket PATH  admin socket (default: $ICAHT_ADMIN_SOCKET, else\n"
    "                       $XDG_RUNTIME_DIR/icaht/admin.sock, else ./run/admin.sock)\n"
    "  --json               print the daemon's JSON response instead of a table\n"
    "  -h, --help           show this help; 'icahtctl COMMAND --help' for a command\n"
    "\n"
    "exit status: 0 ok, 1 API error, 2 usage error, 3 cannot reach the daemon\n";

constexpr char kRegisterUsage[] =
    "usage: icahtctl register --name NAME --upstream HOST:PORT[=WEIGHT]... [--port PORT]\n"
    "                         [--version VERSION]\n"
    "       icahtctl register --file RECORD.json|-\n"
    "\n"
    "Registers a service. --upstream may be repeated; without --port the daemon picks a\n"
    "free port from its range. --file sends a complete service record ('-' reads stdin).\n";
constexpr char kDeregisterUsage[] =
    "usage: icahtctl deregister NAME\n\nRemoves the service and frees its port.\n";
constexpr char kListUsage[] = "usage: icahtctl list\n\nLists registered services.\n";
constexpr char kGetUsage[] = "usage: icahtctl get NAME\n\nShows one service.\n";
constexpr char kUpdateUsage[] =
    "usage: icahtctl update NAME [--upstream HOST:PORT[=WEIGHT]]... [--version VERSION]\n"
    "       icahtctl update NAME --file RECORD.json|-\n"
    "\n"
    "Replaces the service's upstreams and/or version, keeping its port and other settings;\n"
    "--file replaces the whole record.\n";

struct UsageError {
  std::string message;
  const char* usage;
};

struct Options {
  std::string socket_path = DefaultAdminSocketPath();
  bool json = false;
};

// Command arguments after global options are split off.
struct CommandArgs {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;  // (name, value)
  bool help = false;
};

void PrintUsageError(const UsageError& e) {
  std::cerr << "icahtctl: " << e.message << "\n" << e.usage;
}

// Splits argv[begin..] into positional arguments, --name VALUE / --name=VALUE options and
// flags (--name alone, stored with an empty value). Global options (--json, --admin-socket)
// are accepted anywhere and applied to `options`.
std::optional<UsageError> SplitArgs(const std::vector<std::string>& args, size_t begin,
                                    const std::vector<std::string_view>& value_options,
                                    const std::vector<std::string_view>& flag_options,
                                    const char* usage, Options* options, CommandArgs* out) {
  for (size_t i = begin; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) out->positional.push_back(args[i]);
      break;
    }
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      continue;
    }
    if (arg == "--json") {
      options->json = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      out->positional.emplace_back(arg);
      continue;
    }
    if (std::find(flag_options.begin(), flag_options.end(), arg) != flag_options.end()) {
      out->options.emplace_back(std::string(arg), "");
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    bool known = name == "--admin-socket";
    for (std::string_view v : value_options) known = known || name == v;
    if (!known) return UsageError{Cat("unknown option '", name, "'"), usage};
    if (!value) {
      if (i + 1 >= args.size()) {
        return UsageError{Cat("option '", name, "' needs a value"), usage};
      }
      value = args[++i];
    }
    if (name == "--admin-socket") {
      options->socket_path = *value;
    } else {
      out->options.emplace_back(std::string(name), *value);
    }
  }
  return std::nullopt;
}

std::optional<UsageError> ParseUpstream(std::string_view arg, const char* usage, UpstreamArg* out) {
  std::string_view address = arg;
  if (size_t eq = arg.rfind('='); eq != std::string_view::npos) {
    address = arg.substr(0, eq);
    uint32_t weight = 0;
    if (!ParseUnsigned(arg.substr(eq + 1), &weight)) {
      return UsageError{
          Cat("bad weight in --upstream '", arg, "': expected a non-negative integer"), usage};
    }
    out->weight = weight;
  }
  if (address.empty()) {
    return UsageError{Cat("empty address in --upstream '", arg, "'"), usage};
  }
  out->address = address;
  return std::nullopt;
}

absl::StatusOr<std::string> ReadBodyFile(const std::string& path) {
  std::string body;
  if (path == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return absl::InternalError("cannot read standard input");
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(Cat("cannot read ", path, ": ", strerror(errno)));
    }
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return absl::InternalError(Cat("cannot read ", path));
  }
  return std::string(StripTrailingSpace(body));
}

class Runner {
 public:
  explicit Runner(const Options& options)
      : options_(options), client_(options.socket_path, kTimeout) {}

  // Performs one call; on success returns the response, otherwise prints the error and sets
  // `exit_code`.
  std::optional<HttpResponse> Call(std::string_view method, std::string_view path,
                                   std::string_view body, int* exit_code) {
    absl::StatusOr<HttpResponse> response = client_.Call(method, path, body);
    if (!response.ok()) {
      std::cerr << "icahtctl: " << response.status().message() << "\n";
      *exit_code = absl::IsUnavailable(response.status()) ? kNoDaemon : kApiError;
      return std::nullopt;
    }
    if (response->status < 200 || response->status > 299) {
      absl::StatusOr<ApiError> error = ParseApiError(response->body);
      if (error.ok()) {
        std::cerr << "icahtctl: " << error->message << " (" << error->code << ", HTTP "
                  << response->status << ")\n";
      } else {
        std::string_view snippet = StripSpace(response->body);
        if (snippet.size() > 200) snippet = snippet.substr(0, 200);
        std::cerr << "icahtctl: unexpected response (HTTP " << response->status << ")"
                  << (snippet.empty() ? "" : ": ") << snippet << "\n";
      }
      *exit_code = kApiError;
      return std::nullopt;
    }
    return *std::move(response);
  }

  // Prints a one-record response (table or raw JSON). Returns the record for a follow-up line.
  std::optional<RecordSummary> PrintRecord(const HttpResponse& response, int* exit_code) {
    if (options_.json) {
      PrintRaw(response.body);
      absl::StatusOr<RecordSummary> record = ParseRecord(response.body);
      return record.ok() ? std::optional<RecordSummary>(*record) : std::nullopt;
    }
    absl::StatusOr<RecordSummary> record = ParseRecord(response.body);
    if (!record.ok()) {
      std::cerr << "icahtctl: " << record.status().message() << "\n";
      *exit_code = kApiError;
      return std::nullopt;
    }
    std::cout << FormatTable({*record});
    return *record;
  }

  void PrintRaw(std::string_view body) { std::cout << StripSpace(body) << "\n"; }

  bool json() const { return options_.json; }

 private:
  const Options& options_;
  AdminClient client_;
};

int CmdRegister(Runner& runner, const CommandArgs& args) {
  std::optional<std::string> name, version, file;
  std::optional<uint32_t> port;
  std::vector<UpstreamArg> upstreams;
  for (const auto& [opt, value] : args.options) {
    if (opt == "--name") {
      name = value;
    } else if (opt == "--version") {
      version = value;
    } else if (opt == "--file") {
      file = value;
    } else if (opt == "--port") {
      uint32_t p = 0;
      if (!ParseUnsigned(value, &p) || p == 0 || p > 65535) {
        PrintUsageError({Cat("bad --port '", value, "': expected 1-65535"), kRegisterUsage});
        return kUsage;
      }
      port = p;
    } else if (opt == "--upstream") {
      UpstreamArg upstream;
      if (auto e = ParseUpstream(value, kRegisterUsage, &upstream)) {
        PrintUsageError(*e);
        return kUsage;
      }
      upstreams.push_back(std::move(upstream));
    }
  }
  if (!args.positional.empty()) {
    PrintUsageError({Cat("unexpected argument '", args.positional[0], "'"), kRegisterUsage});
    return kUsage;
  }
  std::string body;
  if (file) {
    if (name || version || port || !upstreams.empty()) {
      PrintUsageError({"--file cannot be combined with other record options", kRegisterUsage});
      return kUsage;
    }
    absl::StatusOr<std::string> read = ReadBodyFile(*file);
    if (!read.ok()) {
      std::cerr << "icahtctl: " << read.status().message() << "\n";
      return kApiError;
    }
    body = *std::move(read);
  } else {
    if (!name) {
      PrintUsageError({"register needs --name (or --file)", kRegisterUsage});
      return kUsage;
    }
    if (upstreams.empty()) {
      PrintUsageError({"register needs at least one --upstream", kRegisterUsage});
      return kUsage;
    }
    body = BuildRecordJson(*name, upstreams, port, version);
  }
  int exit_code = kOk;
  std::optional<HttpResponse> response = runner.Call("POST", "/v1/services", body, &exit_code);
  if (!response) return exit_code;
  std::optional<RecordSummary> record = runner.PrintRecord(*response, &exit_code);
  if (record && !runner.json()) {
    std::cout << record->name << " registered on port " << (record->port ? Cat(*record->port) : "?")
              << "\n";
  }
  return exit_code;
}

// Checks that exactly one positional NAME was given.
std::optional<std::string> OneName(const CommandArgs& args, const char* usage, int* exit_code) {
  if (args.positional.size() != 1) {
    PrintUsageError({args.positional.empty()
                         ? "missing service NAME"
                         : Cat("unexpected argument '", args.positional[1], "'"),
                     usage});
    *exit_code = kUsage;
    return std::nullopt;
  }
  if (args.positional[0].empty()) {
    PrintUsageError({"empty service NAME", usage});
    *exit_code = kUsage;
    return std::nullopt;
  }
  return args.positional[0];
}

int CmdDeregister(Runner& runner, const CommandArgs& args) {
  int exit_code = kOk;
  std::optional<std::string> name = OneName(args, kDeregisterUsage, &exit_code);
  if (!name) return exit_code;
  std::optional<HttpResponse> response =
      runner.Call("DELETE", Cat("/v1/services/", EncodePathSegment(*name)), "", &exit_code);
  if (!response) return exit_code;
  if (runner.json()) {
    if (!response->body.empty()) runner.PrintRaw(response->body);
  } else {
    std::cout << *name << " deregistered\n";
  }
  return kOk;
}

int CmdList(Runner& runner, const CommandArgs& args) {
  if (!args.positional.empty()) {
    PrintUsageError({Cat("unexpected argument '", args.positional[0], "'"), kListUsage});
    return kUsage;
  }
  int exit_code = kOk;
  std::optional<HttpResponse> response = runner.Call("GET", "/v1/services", "", &exit_code);
  if (!response) return exit_code;
  if (runner.json()) {
    runner.PrintRaw(response->body);
    return kOk;
  }
  absl::StatusOr<std::vector<RecordSummary>> records = ParseRecordList(response->body);
  if (!records.ok()) {
    std::cerr << "icahtctl: " << records.status().message() << "\n";
    return kApiError;
  }
  std::cout << FormatTable(*records);
  return kOk;
}

int CmdGet(Runner& runner, const CommandArgs& args) {
  int exit_code = kOk;
  std::optional<std::string> name = OneName(args, kGetUsage, &exit_code);
  if (!name) return exit_code;
  std::optional<HttpResponse> response =
      runner.Call("GET", Cat("/v1/services/", EncodePathSegment(*name)), "", &exit_code);
  if (!response) return exit_code;
  runner.PrintRecord(*response, &exit_code);
  return exit_code;
}

int CmdUpdate(Runner& runner, const CommandArgs& args) {
  int exit_code = kOk;
  std::optional<std::string> name = OneName(args, kUpdateUsage, &exit_code);
  if (!name) return exit_code;
  std::optional<std::string> version, file;
  std::optional<std::vector<UpstreamArg>> upstreams;
  for (const auto& [opt, value] : args.options) {
    if (opt == "--version") {
      version = value;
    } else if (opt == "--file") {
      file = value;
    } else if (opt == "--upstream") {
      UpstreamArg upstream;
      if (auto e = ParseUpstream(value, kUpdateUsage, &upstream)) {
        PrintUsageError(*e);
        return kUsage;
      }
      if (!upstreams) upstreams.emplace();
      upstreams->push_back(std::move(upstream));
    }
  }
  const std::string path = Cat("/v1/services/", EncodePathSegment(*name));
  std::string body;
  if (file) {
    if (version || upstreams) {
      PrintUsageError({"--file cannot be combined with --upstream or --version", kUpdateUsage});
      return kUsage;
    }
    absl::StatusOr<std::string> read = ReadBodyFile(*file);
    if (!read.ok()) {
      std::cerr << "icahtctl: " << read.status().message() << "\n";
      return kApiError;
    }
    body = *std::move(read);
  } else {
    if (!version && !upstreams) {
      PrintUsageError({"update needs --upstream, --version or --file", kUpdateUsage});
      return kUsage;
    }
    std::optional<HttpResponse> current = runner.Call("GET", path, "", &exit_code);
    if (!current) return exit_code;
    absl::StatusOr<std::string> replaced = ReplaceRecordFields(current->body, upstreams, version);
    if (!replaced.ok()) {
      std::cerr << "icahtctl: " << replaced.status().message() << "\n";
      return kApiError;
    }
    body = *std::move(replaced);
  }
  std::optional<HttpResponse> response = runner.Call("PUT", path, body, &exit_code);
  if (!response) return exit_code;
  std::optional<RecordSummary> record = runner.PrintRecord(*response, &exit_code);
  if (record && !runner.json()) {
    std::cout << record->name << " updated on port " << (record->port ? Cat(*record->port) : "?")
              << "\n";
  }
  return exit_code;
}

int CmdTop(Runner& runner, const CommandArgs& args) {
  if (!args.positional.empty()) {
    PrintUsageError({Cat("unexpected argument '", args.positional[0], "'"), kTopUsage});
    return kUsage;
  }
  TopOptions options;
  options.json = runner.json();
  if (std::optional<std::string> error = ParseTopOptions(args.options, &options)) {
    PrintUsageError({*error, kTopUsage});
    return kUsage;
  }
  int exit_code = kOk;
  bool ok = RunTop(options, [&]() -> std::optional<std::string> {
    std::optional<HttpResponse> response = runner.Call("GET", "/metrics", "", &exit_code);
    if (!response) return std::nullopt;
    return std::move(response->body);
  });
  if (!ok && exit_code == kOk) exit_code = kApiError;
  return exit_code;
}

int CmdRoute(Runner& runner, const CommandArgs& args) {
  RouteArgs route;
  if (std::optional<std::string> error = ParseRouteArgs(args.positional, args.options, &route)) {
    PrintUsageError({*error, kRouteUsage});
    return kUsage;
  }
  int exit_code = kOk;
  const std::string path = Cat("/v1/services/", EncodePathSegment(route.service));
  std::optional<HttpResponse> current = runner.Call("GET", path, "", &exit_code);
  if (!current) return exit_code;
  if (route.split) {
    absl::StatusOr<std::string> body = ApplySplit(current->body, *route.split);
    if (body.ok()) current = runner.Call("PUT", path, *body, &exit_code);
    if (!body.ok()) std::cerr << "icahtctl: " << body.status().message() << "\n";
    if (!body.ok() || !current) return body.ok() ? exit_code : kApiError;
  }
  if (runner.json()) {
    runner.PrintRaw(current->body);
    return kOk;
  }
  absl::StatusOr<std::string> text = FormatRoutes(current->body);
  if (!text.ok()) {
    std::cerr << "icahtctl: " << text.status().message() << "\n";
    return kApiError;
  }
  std::cout << *text;
  return kOk;
}

int CmdCache(Runner& runner, const CommandArgs& args) {
  CachePurgeArgs purge;
  if (std::optional<std::string> error =
          ParseCachePurgeArgs(args.positional, args.options, &purge)) {
    PrintUsageError({*error, kCacheUsage});
    return kUsage;
  }
  int exit_code = kOk;
  std::optional<HttpResponse> response =
      runner.Call("DELETE", CachePurgeTarget(purge), "", &exit_code);
  if (!response) return exit_code;
  if (runner.json()) {
    runner.PrintRaw(response->body);
    return kOk;
  }
  absl::StatusOr<uint64_t> purged = ParsePurgedCount(response->body);
  if (!purged.ok()) {
    std::cerr << "icahtctl: " << purged.status().message() << "\n";
    return kApiError;
  }
  std::cout << FormatPurged(purge, *purged) << "\n";
  return kOk;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Options options;
  // Global options before the command.
  size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kMainUsage;
      return kOk;
    }
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--admin-socket") {
      if (i + 1 >= args.size()) {
        PrintUsageError({"option '--admin-socket' needs a value", kMainUsage});
        return kUsage;
      }
      options.socket_path = args[++i];
    } else if (arg.starts_with("--admin-socket=")) {
      options.socket_path = std::string(arg.substr(strlen("--admin-socket=")));
    } else if (arg.starts_with("-")) {
      PrintUsageError({Cat("unknown option '", arg, "'"), kMainUsage});
      return kUsage;
    } else {
      break;
    }
  }
  if (i >= args.size()) {
    PrintUsageError({"missing COMMAND", kMainUsage});
    return kUsage;
  }
  const std::string command = args[i];

  struct Command {
    std::string_view name;
    const char* usage;
    std::vector<std::string_view> value_options;
    std::vector<std::string_view> flag_options;
    int (*run)(Runner&, const CommandArgs&);
  };
  const Command commands[] = {
      {"register",
       kRegisterUsage,
       {"--name", "--upstream", "--port", "--version", "--file"},
       {},
       CmdRegister},
      {"deregister", kDeregisterUsage, {}, {}, CmdDeregister},
      {"list", kListUsage, {}, {}, CmdList},
      {"get", kGetUsage, {}, {}, CmdGet},
      {"update", kUpdateUsage, {"--upstream", "--version", "--file"}, {}, CmdUpdate},
      {"top", kTopUsage, {"--interval", "--sort", "--count"}, {"--once"}, CmdTop},
      {"cache", kCacheUsage, {"--path"}, {}, CmdCache},
      {"route", kRouteUsage, {"--split"}, {}, CmdRoute},
  };
  for (const Command& c : commands) {
    if (c.name != command) continue;
    CommandArgs parsed;
    if (auto e =
            SplitArgs(args, i + 1, c.value_options, c.flag_options, c.usage, &options, &parsed)) {
      PrintUsageError(*e);
      return kUsage;
    }
    if (parsed.help) {
      std::cout << c.usage;
      return kOk;
    }
    Runner runner(options);
    return c.run(runner, parsed);
  }
  if (command == "help") {
    std::cout << kMainUsage;
    return kOk;
  }
  PrintUsageError({Cat("unknown command '", command, "'"), kMainUsage});
  return kUsage;
}

}  // namespace
}  // namespace icaht::ctl

int main(int argc, char** argv) { return icaht::ctl::Main(argc, argv); }
