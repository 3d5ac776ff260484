#include "top.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string_view>

#include "absl/strings/str_format.h"
#include "metrics_text.h"
#include "record_json.h"
#include "table.h"
#include "text.h"

namespace icaht::ctl {

const char kTopUsage[] =
    "usage: icahtctl top [--interval SECONDS] [--sort name|rps|errors|p99|conns] [--count N]\n"
    "                    [--once] [--json]\n"
    "\n"
    "A live view of each service's traffic, refreshed every interval from the daemon's\n"
    "/metrics (read through the admin socket). Each row covers the last interval:\n"
    "  REQ/S      exchanges answered per second (every status code, and 0: cut before an\n"
    "             answer)\n"
    "  ERR%       the share of them answered with a 5xx status: the proxy's own 502/503/504\n"
    "             (upstream refused, failed, timed out, none healthy) and the upstream's 5xx\n"
    "  P50, P99   request duration (first byte to end of answer) quantiles, interpolated\n"
    "             within the histogram's buckets; '-' when nothing was answered\n"
    "  CONNS      open client connections now\n"
    "  UPSTREAMS  instances in the rotation of all ('1/2 up': one is out by health checks)\n"
    "\n"
    "options:\n"
    "  --interval SECONDS  time between refreshes (default 1; 0.1 to 3600)\n"
    "  --sort KEY          name, or descending rps, errors, p99, conns (default rps)\n"
    "  --count N           exit after N refreshes\n"
    "  --once              one refresh over one interval, then exit; never clears the screen\n"
    "  --json              one JSON object per refresh, a line each\n"
    "\n"
    "On a terminal the screen is redrawn each refresh under a header line with totals;\n"
    "otherwise each refresh prints a table, blocks separated by a blank line. Ctrl-C exits\n"
    "with status 0.\n";

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kMinInterval = 0.1;
constexpr double kMaxInterval = 3600;

struct SortName {
  std::string_view name;
  SortKey key;
};
constexpr SortName kSortNames[] = {{"name", SortKey::kName},
                                   {"rps", SortKey::kRps},
                                   {"errors", SortKey::kErrors},
                                   {"p99", SortKey::kP99},
                                   {"conns", SortKey::kConns}};

std::string_view NameOf(SortKey key) {
  for (const SortName& s : kSortNames) {
    if (s.key == key) return s.name;
  }
  return "?";
}

// The number a row is sorted by (nullopt: unknown, sorted last).
std::optional<double> SortValue(const ServiceRates& r, SortKey key) {
  switch (key) {
    case SortKey::kRps:
      return r.requests_per_second;
    case SortKey::kErrors:
      return r.error_ratio;
    case SortKey::kP99:
      return r.p99_seconds;
    case SortKey::kConns:
      return r.active_connections;
    case SortKey::kName:
      break;
  }
  return std::nullopt;
}

void AppendJsonNumber(std::string* out, std::optional<double> v) {
  if (!v || !std::isfinite(*v)) {
    out->append("null");
  } else if (*v == std::floor(*v) && std::fabs(*v) < 1e15) {
    out->append(absl::StrFormat("%.0f", *v));
  } else {
    out->append(absl::StrFormat("%.9g", *v));
  }
}

volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;  // no SA_RESTART: a sleep ends at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Sleeps until `at` or a stop signal.
void SleepUntil(Clock::time_point at) {
  while (!g_stop) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(at - Clock::now());
    if (left.count() <= 0) return;
    timespec ts{.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000),
                .tv_nsec = static_cast<long>(left.count() % 1'000'000'000)};
    nanosleep(&ts, nullptr);
  }
}

struct Scrape {
  Clock::time_point at;
  ServiceCountersMap services;
};

// The header of a drawn screen: time, how many services, the totals of the interval.
std::string Summary(const std::vector<ServiceRates>& rows, const TopOptions& options) {
  double rps = 0, requests = 0, errors = 0;
  for (const ServiceRates& r : rows) {
    rps += r.requests_per_second;
    requests += r.requests;
    errors += r.error_ratio.value_or(0) * r.requests;
  }
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char clock[16];
  strftime(clock, sizeof clock, "%H:%M:%S", &local);
  std::string errors_text = requests > 0 ? absl::StrFormat("%.1f%%", 100 * errors / requests) : "-";
  return absl::StrFormat(
      "icahtctl top  %s  %d service%s  %.1f req/s  %s 5xx  (every %gs, by %s; Ctrl-C quits)\n",
      clock, rows.size(), rows.size() == 1 ? "" : "s", rps, errors_text, options.interval_s,
      std::string(NameOf(options.sort)));
}

// The terminal's height in lines, 0 when unknown.
int TerminalRows() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_row;
}

// One drawn screen: clear, home, header, as many rows as fit.
std::string Screen(std::vector<ServiceRates> rows, const TopOptions& options) {
  std::string out = "\x1b[H\x1b[2J" + Summary(rows, options) + "\n";
  int height = TerminalRows();
  size_t hidden = 0;
  // Header, blank line, column names and a "more" line take four lines.
  if (height > 4 && rows.size() > static_cast<size_t>(height - 4)) {
    hidden = rows.size() - (height - 4);
    rows.resize(height - 4);
  }
  out += FormatRates(rows);
  if (hidden > 0) out += absl::StrFormat("(%d more)\n", hidden);
  return out;
}

}  // namespace

