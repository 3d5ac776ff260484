#include "metrics_text.h"

#include <cmath>

#include "gtest/gtest.h"
#include "metrics/exposition.h"

namespace icaht::ctl {
namespace metrics_text_test {

using Labels = std::vector<std::pair<std::string, std::string>>;

absl::StatusOr<std::vector<MetricFamily>> Parse(std::string_view text) {
  return ParseMetricsText(text);
}

// A page as the daemon writes it (metrics::Exposition, text format 0.0.4) reads back as what
// was written: families, types, help and label values unescaped, histogram lines.
TEST(MetricsTextTest, ReadsWhatTheDaemonWrites) {
  metrics::Exposition out(metrics::Format::kText);
  out.Family("icaht_requests_total", metrics::Type::kCounter, "Requests\\answered\nby code.");
  out.Sample("icaht_requests_total", {{"service", "a\"b\\c\nd"}, {"code", "200"}}, uint64_t{7});
  out.Sample("icaht_requests_total", {{"service", "x"}, {"code", "502"}}, uint64_t{2});
  out.Family("icaht_request_duration_seconds", metrics::Type::kHistogram, "Durations.");
  metrics::Histogram h;
  h.Observe(300'000);         // 0.3 ms: le 0.0005
  h.Observe(7'000'000);       // 7 ms: le 0.01
  h.Observe(20'000'000'000);  // 20 s: +Inf only
  metrics::Histogram::Snapshot snapshot;
  h.ReadInto(&snapshot);
  out.Histogram("icaht_request_duration_seconds", {{"service", "x"}}, snapshot);
  out.Family("icaht_active_connections", metrics::Type::kGauge, "Open.");
  out.Sample("icaht_active_connections", {{"service", "x"}}, 2.5);
  out.Sample("process_cpu_seconds_total", {}, 0.25);  // no family lines: untyped

  absl::StatusOr<std::vector<MetricFamily>> page = Parse(std::move(out).Finish());
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 4u);

  const MetricFamily& requests = (*page)[0];
  EXPECT_EQ(requests.name, "icaht_requests_total");
  EXPECT_EQ(requests.type, MetricType::kCounter);
  EXPECT_EQ(requests.help, "Requests\\answered\nby code.");
  ASSERT_EQ(requests.samples.size(), 2u);
  EXPECT_EQ(requests.samples[0].labels, (Labels{{"service", "a\"b\\c\nd"}, {"code", "200"}}));
  EXPECT_EQ(requests.samples[0].value, 7);
  EXPECT_EQ(*requests.samples[1].Label("code"), "502");
  EXPECT_EQ(requests.samples[1].Label("le"), nullptr);

  const MetricFamily& duration = (*page)[1];
  EXPECT_EQ(duration.type, MetricType::kHistogram);
  // 14 buckets and +Inf, then _sum and _count.
  ASSERT_EQ(duration.samples.size(), 17u);
  EXPECT_EQ(duration.samples[0].name, "icaht_request_duration_seconds_bucket");
  EXPECT_EQ(duration.samples[0].labels, (Labels{{"service", "x"}, {"le", "0.0005"}}));
  EXPECT_EQ(duration.samples[0].value, 1);
  EXPECT_EQ(*duration.samples[4].Label("le"), "0.01");
  EXPECT_EQ(duration.samples[4].value, 2);
  EXPECT_EQ(*duration.samples[14].Label("le"), "+Inf");
  EXPECT_EQ(duration.samples[14].value, 3);
  EXPECT_EQ(duration.samples[15].name, "icaht_request_duration_seconds_sum");
  EXPECT_NEAR(duration.samples[15].value, 20.0073, 1e-9);
  EXPECT_EQ(duration.samples[16].name, "icaht_request_duration_seconds_count");
  EXPECT_EQ(duration.samples[16].value, 3);

  EXPECT_EQ((*page)[2].type, MetricType::kGauge);
  EXPECT_EQ((*page)[2].samples[0].value, 2.5);
  EXPECT_EQ((*page)[3].name, "process_cpu_seconds_total");
  EXPECT_EQ((*page)[3].type, MetricType::kUntyped);
  EXPECT_EQ((*page)[3].samples[0].value, 0.25);
}

TEST(MetricsTextTest, LabelSyntaxTimestampsAndBlanks) {
  absl::StatusOr<std::vector<MetricFamily>> page = Parse(
      "# a plain comment\r\n"
      "\n"
      "#  TYPE  m  gauge  \r\n"
      "m { a = \"1\" , b=\"\\\\n\",} \t-2.5e-3 1700000000000\r\n"
      "m{} 4\n"
      "m 5 -17");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 1u);
  const MetricFamily& m = (*page)[0];
  EXPECT_EQ(m.type, MetricType::kGauge);
  ASSERT_EQ(m.samples.size(), 3u);
  EXPECT_EQ(m.samples[0].labels, (Labels{{"a", "1"}, {"b", "\\n"}}));
  EXPECT_DOUBLE_EQ(m.samples[0].value, -0.0025);
  EXPECT_TRUE(m.samples[1].labels.empty());
  EXPECT_EQ(m.samples[2].value, 5);
}

TEST(MetricsTextTest, SpecialValues) {
  EXPECT_EQ(ParseMetricValue("+Inf"), INFINITY);
  EXPECT_EQ(ParseMetricValue("-Inf"), -INFINITY);
  EXPECT_TRUE(std::isnan(*ParseMetricValue("NaN")));
  EXPECT_EQ(ParseMetricValue("+3"), 3);
  EXPECT_EQ(ParseMetricValue(".5"), 0.5);
  EXPECT_EQ(ParseMetricValue("1e3"), 1000);
  for (std::string_view bad : {"", "inf", "-inf", "nan", "1x", "+", "-", "0x10", " 1"}) {
    EXPECT_FALSE(ParseMetricValue(bad).has_value()) << bad;
  }
}

TEST(MetricsTextTest, FamiliesGroupTheirSamples) {
  absl::StatusOr<std::vector<MetricFamily>> page = Parse(
      "# HELP s A summary.\n"
      "# TYPE s summary\n"
      "s{quantile=\"0.5\"} 1\n"
      "s_sum 3\n"
      "s_count 2\n"
      "# TYPE c counter\n"
      "c_total 1\n"  // not c: a family of its own
      "u 1\n"
      "u 2\n");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ((*page)[0].name, "s");
  EXPECT_EQ((*page)[0].help, "A summary.");
  EXPECT_EQ((*page)[0].samples.size(), 3u);
  EXPECT_EQ((*page)[1].name, "c");
  EXPECT_TRUE((*page)[1].samples.empty());
  EXPECT_EQ((*page)[2].name, "c_total");
  EXPECT_EQ((*page)[2].type, MetricType::kUntyped);
  EXPECT_EQ((*page)[3].name, "u");
  EXPECT_EQ((*page)[3].samples.size(), 2u);
}

TEST(MetricsTextTest, MalformedLinesAreRefusedByLineNumber) {
  struct Case {
    std::string_view text;
    std::string_view message;
  };
  const Case cases[] = {
      {"ok 1\nm{a=\"1\" 2\n", "line 2: expected ',' or '}'"},
      {"m{a=1} 2", "line 1: label a: value not quoted"},
      {"m{a=\"\\t\"} 1", "line 1: label a: bad escape"},
      {"m{a=\"open} 1", "line 1: label a: bad escape or no closing quote"},
      {"m{a=\"1\",a=\"2\"} 1", "line 1: label a given twice"},
      {"m{=\"1\"} 1", "line 1: expected a label name"},
      {"m{a:b=\"1\"} 1", "line 1: expected '=' after a"},
      {"m 1 junk", "line 1: junk after the sample value"},
      {"m 1 2 3", "line 1: junk after the sample value"},
      {"m", "line 1: bad sample value ''"},
      {"m one", "line 1: bad sample value 'one'"},
      {"1m 2", "line 1: expected a metric name"},
      {"# TYPE m bogus", "line 1: unknown metric type 'bogus'"},
      {"# TYPE", "line 1: # TYPE without a name"},
      {"# HELP m-x y", "line 1: bad metric name in # HELP"},
      {"a 1\nb 1\na 2", "line 3: metric a appears in two groups"},
      {"a 1\n# TYPE a counter", "line 2: # TYPE a after its samples"},
      {"# TYPE h histogram\nh 1", "line 2: metric h appears in two groups"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<MetricFamily>> page = Parse(c.text);
    ASSERT_FALSE(page.ok()) << c.text;
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(page.status().message());
    EXPECT_TRUE(message.starts_with(c.message)) << c.text << " -> " << page.status().message();
  }
}

TEST(MetricsTextTest, EmptyPage) {
  absl::StatusOr<std::vector<MetricFamily>> page = Parse("");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->empty());
}

}  // namespace metrics_text_test
}  // namespace icaht::ctl
