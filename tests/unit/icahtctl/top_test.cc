#include "top.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "gtest/gtest.h"
#include "text.h"

namespace icaht::ctl {
namespace top_test {

using Options = std::vector<std::pair<std::string, std::string>>;

TEST(TopOptionsTest, DefaultsAndValues) {
  TopOptions o;
  ASSERT_EQ(ParseTopOptions({}, &o), std::nullopt);
  EXPECT_EQ(o.interval_s, 1.0);
  EXPECT_EQ(o.count, 0u);
  EXPECT_FALSE(o.once);
  EXPECT_EQ(o.sort, SortKey::kRps);

  TopOptions p;
  ASSERT_EQ(ParseTopOptions({{"--interval", "0.5"}, {"--count", "3"}, {"--sort", "p99"}}, &p),
            std::nullopt);
  EXPECT_EQ(p.interval_s, 0.5);
  EXPECT_EQ(p.count, 3u);
  EXPECT_EQ(p.sort, SortKey::kP99);

  TopOptions once;
  ASSERT_EQ(ParseTopOptions({{"--once", ""}, {"--sort", "name"}}, &once), std::nullopt);
  EXPECT_TRUE(once.once);
  EXPECT_EQ(once.count, 1u);
  EXPECT_EQ(once.sort, SortKey::kName);
}

TEST(TopOptionsTest, BadValuesAreNamed) {
  const std::pair<Options, std::string_view> cases[] = {
      {{{"--interval", "0"}}, "bad --interval '0'"},
      {{{"--interval", "0.05"}}, "bad --interval '0.05'"},
      {{{"--interval", "1h"}}, "bad --interval '1h'"},
      {{{"--interval", "7200"}}, "bad --interval '7200'"},
      {{{"--interval", "nan"}}, "bad --interval 'nan'"},
      {{{"--count", "0"}}, "bad --count '0'"},
      {{{"--count", "-1"}}, "bad --count '-1'"},
      {{{"--sort", "latency"}}, "bad --sort 'latency'"},
      {{{"--once", ""}, {"--count", "2"}}, "--once cannot be combined with --count"},
  };
  for (const auto& [options, message] : cases) {
    TopOptions o;
    std::optional<std::string> error = ParseTopOptions(options, &o);
    ASSERT_TRUE(error.has_value()) << message;
    EXPECT_TRUE(error->starts_with(message)) << *error;
  }
}

ServiceRates Row(std::string name, double rps, std::optional<double> errors,
                 std::optional<double> p99, double conns) {
  ServiceRates r;
  r.name = std::move(name);
  r.requests = rps;
  r.requests_per_second = rps;
  r.error_ratio = errors;
  r.p50_seconds = p99 ? std::optional<double>(*p99 / 2) : std::nullopt;
  r.p99_seconds = p99;
  r.active_connections = conns;
  r.upstreams = 2;
  r.upstreams_up = 2;
  return r;
}

std::string Names(const std::vector<ServiceRates>& rows) {
  std::string out;
  for (const ServiceRates& r : rows) Append(&out, out.empty() ? "" : " ", r.name);
  return out;
}

TEST(SortRatesTest, EachKey) {
  std::vector<ServiceRates> rows = {Row("c", 5, 0.5, 0.2, 1), Row("a", 5, std::nullopt, 0.1, 9),
                                    Row("b", 9, 0.1, std::nullopt, 0), Row("d", 0, 0, 0.3, 3)};
  SortRates(&rows, SortKey::kRps);
  EXPECT_EQ(Names(rows), "b a c d");  // ties by name
  SortRates(&rows, SortKey::kName);
  EXPECT_EQ(Names(rows), "a b c d");
  SortRates(&rows, SortKey::kErrors);
  EXPECT_EQ(Names(rows), "c b d a");  // unknown last
  SortRates(&rows, SortKey::kP99);
  EXPECT_EQ(Names(rows), "d c a b");
  SortRates(&rows, SortKey::kConns);
  EXPECT_EQ(Names(rows), "a d c b");
}

TEST(FormatTest, Seconds) {
  EXPECT_EQ(FormatSeconds(0.00025), "0.25ms");
  EXPECT_EQ(FormatSeconds(0.0042), "4.20ms");
  EXPECT_EQ(FormatSeconds(0.1234), "123.4ms");
  EXPECT_EQ(FormatSeconds(2.5), "2.50s");
}

TEST(FormatTest, Table) {
  ServiceRates idle = Row("idle", 0, std::nullopt, std::nullopt, 0);
  idle.upstreams_up = 1;
  EXPECT_EQ(FormatRates({Row("orders", 152.34, 0.0123, 0.0042, 12), idle}),
            "SERVICE  REQ/S  ERR%     P50     P99  CONNS  UPSTREAMS\n"
            "orders   152.3  1.2%  2.10ms  4.20ms     12  2/2 up\n"
            "idle       0.0     -       -       -      0  1/2 up\n");
  EXPECT_EQ(FormatRates({}), "SERVICE  REQ/S  ERR%  P50  P99  CONNS  UPSTREAMS\n");
}

TEST(FormatTest, Json) {
  EXPECT_EQ(FormatRatesJson({Row("o\"k", 2.5, 0.25, 0.004, 3), Row("idle", 0, {}, {}, 0)},
                            1700000000.5, 1.002),
            "{\"time\":1700000000.500,\"interval_s\":1.002,\"services\":["
            "{\"service\":\"o\\\"k\",\"requests\":2.5,\"requests_per_second\":2.5,"
            "\"error_ratio\":0.25,\"p50_seconds\":0.002,\"p99_seconds\":0.004,"
            "\"active_connections\":3,\"upstreams_up\":2,\"upstreams\":2},"
            "{\"service\":\"idle\",\"requests\":0,\"requests_per_second\":0,"
            "\"error_ratio\":null,\"p50_seconds\":null,\"p99_seconds\":null,"
            "\"active_connections\":0,\"upstreams_up\":2,\"upstreams\":2}]}");
  EXPECT_EQ(FormatRatesJson({}, 1, 1), "{\"time\":1.000,\"interval_s\":1,\"services\":[]}");
}

// A page as the daemon serves it: `n` requests of service "s" so far, all answered 200 in
// under 1 ms.
std::string PageWith(int n) {
  return Cat("# TYPE icaht_requests_total counter\n",
             "icaht_requests_total{service=\"s\",code=\"200\"} ", n, "\n",
             "# TYPE icaht_request_duration_seconds histogram\n",
             "icaht_request_duration_seconds_bucket{service=\"s\",le=\"0.001\"} ", n, "\n",
             "icaht_request_duration_seconds_bucket{service=\"s\",le=\"+Inf\"} ", n, "\n",
             "# TYPE icaht_upstream_up gauge\n",
             "icaht_upstream_up{service=\"s\",upstream=\"127.0.0.1:1\"} 1\n");
}

// The loop with pages handed in by the test: refreshes printed as blocks, --count honoured,
// the interval kept between fetches, a failed fetch ending it.
TEST(RunTopTest, PrintsOneBlockPerRefresh) {
  std::vector<std::string> pages = {PageWith(0), PageWith(10), PageWith(30)};
  size_t fetched = 0;
  std::vector<std::chrono::steady_clock::time_point> at;
  TopOptions options;
  options.interval_s = 0.1;
  options.count = 2;
  testing::internal::CaptureStdout();
  bool ok = RunTop(options, [&]() -> std::optional<std::string> {
    at.push_back(std::chrono::steady_clock::now());
    return pages.at(fetched++);
  });
  std::string out = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(ok);
  ASSERT_EQ(fetched, 3u);
  EXPECT_GE(at[2] - at[1], std::chrono::milliseconds(100));
  EXPECT_EQ(out.find('\x1b'), std::string::npos);  // not a terminal: no escapes
  size_t blank = out.find("\n\n");
  ASSERT_NE(blank, std::string::npos) << out;
  std::string first = out.substr(0, blank + 1), second = out.substr(blank + 2);
  EXPECT_TRUE(first.starts_with("SERVICE ")) << out;
  EXPECT_NE(first.find("\ns "), std::string::npos) << out;
  EXPECT_NE(first.find("0.0%"), std::string::npos) << out;
  EXPECT_NE(first.find("1/1 up"), std::string::npos) << out;
  EXPECT_TRUE(second.starts_with("SERVICE ")) << out;
  EXPECT_EQ(second.find("\n\n"), std::string::npos) << out;
}

TEST(RunTopTest, JsonLinesAndFailures) {
  std::vector<std::string> pages = {PageWith(5), PageWith(25)};
  size_t fetched = 0;
  TopOptions options;
  options.interval_s = 0.1;
  options.once = true;
  options.count = 1;
  options.json = true;
  testing::internal::CaptureStdout();
  ASSERT_TRUE(RunTop(options, [&] { return std::optional<std::string>(pages.at(fetched++)); }));
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(out.starts_with("{\"time\":")) << out;
  EXPECT_NE(out.find("\"service\":\"s\",\"requests\":20,"), std::string::npos) << out;
  EXPECT_NE(out.find("\"upstreams_up\":1,\"upstreams\":1}]}\n"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);

  // A page that is not the text format, or no page at all: false, nothing printed.
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  EXPECT_FALSE(RunTop(options, [] { return std::optional<std::string>("<html>"); }));
  EXPECT_FALSE(RunTop(options, [] { return std::optional<std::string>(); }));
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  EXPECT_NE(testing::internal::GetCapturedStderr().find("cannot read the daemon's /metrics"),
            std::string::npos);
}

}  // namespace top_test
}  // namespace icaht::ctl
