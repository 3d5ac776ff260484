#include "metrics/exposition.h"

#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"

namespace icaht::metrics {
namespace exposition_test {

TEST(ExpositionTest, FormatFromAccept) {
  EXPECT_EQ(FormatFor(""), Format::kText);
  EXPECT_EQ(FormatFor("text/plain;version=0.0.4"), Format::kText);
  // What Prometheus sends.
  EXPECT_EQ(FormatFor("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Format::kOpenMetrics);
  EXPECT_EQ(FormatFor("Application/OpenMetrics-Text"), Format::kOpenMetrics);
  EXPECT_EQ(ContentType(Format::kText), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(ExpositionTest, TextFormatCounterGaugeAndEscapes) {
  Exposition out(Format::kText);
  out.Family("icaht_requests_total", Type::kCounter, "Requests\\answered\nby code.");
  out.Sample("icaht_requests_total", {{"service", "a\"b\\c\nd"}, {"code", "200"}}, uint64_t{7});
  out.Family("icaht_active_connections", Type::kGauge, "Open.");
  out.Sample("icaht_active_connections", {{"service", "a"}}, 2.0);
  out.Sample("process_cpu_seconds_total", {}, 0.25);
  EXPECT_EQ(std::move(out).Finish(),
            "# HELP icaht_requests_total Requests\\\\answered\\nby code.\n"
            "# TYPE icaht_requests_total counter\n"
            "icaht_requests_total{service=\"a\\\"b\\\\c\\nd\",code=\"200\"} 7\n"
            "# HELP icaht_active_connections Open.\n"
            "# TYPE icaht_active_connections gauge\n"
            "icaht_active_connections{service=\"a\"} 2\n"
            "process_cpu_seconds_total 0.25\n");
}

TEST(ExpositionTest, ValuesAreTheShortestTextThatReadsBack) {
  const std::pair<double, std::string_view> cases[] = {
      {0.25, "0.25"},
      {0.1 + 0.2, "0.30000000000000004"},  // not "0.3": that would read back as another double
      {12345.678, "12345.678"},
      {0.0005, "0.0005"},   // plain from 1e-4 on
      {1.5e-7, "1.5e-07"},  // below it, an exponent
      {-2.5, "-2.5"},
      {4096.0, "4096"},  // whole: as an integer (up to 9e15)
      {1e20, "1e+20"},   // beyond: an exponent
      {1.0 / 3, "0.3333333333333333"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& [value, text] : cases) {
    Exposition out(Format::kText, 64);
    out.Sample("v", {}, value);
    EXPECT_EQ(std::move(out).Finish(), "v " + std::string(text) + "\n") << value;
  }
}

TEST(ExpositionTest, OpenMetricsCounterFamilyDropsTotalAndEndsWithEof) {
  Exposition out(Format::kOpenMetrics);
  out.Family("icaht_requests_total", Type::kCounter, "Requests.");
  out.Sample("icaht_requests_total", {{"service", "a"}}, uint64_t{1});
  EXPECT_EQ(std::move(out).Finish(),
            "# HELP icaht_requests Requests.\n"
            "# TYPE icaht_requests counter\n"
            "icaht_requests_total{service=\"a\"} 1\n"
            "# EOF\n");
}

Histogram::Snapshot Sample() {
  Histogram h;
  uint8_t trace[16] = {0xab, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  h.Observe(300'000);                              // le 0.0005
  h.Observe(7'000'000, trace, 1'700'000'000'042);  // le 0.01
  h.Observe(20'000'000'000);                       // +Inf only
  Histogram::Snapshot s;
  h.ReadInto(&s);
  return s;
}

TEST(ExpositionTest, TextHistogramIsCumulativeWithoutExemplars) {
  Exposition out(Format::kText);
  out.Histogram("d_seconds", {{"service", "a"}}, Sample());
  std::string text = std::move(out).Finish();
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"0.01\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_sum{service=\"a\"} 20.0073\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_count{service=\"a\"} 3\n"), std::string::npos);
  EXPECT_EQ(text.find('#'), std::string::npos);
}

TEST(ExpositionTest, OpenMetricsHistogramHasCanonicalBoundsAndExemplars) {
  Exposition out(Format::kOpenMetrics);
  out.Histogram("d_seconds", {{"service", "a"}}, Sample());
  std::string text = std::move(out).Finish();
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"1.0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"10.0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{service=\"a\",le=\"0.01\"} 2 # {trace_id=\""
                      "ab000000000000000000000000000001\"} 0.007 1700000000.042\n"),
            std::string::npos)
      << text;
}

}  // namespace exposition_test
}  // namespace icaht::metrics
