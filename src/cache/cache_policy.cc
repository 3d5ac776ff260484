#include "cache/cache_policy.h"

#include <algorithm>
#include <array>
#include <ctime>

#include "http/field_syntax.h"
#include "http/message.h"

namespace icaht::cache {
namespace {

using http::EqualsIgnoreCase;
using http::TrimOws;

// delta-seconds = 1*DIGIT; too large is kMaxDelta.
std::optional<int64_t> DeltaSeconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return std::nullopt;
  int64_t out = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    out = std::min(out * 10 + (c - '0'), kMaxDelta);
  }
  return out;
}

// Splits on commas outside quoted strings.
template <typename Fn>
void ForEachDirective(std::string_view value, Fn fn) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size()) {
      char c = value[i];
      if (quoted && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c != ',' || quoted) continue;
    }
    std::string_view item = TrimOws(value.substr(start, i - start));
    start = i + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view name = TrimOws(item.substr(0, eq));
    std::optional<std::string_view> arg;
    if (eq != std::string_view::npos) arg = TrimOws(item.substr(eq + 1));
    fn(name, arg);
  }
}

// A directive that needs delta-seconds: set once; a bad or conflicting value
// is `invalid` when it bears on freshness.
void SetDelta(std::optional<int64_t>& field, std::optional<std::string_view> arg, bool freshness,
              bool* invalid) {
  std::optional<int64_t> v = arg ? DeltaSeconds(*arg) : std::nullopt;
  if (!v) {
    if (freshness) *invalid = true;
    return;
  }
  if (field.has_value()) {
    if (*field != *v && freshness) *invalid = true;
    return;
  }
  field = v;
}

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};

