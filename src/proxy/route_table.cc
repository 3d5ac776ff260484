#include "proxy/route_table.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_format.h"
#include "core/random.h"
#include "core/status_macros.h"
#include "re2/re2.h"

namespace icaht::proxy {
namespace {

using filters::FieldMatchSpec;
using filters::RouteMatchSpec;

// The registry checks patterns with the same (default) options
// (registry/record_routes.cc), so what it accepts compiles here.
absl::StatusOr<std::unique_ptr<re2::RE2>> Compile(const std::string& pattern,
                                                  std::string_view what) {
  auto re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
  if (!re->ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: invalid regex: %s", what, re->error()));
  }
  return re;
}

absl::StatusOr<RouteTable::FieldMatcher> CompileField(const FieldMatchSpec& spec, bool lower_name) {
  RouteTable::FieldMatcher matcher{spec.name, spec.kind, spec.value, nullptr};
  if (lower_name) {
    for (char& c : matcher.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (spec.kind == FieldMatchSpec::Kind::kRegex) {
    ICAHT_ASSIGN_OR_RETURN(matcher.regex, Compile(spec.value, spec.name));
  }
  return matcher;
}

bool FullMatch(const re2::RE2& re, std::string_view text) {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), re);
}

// `present` and `value` apart rather than a std::optional: passed through the
// stack, the optional's flag written as a byte and read back as a word
// stalled store forwarding (a third of a 10-route Match).
inline bool FieldHolds(const RouteTable::FieldMatcher& matcher, bool present,
                       std::string_view value) {
  switch (matcher.kind) {
    case FieldMatchSpec::Kind::kPresent:
      return present;
    case FieldMatchSpec::Kind::kAbsent:
      return !present;
    case FieldMatchSpec::Kind::kExact:
      return present && value == matcher.value;
    case FieldMatchSpec::Kind::kPrefix:
      return present && value.starts_with(matcher.value);
    case FieldMatchSpec::Kind::kRegex:
      return present && FullMatch(*matcher.regex, value);
  }
  return false;
}

// The raw value of the first parameter `name` in `query` ("a=1&b&c=3").
std::optional<std::string_view> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

RouteTable::RouteTable() = default;
RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

absl::StatusOr<RouteTable> RouteTable::Build(const std::vector<filters::SubsetSpec>& subsets,
                                             const std::vector<filters::RouteSpec>& routes,
                                             std::span<const filters::Labels> upstream_labels) {
  RouteTable table;
  for (const filters::SubsetSpec& subset : subsets) {
    std::vector<int> instances;
    std::vector<bool> excluded(upstream_labels.size(), true);
    for (size_t i = 0; i < upstream_labels.size(); ++i) {
      if (filters::SelectorMatches(subset.labels, upstream_labels[i])) {
        instances.push_back(static_cast<int>(i));
        excluded[i] = false;
      }
    }
    table.subset_names_.push_back(subset.name);
    table.subset_instances_.push_back(std::move(instances));
    table.subset_excluded_.push_back(std::move(excluded));
  }
  for (size_t r = 0; r < routes.size(); ++r) {
    const filters::RouteSpec& spec = routes[r];
    Route route;
    route.index = r;
    route.name = routes[r].name.empty() ? absl::StrFormat("routes[%d]", r) : routes[r].name;
    route.spec = spec;
    std::string what = absl::StrFormat("route %d", r);
    if (spec.match.path_kind == RouteMatchSpec::PathKind::kRegex) {
      ICAHT_ASSIGN_OR_RETURN(route.path_regex, Compile(spec.match.path, what));
    }
    for (const FieldMatchSpec& header : spec.match.headers) {
      ICAHT_ASSIGN_OR_RETURN(FieldMatcher matcher, CompileField(header, /*lower_name=*/true));
      auto& names = table.header_names_;
      auto it = std::find(names.begin(), names.end(), matcher.name);
      matcher.slot = static_cast<int>(it - names.begin());
      if (it == names.end()) names.push_back(matcher.name);
      route.headers.push_back(std::move(matcher));
    }
    for (const FieldMatchSpec& param : spec.match.query) {
      ICAHT_ASSIGN_OR_RETURN(FieldMatcher matcher, CompileField(param, /*lower_name=*/false));
      route.query.push_back(std::move(matcher));
    }
    uint64_t total = 0;
    for (const filters::WeightedSubset& target : spec.to) {
      auto it = std::find(table.subset_names_.begin(), table.subset_names_.end(), target.subset);
      if (it == table.subset_names_.end()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: no subset named '%s'", what, target.subset));
      }
      route.subsets.push_back(static_cast<int>(it - table.subset_names_.begin()));
      total += target.weight;
      route.cumulative_weights.push_back(total);
    }
    if (!spec.to.empty() && total == 0) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: weights sum to 0", what));
    }
    if (spec.to.empty() && !spec.direct_response) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: neither to nor direct_response", what));
    }
    table.routes_.push_back(std::move(route));
  }
  return table;
}

