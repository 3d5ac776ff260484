#pragma once

// Reads the Prometheus text exposition format 0.0.4, what the daemon's /metrics serves when
// the Accept header does not ask for OpenMetrics: `# HELP` and `# TYPE` lines, and samples
//
//   name{label="value",...} value [timestamp]
//
// with label values escaped as \\ \" \n, values as Prometheus writes them (decimal, +Inf,
// -Inf, NaN) and histograms as name_bucket{le="..."}, name_sum and name_count.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace icaht::ctl {

struct MetricSample {
  std::string name;  // as written: a histogram's samples end in _bucket, _sum or _count
  std::vector<std::pair<std::string, std::string>> labels;  // in page order, unescaped
  double value = 0;

  // The value of label `key`, or nullptr when the sample has none.
  const std::string* Label(std::string_view key) const;
};

enum class MetricType { kUntyped, kCounter, kGauge, kHistogram, kSummary };

struct MetricFamily {
  std::string name;
  MetricType type = MetricType::kUntyped;
  std::string help;  // unescaped
  std::vector<MetricSample> samples;
};

// Parses a whole page into its families, in page order. A sample belongs to the family that
// the `# HELP`/`# TYPE` lines above it opened when its name is the family's (for a histogram
// or summary also the family's plus _bucket, _sum or _count); any other sample opens an
// untyped family of its own name. Other comments and blank lines are skipped.
// InvalidArgument naming the line number for a malformed line, a duplicate label, or a
// family declared twice.
absl::StatusOr<std::vector<MetricFamily>> ParseMetricsText(std::string_view text);

// A sample value (or an `le` label) as the text format writes it: a decimal or exponent
// float, +Inf, -Inf or NaN. nullopt for anything else.
std::optional<double> ParseMetricValue(std::string_view text);

}  // namespace icaht::ctl