std::optional<std::string> ParseTopOptions(
    const std::vector<std::pair<std::string, std::string>>& options, TopOptions* out) {
  bool counted = false;
  for (const auto& [name, value] : options) {
    if (name == "--once") {
      out->once = true;
    } else if (name == "--interval") {
      double s = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
      if (ec != std::errc() || ptr != value.data() + value.size() || !(s >= kMinInterval) ||
          !(s <= kMaxInterval)) {
        return Cat("bad --interval '", value, "': expected seconds from 0.1 to 3600");
      }
      out->interval_s = s;
    } else if (name == "--count") {
      if (!ParseUnsigned(value, &out->count) || out->count == 0) {
        return Cat("bad --count '", value, "': expected a positive integer");
      }
      counted = true;
    } else if (name == "--sort") {
      auto it = std::find_if(std::begin(kSortNames), std::end(kSortNames),
                             [&wanted = value](const SortName& s) { return s.name == wanted; });
      if (it == std::end(kSortNames)) {
        return Cat("bad --sort '", value, "': expected name, rps, errors, p99 or conns");
      }
      out->sort = it->key;
    }
  }
  if (out->once && counted && out->count != 1) return "--once cannot be combined with --count";
  if (out->once) out->count = 1;
  return std::nullopt;
}

void SortRates(std::vector<ServiceRates>* rows, SortKey key) {
  std::sort(rows->begin(), rows->end(), [key](const ServiceRates& a, const ServiceRates& b) {
    if (key != SortKey::kName) {
      std::optional<double> x = SortValue(a, key), y = SortValue(b, key);
      if (x.has_value() != y.has_value()) return x.has_value();
      if (x && *x != *y) return *x > *y;
    }
    return a.name < b.name;
  });
}

std::string FormatSeconds(double seconds) {
  if (seconds < 0.01) return absl::StrFormat("%.2fms", seconds * 1e3);
  if (seconds < 1) return absl::StrFormat("%.1fms", seconds * 1e3);
  return absl::StrFormat("%.2fs", seconds);
}

std::string FormatRates(const std::vector<ServiceRates>& rows) {
  std::vector<std::vector<std::string>> table;
  table.push_back({"SERVICE", "REQ/S", "ERR%", "P50", "P99", "CONNS", "UPSTREAMS"});
  auto latency = [](std::optional<double> s) { return s ? FormatSeconds(*s) : "-"; };
  for (const ServiceRates& r : rows) {
    table.push_back({r.name, absl::StrFormat("%.1f", r.requests_per_second),
                     r.error_ratio ? absl::StrFormat("%.1f%%", 100 * *r.error_ratio) : "-",
                     latency(r.p50_seconds), latency(r.p99_seconds),
                     absl::StrFormat("%.0f", r.active_connections),
                     r.upstreams > 0 ? Cat(r.upstreams_up, "/", r.upstreams, " up") : "-"});
  }
  return AlignColumns(table, {Align::kLeft, Align::kRight, Align::kRight, Align::kRight,
                              Align::kRight, Align::kRight, Align::kLeft});
}

std::string FormatRatesJson(const std::vector<ServiceRates>& rows, double unix_time,
                            double interval_s) {
  std::string out = absl::StrFormat("{\"time\":%.3f,\"interval_s\":", unix_time);
  AppendJsonNumber(&out, interval_s);
  out += ",\"services\":[";
  for (const ServiceRates& r : rows) {
    if (out.back() != '[') out.push_back(',');
    out += "{\"service\":";
    AppendJsonString(&out, r.name);
    const std::pair<std::string_view, std::optional<double>> fields[] = {
        {"requests", r.requests},         {"requests_per_second", r.requests_per_second},
        {"error_ratio", r.error_ratio},   {"p50_seconds", r.p50_seconds},
        {"p99_seconds", r.p99_seconds},   {"active_connections", r.active_connections},
        {"upstreams_up", r.upstreams_up}, {"upstreams", r.upstreams},
    };
    for (const auto& [key, value] : fields) {
      Append(&out, ",\"", key, "\":");
      AppendJsonNumber(&out, value);
    }
    out.push_back('}');
  }
  out += "]}";
  return out;
}

bool RunTop(const TopOptions& options, const FetchPage& fetch) {
  InstallStopHandlers();
  const bool screen = !options.once && !options.json && isatty(STDOUT_FILENO);
  auto take = [&fetch]() -> std::optional<Scrape> {
    std::optional<std::string> page = fetch();
    if (!page) return std::nullopt;
    Clock::time_point at = Clock::now();
    absl::StatusOr<std::vector<MetricFamily>> families = ParseMetricsText(*page);
    if (!families.ok()) {
      std::cerr << "icahtctl: cannot read the daemon's /metrics: " << families.status().message()
                << "\n";
      return std::nullopt;
    }
    return Scrape{at, CountersByService(*families)};
  };
  std::optional<Scrape> previous = take();
  if (!previous) return g_stop != 0;
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.interval_s));
  for (uint64_t shown = 0; options.count == 0 || shown < options.count; ++shown) {
    SleepUntil(previous->at + interval);
    if (g_stop) break;
    std::optional<Scrape> current = take();
    if (!current) return g_stop != 0;
    double seconds = std::chrono::duration<double>(current->at - previous->at).count();
    std::vector<ServiceRates> rows = RatesBetween(previous->services, current->services, seconds);
    SortRates(&rows, options.sort);
    if (options.json) {
      double unix_now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      std::cout << FormatRatesJson(rows, unix_now, seconds) << "\n";
    } else if (screen) {
      std::cout << Screen(std::move(rows), options);
    } else {
      std::cout << (shown > 0 ? "\n" : "") << FormatRates(rows);
    }
    std::cout.flush();
    previous = std::move(current);
  }
  return true;
}

}  // namespace icaht::ctl