bool RouteTable::Matches(const Route& route, std::string_view method, std::string_view path,
                         std::optional<std::string_view> query, HeaderLookup headers,
                         HeaderCache& cache) const {
  const RouteMatchSpec& match = route.spec.match;
  switch (match.path_kind) {
    case RouteMatchSpec::PathKind::kAny:
      break;
    case RouteMatchSpec::PathKind::kPrefix:
      if (!path.starts_with(match.path)) return false;
      break;
    case RouteMatchSpec::PathKind::kExact:
      if (path != match.path) return false;
      break;
    case RouteMatchSpec::PathKind::kRegex:
      if (!FullMatch(*route.path_regex, path)) return false;
      break;
  }
  if (!match.methods.empty() &&
      std::find(match.methods.begin(), match.methods.end(), method) == match.methods.end()) {
    return false;
  }
  for (const FieldMatcher& header : route.headers) {
    bool present = false;
    std::string_view value;
    if (header.slot < kCachedHeaders) {
      uint64_t bit = uint64_t{1} << header.slot;
      if (!(cache.looked_up & bit)) {
        std::optional<std::string_view> found = headers(header.name);
        cache.looked_up |= bit;
        if (found) {
          cache.present |= bit;
          cache.values[header.slot] = {found->data(), found->size()};
        }
      }
      present = cache.present & bit;
      if (present) value = {cache.values[header.slot].data, cache.values[header.slot].size};
    } else if (std::optional<std::string_view> found = headers(header.name)) {
      present = true;
      value = *found;
    }
    if (!FieldHolds(header, present, value)) return false;
  }
  for (const FieldMatcher& param : route.query) {
    std::optional<std::string_view> found;
    if (query) found = QueryParam(*query, param.name);
    if (!FieldHolds(param, found.has_value(), found.value_or(std::string_view()))) return false;
  }
  return true;
}

const RouteTable::Route* RouteTable::Match(std::string_view method, std::string_view target,
                                           HeaderLookup headers) const {
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::optional<std::string_view> query;
  if (question != std::string_view::npos) query = target.substr(question + 1);
  HeaderCache cache;
  for (const Route& route : routes_) {
    if (Matches(route, method, path, query, headers, cache)) return &route;
  }
  return nullptr;
}

int RouteTable::PickSubset(const Route& route, uint64_t key) const {
  if (route.subsets.empty()) return -1;
  if (route.subsets.size() == 1) return route.subsets[0];
  // Mixed with a constant of its own, so that the side of the split does not
  // correlate with where the same hash lands on a ring_hash or maglev table
  // inside the subset. A point in [0, total) by multiply-shift (no modulo bias
  // worth the name: total <= 16 * 10^6).
  uint64_t total = route.cumulative_weights.back();
  uint64_t mixed = core::Mix64(key ^ 0x5bd1e9955bd1e995ULL);
  auto point = static_cast<uint64_t>((static_cast<unsigned __int128>(mixed) * total) >> 64);
  auto it =
      std::upper_bound(route.cumulative_weights.begin(), route.cumulative_weights.end(), point);
  return route.subsets[it - route.cumulative_weights.begin()];
}

}  // namespace icaht::proxy
