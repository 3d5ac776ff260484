#include "metrics/exposition.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace icaht::metrics {
namespace {

constexpr std::string_view kTotal = "_total";

// Appends the shortest text that reads back as the same double ("0.0005",
// "1", "2.5"): plain decimals where they are short ("10", not "1e+01"), else
// "1.5e-07".
void AppendDouble(std::string& out, double v) {
  if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else if (std::isnan(v)) {
    out.append("NaN");
  } else if (v == std::floor(v) && std::fabs(v) < 9e15) {  // whole: as an integer
    absl::StrAppend(&out, static_cast<int64_t>(v));
  } else {
    bool plain = std::fabs(v) >= 1e-4 && std::fabs(v) < 1e15;
    char buf[64];
    auto [end, ec] = std::to_chars(
        buf, buf + sizeof buf, v, plain ? std::chars_format::fixed : std::chars_format::scientific);
    if (ec == std::errc()) {
      out.append(buf, end);
    } else {
      absl::StrAppend(&out, v);
    }
  }
}

// Whether a label value needs escaping (a plain loop: find_first_of calls
// memchr over the set once per character).
bool NeedsEscape(std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"' || c == '\n') return true;
  }
  return false;
}

}  // namespace

Format FormatFor(std::string_view accept) {
  constexpr std::string_view kOpenMetrics = "application/openmetrics-text";
  auto it =
      std::search(accept.begin(), accept.end(), kOpenMetrics.begin(), kOpenMetrics.end(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it != accept.end() ? Format::kOpenMetrics : Format::kText;
}

std::string_view ContentType(Format format) {
  return format == Format::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

void Exposition::Family(std::string_view name, Type type, std::string_view help) {
  if (format_ == Format::kOpenMetrics && type == Type::kCounter && name.ends_with(kTotal)) {
    name.remove_suffix(kTotal.size());
  }
  std::string_view type_name = type == Type::kCounter ? "counter"
                               : type == Type::kGauge ? "gauge"
                                                      : "histogram";
  out_.append("# HELP ").append(name).push_back(' ');
  for (char c : help) {  // escaped as both formats want: \\ and \n
    if (c == '\\') {
      out_.append("\\\\");
    } else if (c == '\n') {
      out_.append("\\n");
    } else {
      out_.push_back(c);
    }
  }
  out_.append("\n# TYPE ").append(name).push_back(' ');
  out_.append(type_name).push_back('\n');
}

void Exposition::Name(std::string_view name, std::string_view suffix) {
  out_.append(name).append(suffix);
}

void Exposition::Labels(std::initializer_list<Label> labels, const Label* extra) {
  if (labels.size() == 0 && extra == nullptr) return;
  out_.push_back('{');
  bool first = true;
  auto one = [&](const Label& label) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(label.first).append("=\"");
    if (!NeedsEscape(label.second)) {
      out_.append(label.second).push_back('"');
      return;
    }
    for (char c : label.second) {
      if (c == '\\') {
        out_.append("\\\\");
      } else if (c == '"') {
        out_.append("\\\"");
      } else if (c == '\n') {
        out_.append("\\n");
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  };
  for (const Label& label : labels) one(label);
  if (extra != nullptr) one(*extra);
  out_.push_back('}');
}

void Exposition::Value(double value) {
  out_.push_back(' ');
  AppendDouble(out_, value);
}

void Exposition::Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  Name(name, "");
  Labels(labels);
  Value(value);
  out_.push_back('\n');
}

void Exposition::Sample(std::string_view name, std::initializer_list<Label> labels,
                        uint64_t value) {
  Name(name, "");
  Labels(labels);
  absl::StrAppend(&out_, " ", value, "\n");
}

void Exposition::Exemplar(const ExemplarValue& e) {
  if (format_ != Format::kOpenMetrics || !e.present()) return;
  char buf[96];
  snprintf(buf, sizeof buf, " # {trace_id=\"%016" PRIx64 "%016" PRIx64 "\"} ", e.trace_hi,
           e.trace_lo);
  out_.append(buf);
  AppendDouble(out_, static_cast<double>(e.value_ns) * 1e-9);
  snprintf(buf, sizeof buf, " %" PRId64 ".%03" PRId64, e.unix_ms / 1000, e.unix_ms % 1000);
  out_.append(buf);
}

void Exposition::Histogram(std::string_view name, std::initializer_list<Label> labels,
                           const Histogram::Snapshot& h) {
  // The bounds as text, once: "1" in text format, "1.0" (canonical) in OpenMetrics.
  static const std::array<std::array<std::string, Histogram::kBuckets + 1>, 2> kLe = [] {
    std::array<std::array<std::string, Histogram::kBuckets + 1>, 2> le;
    for (size_t i = 0; i < Histogram::kBuckets; ++i) {
      AppendDouble(le[0][i], kLatencyBounds[i]);
      le[1][i] = le[0][i];
      if (le[1][i].find_first_of(".e") == std::string::npos) le[1][i].append(".0");
    }
    le[0][Histogram::kBuckets] = le[1][Histogram::kBuckets] = "+Inf";
    return le;
  }();
  const auto& bounds = kLe[format_ == Format::kOpenMetrics ? 1 : 0];
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= Histogram::kBuckets; ++i) {
    if (i < Histogram::kBuckets) {
      cumulative += h.buckets[i];
    } else {
      // Read apart from the buckets: never below their sum.
      cumulative = std::max(cumulative, h.count);
    }
    Label bound{"le", bounds[i]};
    Name(name, "_bucket");
    Labels(labels, &bound);
    absl::StrAppend(&out_, " ", cumulative);
    Exemplar(h.exemplars[i]);
    out_.push_back('\n');
  }
  Name(name, "_sum");
  Labels(labels);
  Value(static_cast<double>(h.sum_ns) * 1e-9);
  out_.push_back('\n');
  Name(name, "_count");
  Labels(labels);
  absl::StrAppend(&out_, " ", cumulative, "\n");
}

std::string Exposition::Finish() && {
  if (format_ == Format::kOpenMetrics) out_.append("# EOF\n");
  return std::move(out_);
}

}  // namespace icaht::metrics
