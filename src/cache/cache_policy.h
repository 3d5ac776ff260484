#pragma once
// RFC 9111 as a shared cache sees it (issue 16), pure: header values and
// times in, decisions out. The cache filter (to come) stores and serves; this
// says what may be stored, for how long it is fresh, how old a stored answer
// is, and whether a request may take it.
//
// Times are whole seconds since the Unix epoch (HTTP dates have no finer
// resolution); durations are seconds.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace icaht::cache {

// RFC 9111 section 1.2.2: a delta-seconds too large to represent is this.
inline constexpr int64_t kMaxDelta = 2147483648;

// The directives of one message's Cache-Control field lines (all of them,
// joined). Names are case-insensitive; unknown directives are ignored. A
// directive whose argument is missing or not delta-seconds where one is
// required is `invalid` (RFC 9111 section 4.2.1: such a response is treated
// as stale), and its value is unset.
struct CacheControl {
  std::optional<int64_t> max_age;
  std::optional<int64_t> s_maxage;
  std::optional<int64_t> min_fresh;
  bool max_stale = false;                  // present: any staleness, unless...
  std::optional<int64_t> max_stale_value;  // ...bounded by this
  std::optional<int64_t> stale_while_revalidate;
  std::optional<int64_t> stale_if_error;
  bool no_store = false;
  bool no_cache = false;  // with or without field names: revalidate before use
  bool private_ = false;  // with or without field names: never in a shared cache
  bool public_ = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool only_if_cached = false;
  bool no_transform = false;
  bool immutable = false;
  bool invalid = false;  // a malformed or conflicting freshness directive
};

// Parses Cache-Control field values (one per field line). When a directive
// repeats with different values, the first is kept and `invalid` is set for
// the freshness ones (max-age, s-maxage).
CacheControl ParseCacheControl(const std::vector<std::string_view>& values);

// An HTTP-date (RFC 9110 section 5.6.7: IMF-fixdate, and the obsolete RFC 850
// and asctime forms a recipient must accept), or nullopt.
std::optional<int64_t> ParseHttpDate(std::string_view text);

// What the cache knows of a response, for the decisions below.
struct ResponseFacts {
  int status = 0;
  CacheControl cc;
  std::optional<int64_t> date;           // Date
  std::optional<int64_t> expires;        // Expires (nullopt when absent)
  bool expires_invalid = false;          // present but not a date: already expired
  std::optional<int64_t> last_modified;  // Last-Modified
  int64_t age = 0;                       // Age (0 when absent or invalid)
  bool vary_star = false;                // Vary: *
};

// Statuses a cache may store without explicit freshness (heuristically
// cacheable, RFC 9110 section 15.1).
bool HeuristicallyCacheable(int status);

struct Heuristic {
  bool enabled = true;
  uint32_t percent = 10;  // of the time since Last-Modified (RFC 9111 section 4.2.2)
  int64_t max_s = 86400;  // cap on a heuristic lifetime
};

// Whether a shared cache may store the response to a GET (RFC 9111
// section 3, 3.5): no no-store or private, Authorization only with public,
// s-maxage or must-revalidate; explicit freshness or a heuristically
// cacheable status (with a validator or heuristics on); never Vary: *.
bool Storable(const ResponseFacts& response, bool request_has_authorization,
              const CacheControl& request_cc, const Heuristic& heuristic);

// The freshness lifetime (RFC 9111 section 4.2.1): s-maxage, max-age,
// Expires - Date, else the heuristic (0 without one). `response_time` stands
// in for a missing Date.
int64_t FreshnessLifetime(const ResponseFacts& response, int64_t response_time,
                          const Heuristic& heuristic);

// The response's current age (RFC 9111 section 4.2.3), from when it was
// requested and received.
int64_t CurrentAge(const ResponseFacts& response, int64_t request_time, int64_t response_time,
                   int64_t now);

// What a request may get from a stored response.
enum class Use : uint8_t {
  kFresh,                 // serve it
  kStaleWhileRevalidate,  // serve it, and revalidate in the background
  kRevalidate,            // ask the origin (conditionally) first
};

// RFC 9111 sections 4.2, 4.2.4, 5.2.1 and RFC 5861: the request's max-age,
// min-fresh, max-stale and no-cache against the stored response's lifetime,
// age, no-cache, must-revalidate/proxy-revalidate/s-maxage (no stale use)
// and stale-while-revalidate.
Use Decide(const CacheControl& request_cc, const ResponseFacts& response, int64_t lifetime,
           int64_t age);

// Whether a stored response may answer after the origin failed (5xx, no
// answer): its stale-if-error window (or the request's) still holds and
// nothing forbids stale use.
bool UsableOnError(const CacheControl& request_cc, const ResponseFacts& response, int64_t lifetime,
                   int64_t age);

}  // namespace icaht::cache
