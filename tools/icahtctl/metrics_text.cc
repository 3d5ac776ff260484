#include "metrics_text.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "text.h"

namespace icaht::ctl {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// A cursor over one line.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : rest_(line) {}

  bool AtEnd() const { return rest_.empty(); }
  char Peek() const { return rest_.empty() ? '\0' : rest_.front(); }
  bool Consume(char c) {
    if (Peek() != c) return false;
    rest_.remove_prefix(1);
    return true;
  }
  void SkipBlanks() {
    while (Peek() == ' ' || Peek() == '\t') rest_.remove_prefix(1);
  }
  // A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with `label`, a label name (no ':').
  std::string_view Name(bool label) {
    size_t n = 0;
    auto ok = [label](char c, bool first) {
      if (label && c == ':') return false;
      return first ? IsNameStart(c) : IsNameChar(c);
    };
    while (n < rest_.size() && ok(rest_[n], n == 0)) ++n;
    std::string_view name = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return name;
  }
  // The next run of non-blank characters.
  std::string_view Token() {
    size_t n = 0;
    while (n < rest_.size() && rest_[n] != ' ' && rest_[n] != '\t') ++n;
    std::string_view token = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return token;
  }
  std::string_view Rest() const { return rest_; }
  // A quoted label value after its opening quote, unescaped; nullopt when unterminated or
  // with an escape other than \\ \" \n.
  std::optional<std::string> QuotedRest() {
    std::string out;
    while (!rest_.empty()) {
      char c = rest_.front();
      rest_.remove_prefix(1);
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (rest_.empty()) return std::nullopt;
      char e = rest_.front();
      rest_.remove_prefix(1);
      if (e == 'n') {
        out.push_back('\n');
      } else if (e == '\\' || e == '"') {
        out.push_back(e);
      } else {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

 private:
  std::string_view rest_;
};

// A HELP text: \\ and \n are escapes, any other backslash is itself.
std::string UnescapeHelp(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
      out.push_back(s[++i] == 'n' ? '\n' : '\\');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<MetricType> ParseType(std::string_view s) {
  if (s == "counter") return MetricType::kCounter;
  if (s == "gauge") return MetricType::kGauge;
  if (s == "histogram") return MetricType::kHistogram;
  if (s == "summary") return MetricType::kSummary;
  if (s == "untyped") return MetricType::kUntyped;
  return std::nullopt;
}

// Whether a sample named `sample` is part of `family`.
bool BelongsTo(const MetricFamily& family, std::string_view sample) {
  if (sample == family.name) return family.type != MetricType::kHistogram;
  if (family.type != MetricType::kHistogram && family.type != MetricType::kSummary) return false;
  if (!sample.starts_with(family.name)) return false;
  std::string_view suffix = sample.substr(family.name.size());
  return suffix == "_sum" || suffix == "_count" ||
         (suffix == "_bucket" && family.type == MetricType::kHistogram);
}

class PageParser {
 public:
  absl::StatusOr<std::vector<MetricFamily>> Parse(std::string_view text) {
    size_t number = 0;
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      ++number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      absl::Status status = ParseLine(line);
      if (!status.ok()) {
        return absl::InvalidArgumentError(Cat("line ", number, ": ", status.message()));
      }
    }
    return std::move(families_);
  }

 private:
  absl::Status ParseLine(std::string_view line) {
    LineReader in(line);
    in.SkipBlanks();
    if (in.AtEnd()) return absl::OkStatus();
    if (in.Consume('#')) return ParseComment(in);
    return ParseSample(in);
  }

  absl::Status ParseComment(LineReader& in) {
    in.SkipBlanks();
    std::string_view keyword = in.Token();
    if (keyword != "HELP" && keyword != "TYPE") return absl::OkStatus();  // a plain comment
    in.SkipBlanks();
    std::string_view name = in.Name(false);
    if (name.empty()) return absl::InvalidArgumentError(Cat("# ", keyword, " without a name"));
    if (!in.AtEnd() && in.Peek() != ' ' && in.Peek() != '\t') {
      return absl::InvalidArgumentError(Cat("bad metric name in # ", keyword));
    }
    if (families_.empty() || families_.back().name != name) {
      if (absl::Status s = Open(name); !s.ok()) return s;
    }
    MetricFamily& family = families_.back();
    if (!family.samples.empty()) {
      return absl::InvalidArgumentError(Cat("# ", keyword, " ", name, " after its samples"));
    }
    in.SkipBlanks();
    if (keyword == "HELP") {
      family.help = UnescapeHelp(in.Rest());
      return absl::OkStatus();
    }
    std::string_view type_name = StripTrailingSpace(in.Rest());
    std::optional<MetricType> type = ParseType(type_name);
    if (!type) return absl::InvalidArgumentError(Cat("unknown metric type '", type_name, "'"));
    family.type = *type;
    return absl::OkStatus();
  }

  // Starts family `name`. A family's lines are one group: a name met again after another
  // family is refused.
  absl::Status Open(std::string_view name) {
    if (!opened_.emplace(name).second) {
      return absl::InvalidArgumentError(Cat("metric ", name, " appears in two groups"));
    }
    families_.push_back(MetricFamily{.name = std::string(name)});
    return absl::OkStatus();
  }

  absl::Status ParseSample(LineReader& in) {
    MetricSample sample;
    sample.name = in.Name(false);
    if (sample.name.empty()) return absl::InvalidArgumentError("expected a metric name");
    in.SkipBlanks();
    if (in.Consume('{')) {
      if (absl::Status s = ParseLabels(in, &sample); !s.ok()) return s;
      in.SkipBlanks();
    }
    std::string_view value_text = in.Token();
    std::optional<double> value = ParseMetricValue(value_text);
    if (!value) return absl::InvalidArgumentError(Cat("bad sample value '", value_text, "'"));
    sample.value = *value;
    in.SkipBlanks();
    if (!in.AtEnd()) {
      std::string_view timestamp = in.Token();
      if (timestamp.starts_with('-')) timestamp.remove_prefix(1);
      uint64_t ms = 0;
      in.SkipBlanks();
      if (!ParseUnsigned(timestamp, &ms) || !in.AtEnd()) {
        return absl::InvalidArgumentError("junk after the sample value");
      }
    }
    if (families_.empty() || !BelongsTo(families_.back(), sample.name)) {
      if (absl::Status s = Open(sample.name); !s.ok()) return s;
    }
    families_.back().samples.push_back(std::move(sample));
    return absl::OkStatus();
  }

  absl::Status ParseLabels(LineReader& in, MetricSample* sample) {
    for (;;) {
      in.SkipBlanks();
      if (in.Consume('}')) return absl::OkStatus();
      std::string_view name = in.Name(true);
      if (name.empty()) return absl::InvalidArgumentError("expected a label name");
      in.SkipBlanks();
      if (!in.Consume('=')) return absl::InvalidArgumentError(Cat("expected '=' after ", name));
      in.SkipBlanks();
      if (!in.Consume('"')) {
        return absl::InvalidArgumentError(Cat("label ", name, ": value not quoted"));
      }
      std::optional<std::string> value = in.QuotedRest();
      if (!value) {
        return absl::InvalidArgumentError(Cat("label ", name, ": bad escape or no closing quote"));
      }
      if (sample->Label(name) != nullptr) {
        return absl::InvalidArgumentError(Cat("label ", name, " given twice"));
      }
      sample->labels.emplace_back(std::string(name), *std::move(value));
      in.SkipBlanks();
      if (in.Consume('}')) return absl::OkStatus();
      if (!in.Consume(',')) return absl::InvalidArgumentError("expected ',' or '}' in labels");
    }
  }

  std::vector<MetricFamily> families_;
  std::set<std::string, std::less<>> opened_;
};

}  // namespace

const std::string* MetricSample::Label(std::string_view key) const {
  for (const auto& [name, value] : labels) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::optional<double> ParseMetricValue(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s.starts_with('+')) s.remove_prefix(1);
  // Digits or a point first: from_chars would also take "inf" and "nan" in any case.
  size_t first = s.starts_with('-') ? 1 : 0;
  if (s.size() <= first || !(s[first] == '.' || (s[first] >= '0' && s[first] <= '9'))) {
    return std::nullopt;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

absl::StatusOr<std::vector<MetricFamily>> ParseMetricsText(std::string_view text) {
  return PageParser().Parse(text);
}

}  // namespace icaht::ctl