int Month(std::string_view m) {
  if (m.size() != 3) return -1;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (EqualsIgnoreCase(m, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return -1;
}

bool Digits(std::string_view s, size_t n, int* out) {
  if (s.size() != n) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// "08:49:37"
bool Clock(std::string_view s, int* h, int* m, int* sec) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && Digits(s.substr(0, 2), 2, h) &&
         Digits(s.substr(3, 2), 2, m) && Digits(s.substr(6, 2), 2, sec) && *h < 24 && *m < 60 &&
         *sec < 61;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::optional<int64_t> Assemble(int year, int month, int day, int h, int m, int s) {
  if (month < 1 || day < 1 || day > 31 || year < 1900) return std::nullopt;
  return DaysFromCivil(year, month, day) * 86400 + h * 3600 + m * 60 + s;
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace

CacheControl ParseCacheControl(const std::vector<std::string_view>& values) {
  CacheControl cc;
  for (std::string_view value : values) {
    ForEachDirective(value, [&cc](std::string_view name, std::optional<std::string_view> arg) {
      if (EqualsIgnoreCase(name, "max-age")) {
        SetDelta(cc.max_age, arg, true, &cc.invalid);
      } else if (EqualsIgnoreCase(name, "s-maxage")) {
        SetDelta(cc.s_maxage, arg, true, &cc.invalid);
      } else if (EqualsIgnoreCase(name, "min-fresh")) {
        SetDelta(cc.min_fresh, arg, false, &cc.invalid);
      } else if (EqualsIgnoreCase(name, "max-stale")) {
        cc.max_stale = true;
        if (arg) SetDelta(cc.max_stale_value, arg, false, &cc.invalid);
      } else if (EqualsIgnoreCase(name, "stale-while-revalidate")) {
        SetDelta(cc.stale_while_revalidate, arg, false, &cc.invalid);
      } else if (EqualsIgnoreCase(name, "stale-if-error")) {
        SetDelta(cc.stale_if_error, arg, false, &cc.invalid);
      } else if (EqualsIgnoreCase(name, "no-store")) {
        cc.no_store = true;
      } else if (EqualsIgnoreCase(name, "no-cache")) {
        cc.no_cache = true;
      } else if (EqualsIgnoreCase(name, "private")) {
        cc.private_ = true;
      } else if (EqualsIgnoreCase(name, "public")) {
        cc.public_ = true;
      } else if (EqualsIgnoreCase(name, "must-revalidate")) {
        cc.must_revalidate = true;
      } else if (EqualsIgnoreCase(name, "proxy-revalidate")) {
        cc.proxy_revalidate = true;
      } else if (EqualsIgnoreCase(name, "only-if-cached")) {
        cc.only_if_cached = true;
      } else if (EqualsIgnoreCase(name, "no-transform")) {
        cc.no_transform = true;
      } else if (EqualsIgnoreCase(name, "immutable")) {
        cc.immutable = true;
      }
    });
  }
  return cc;
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  std::vector<std::string_view> w = Words(TrimOws(text));
  int day = 0, year = 0, h = 0, m = 0, s = 0;
  if (w.size() == 6 && w[0].size() == 4 && w[0][3] == ',' && EqualsIgnoreCase(w[5], "gmt")) {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (!Digits(w[1], 2, &day) || !Digits(w[3], 4, &year) || !Clock(w[4], &h, &m, &s)) {
      return std::nullopt;
    }
    return Assemble(year, Month(w[2]), day, h, m, s);
  }
  if (w.size() == 4 && w[0].size() > 4 && w[0].back() == ',' && EqualsIgnoreCase(w[3], "gmt")) {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    std::string_view d = w[1];
    if (d.size() != 9 || d[2] != '-' || d[6] != '-' || !Digits(d.substr(0, 2), 2, &day) ||
        !Digits(d.substr(7, 2), 2, &year) || !Clock(w[2], &h, &m, &s)) {
      return std::nullopt;
    }
    // A two-digit year more than 50 years ahead is in the past (RFC 9110 section 5.6.7).
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    const int this_year = utc.tm_year + 1900;
    year += (this_year / 100) * 100;
    if (year > this_year + 50) year -= 100;
    return Assemble(year, Month(d.substr(3, 3)), day, h, m, s);
  }
  if (w.size() == 5 && w[0].size() == 3) {
    // asctime: Sun Nov  6 08:49:37 1994
    if ((!Digits(w[2], 1, &day) && !Digits(w[2], 2, &day)) || !Clock(w[3], &h, &m, &s) ||
        !Digits(w[4], 4, &year)) {
      return std::nullopt;
    }
    return Assemble(year, Month(w[1]), day, h, m, s);
  }
  return std::nullopt;
}

bool HeuristicallyCacheable(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

bool Storable(const ResponseFacts& r, bool request_has_authorization,
              const CacheControl& request_cc, const Heuristic& heuristic) {
  if (request_cc.no_store || r.cc.no_store || r.cc.private_ || r.vary_star) return false;
  if (r.status < 200 || r.status == 206 || r.status == 304) return false;  // no partial storage
  if (request_has_authorization && !r.cc.public_ && !r.cc.s_maxage && !r.cc.must_revalidate) {
    return false;
  }
  const bool explicit_freshness =
      r.cc.max_age || r.cc.s_maxage || r.expires || r.expires_invalid || r.cc.public_;
  if (explicit_freshness) return true;
  // Heuristic freshness needs a status that allows it; a no-cache response is
  // stored only to be revalidated, which needs a validator to be worth it.
  // Heuristic freshness is a share of the time since Last-Modified: without
  // one there is nothing to compute it from (RFC 9111 section 4.2.2).
  return HeuristicallyCacheable(r.status) &&
         ((heuristic.enabled && r.last_modified.has_value()) || r.cc.no_cache);
}

int64_t FreshnessLifetime(const ResponseFacts& r, int64_t response_time,
                          const Heuristic& heuristic) {
  if (r.cc.invalid || r.expires_invalid) return 0;
  if (r.cc.s_maxage) return *r.cc.s_maxage;
  if (r.cc.max_age) return *r.cc.max_age;
  const int64_t date = r.date.value_or(response_time);
  if (r.expires) return std::max<int64_t>(0, *r.expires - date);
  if (heuristic.enabled && HeuristicallyCacheable(r.status) && r.last_modified &&
      *r.last_modified < date) {
    return std::min<int64_t>((date - *r.last_modified) * heuristic.percent / 100, heuristic.max_s);
  }
  return 0;
}

int64_t CurrentAge(const ResponseFacts& r, int64_t request_time, int64_t response_time,
                   int64_t now) {
  const int64_t apparent_age = std::max<int64_t>(0, response_time - r.date.value_or(response_time));
  const int64_t response_delay = std::max<int64_t>(0, response_time - request_time);
  const int64_t corrected_age_value = r.age + response_delay;
  const int64_t corrected_initial_age = std::max(apparent_age, corrected_age_value);
  const int64_t resident_time = std::max<int64_t>(0, now - response_time);
  return corrected_initial_age + resident_time;
}

namespace {
// Stale use is forbidden by the stored response (RFC 9111 sections 5.2.2.2,
// 5.2.2.8, 5.2.2.10: s-maxage implies proxy-revalidate).
bool NoStaleUse(const ResponseFacts& r) {
  return r.cc.must_revalidate || r.cc.proxy_revalidate || r.cc.s_maxage.has_value() ||
         r.cc.no_cache;
}
}  // namespace

Use Decide(const CacheControl& q, const ResponseFacts& r, int64_t lifetime, int64_t age) {
  if (q.no_cache || r.cc.no_cache) return Use::kRevalidate;
  if (q.max_age && age > *q.max_age) return Use::kRevalidate;
  const int64_t fresh_left = lifetime - age;
  if (fresh_left > q.min_fresh.value_or(0)) return Use::kFresh;
  if (NoStaleUse(r)) return Use::kRevalidate;
  const int64_t staleness = age - lifetime;  // >= 0 here unless min-fresh asked for more
  if (q.max_stale && !q.min_fresh && staleness <= q.max_stale_value.value_or(kMaxDelta)) {
    return Use::kFresh;  // the client accepts this much staleness
  }
  if (r.cc.stale_while_revalidate && staleness <= *r.cc.stale_while_revalidate && !q.min_fresh &&
      !q.max_age) {
    return Use::kStaleWhileRevalidate;
  }
  return Use::kRevalidate;
}

bool UsableOnError(const CacheControl& q, const ResponseFacts& r, int64_t lifetime, int64_t age) {
  if (NoStaleUse(r) || q.no_cache) return false;
  const int64_t staleness = std::max<int64_t>(0, age - lifetime);
  std::optional<int64_t> window = q.stale_if_error ? q.stale_if_error : r.cc.stale_if_error;
  return window.has_value() && staleness <= *window;
}

}  // namespace icaht::cache
