#pragma once
// Writes metric families in Prometheus text format 0.0.4 or OpenMetrics 1.0
// (chosen from the scrape's Accept header). The differences it hides:
// OpenMetrics names a counter family without `_total` (its samples keep it),
// writes `le` values as canonical floats, may carry exemplars on histogram
// buckets, and ends with `# EOF`.
//
//   Exposition out(Format::kText);
//   out.Family("icaht_requests_total", Type::kCounter, "Requests answered.");
//   out.Sample("icaht_requests_total", {{"service", "a"}, {"code", "200"}}, 5);
//   std::string body = std::move(out).Finish();

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/metric.h"

namespace icaht::metrics {

enum class Format : uint8_t { kText, kOpenMetrics };
enum class Type : uint8_t { kCounter, kGauge, kHistogram };

// The format an Accept header asks for (OpenMetrics only when it is named).
Format FormatFor(std::string_view accept);
std::string_view ContentType(Format format);

using Label = std::pair<std::string_view, std::string_view>;

class Exposition {
 public:
  // `reserve`: the expected size of the page (e.g. the last one's), so that
  // a page of megabytes is not regrown and copied on the way.
  explicit Exposition(Format format, size_t reserve = 0) : format_(format) {
    out_.reserve(reserve);
  }

  // `name` as in text format (counters end in `_total`).
  void Family(std::string_view name, Type type, std::string_view help);
  // One sample of the current family: `name` is the family's (or a counter's
  // `_total` name); values are written as integers when they are whole.
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  // A family of one unlabelled sample.
  template <typename V>
  void Single(std::string_view name, Type type, std::string_view help, V value) {
    Family(name, type, help);
    Sample(name, {}, value);
  }
  // A whole histogram of durations (buckets, sum in seconds, count), with
  // `labels` on each line and, in OpenMetrics, the buckets' exemplars.
  void Histogram(std::string_view name, std::initializer_list<Label> labels,
                 const Histogram::Snapshot& h);

  Format format() const { return format_; }
  std::string Finish() &&;

 private:
  void Name(std::string_view name, std::string_view suffix);
  void Labels(std::initializer_list<Label> labels, const Label* extra = nullptr);
  void Value(double value);
  void Exemplar(const ExemplarValue& e);

  Format format_;
  std::string out_;
};

}  // namespace icaht::metrics
