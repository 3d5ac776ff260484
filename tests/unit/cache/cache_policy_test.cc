// RFC 9111's rules for a shared cache (cache/cache_policy.h), with the RFC's
// own examples where it gives them.

#include "cache/cache_policy.h"

#include "gtest/gtest.h"

namespace icaht::cache {
namespace cache_policy_test {

CacheControl Cc(std::vector<std::string_view> values) { return ParseCacheControl(values); }

// 1994-11-06T08:49:37Z, RFC 9110's example date.
constexpr int64_t kNov6 = 784111777;

TEST(CacheControlTest, DirectivesAcrossLinesCaseAndQuotes) {
  CacheControl cc = Cc({"Max-Age=60, PUBLIC", "s-maxage=\"120\", no-cache=\"Set-Cookie, X\""});
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 120);
  EXPECT_TRUE(cc.public_);
  EXPECT_TRUE(cc.no_cache);  // field names: the whole response is revalidated
  EXPECT_FALSE(cc.invalid);

  cc = Cc({"private, no-store, must-revalidate, proxy-revalidate, only-if-cached, immutable"});
  EXPECT_TRUE(cc.private_ && cc.no_store && cc.must_revalidate && cc.proxy_revalidate &&
              cc.only_if_cached && cc.immutable);

  cc = Cc({"max-stale, min-fresh=5, stale-while-revalidate=30, stale-if-error=600, x-ext=1"});
  EXPECT_TRUE(cc.max_stale);
  EXPECT_FALSE(cc.max_stale_value.has_value());
  EXPECT_EQ(cc.min_fresh, 5);
  EXPECT_EQ(cc.stale_while_revalidate, 30);
  EXPECT_EQ(cc.stale_if_error, 600);
  EXPECT_EQ(Cc({"max-stale=100"}).max_stale_value, 100);
}

TEST(CacheControlTest, InvalidFreshnessMakesItStale) {
  EXPECT_TRUE(Cc({"max-age=abc"}).invalid);
  EXPECT_TRUE(Cc({"max-age"}).invalid);
  EXPECT_TRUE(Cc({"max-age=-1"}).invalid);
  EXPECT_TRUE(Cc({"max-age=10", "max-age=20"}).invalid);  // conflicting
  EXPECT_FALSE(Cc({"max-age=10, max-age=10"}).invalid);   // a repeat that agrees
  EXPECT_EQ(Cc({"max-age=99999999999999999999"}).max_age, kMaxDelta);
  // A comma inside a quoted argument does not split.
  CacheControl cc = Cc({R"(no-cache="a,b", max-age=5)"});
  EXPECT_TRUE(cc.no_cache);
  EXPECT_EQ(cc.max_age, 5);
}

TEST(HttpDateTest, TheThreeFormats) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kNov6);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kNov6);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), kNov6);
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(ParseHttpDate("Tue, 29 Feb 2028 12:00:00 GMT"), 1835438400);
  for (const char* bad :
       {"", "0", "-1", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "yesterday"}) {
    EXPECT_EQ(ParseHttpDate(bad), std::nullopt) << bad;
  }
}

TEST(StorableTest, SharedCacheRules) {
  const Heuristic on{};
  const CacheControl none;
  ResponseFacts r{.status = 200, .cc = Cc({"max-age=60"})};
  EXPECT_TRUE(Storable(r, false, none, on));
  EXPECT_FALSE(Storable(r, false, Cc({"no-store"}), on));  // the request's no-store
  r.cc = Cc({"max-age=60, private"});
  EXPECT_FALSE(Storable(r, false, none, on));
  r.cc = Cc({"no-store"});
  EXPECT_FALSE(Storable(r, false, none, on));
  // Authorization: only with public, s-maxage or must-revalidate.
  r.cc = Cc({"max-age=60"});
  EXPECT_FALSE(Storable(r, true, none, on));
  for (const char* ok : {"max-age=60, public", "s-maxage=60", "max-age=60, must-revalidate"}) {
    r.cc = Cc({ok});
    EXPECT_TRUE(Storable(r, true, none, on)) << ok;
  }
  // No explicit freshness: heuristically cacheable statuses only, with heuristics on.
  ResponseFacts plain{.status = 200, .last_modified = kNov6};
  EXPECT_TRUE(Storable(plain, false, none, on));
  EXPECT_FALSE(Storable(plain, false, none, Heuristic{.enabled = false}));
  // ...and a Last-Modified to compute the lifetime from: a bare dynamic 200 is not stored.
  EXPECT_FALSE(Storable({.status = 200}, false, none, on));
  plain.status = 302;
  EXPECT_FALSE(Storable(plain, false, none, on));
  plain.cc = Cc({"max-age=10"});
  EXPECT_TRUE(Storable(plain, false, none, on));  // explicit freshness makes 302 storable
  ResponseFacts vary{.status = 200, .cc = Cc({"max-age=60"}), .vary_star = true};
  EXPECT_FALSE(Storable(vary, false, none, on));
  EXPECT_FALSE(Storable({.status = 206, .cc = Cc({"max-age=60"})}, false, none, on));
}

TEST(FreshnessTest, LifetimeInOrderOfPrecedence) {
  const Heuristic on{};
  ResponseFacts r{
      .status = 200, .cc = Cc({"max-age=60, s-maxage=30"}), .date = kNov6, .expires = kNov6 + 1000};
  EXPECT_EQ(FreshnessLifetime(r, kNov6, on), 30);  // s-maxage first (a shared cache)
  r.cc = Cc({"max-age=60"});
  EXPECT_EQ(FreshnessLifetime(r, kNov6, on), 60);
  r.cc = {};
  EXPECT_EQ(FreshnessLifetime(r, kNov6, on), 1000);  // Expires - Date
  r.expires = kNov6 - 5;
  EXPECT_EQ(FreshnessLifetime(r, kNov6, on), 0);
  r.expires_invalid = true;  // Expires: 0 and the like: already expired
  r.cc = Cc({"max-age=60"});
  EXPECT_EQ(FreshnessLifetime(r, kNov6, on), 0);
  // Heuristic: 10 % of Date - Last-Modified, capped.
  ResponseFacts h{.status = 200, .date = kNov6, .last_modified = kNov6 - 1000};
  EXPECT_EQ(FreshnessLifetime(h, kNov6, on), 100);
  h.last_modified = kNov6 - 10'000'000;
  EXPECT_EQ(FreshnessLifetime(h, kNov6, on), 86400);
  EXPECT_EQ(FreshnessLifetime(h, kNov6, Heuristic{.enabled = false}), 0);
  h.cc = Cc({"max-age=oops"});
  EXPECT_EQ(FreshnessLifetime(h, kNov6, on), 0);  // invalid: stale
}

TEST(AgeTest, CorrectedInitialAgePlusResidentTime) {
  // Received 2 s after it was requested, Age: 10 from an upstream cache, Date 5 s before
  // receipt; 7 s in the cache since.
  ResponseFacts r{.status = 200, .date = kNov6 - 5, .age = 10};
  EXPECT_EQ(CurrentAge(r, kNov6 - 2, kNov6, kNov6 + 7), 12 + 7);
  // A Date ahead of the receipt (clock skew) counts as no apparent age.
  r = {.status = 200, .date = kNov6 + 100};
  EXPECT_EQ(CurrentAge(r, kNov6, kNov6, kNov6 + 3), 3);
  r.date.reset();
  EXPECT_EQ(CurrentAge(r, kNov6, kNov6, kNov6), 0);
}

TEST(DecideTest, RequestDirectivesAgainstTheStoredResponse) {
  const CacheControl none;
  ResponseFacts r{.status = 200, .cc = Cc({"max-age=60"})};
  EXPECT_EQ(Decide(none, r, 60, 10), Use::kFresh);
  EXPECT_EQ(Decide(none, r, 60, 60), Use::kRevalidate);  // age == lifetime: stale
  EXPECT_EQ(Decide(Cc({"no-cache"}), r, 60, 10), Use::kRevalidate);
  EXPECT_EQ(Decide(Cc({"max-age=5"}), r, 60, 10), Use::kRevalidate);
  EXPECT_EQ(Decide(Cc({"max-age=20"}), r, 60, 10), Use::kFresh);
  EXPECT_EQ(Decide(Cc({"min-fresh=55"}), r, 60, 10), Use::kRevalidate);
  EXPECT_EQ(Decide(Cc({"min-fresh=40"}), r, 60, 10), Use::kFresh);
  // max-stale: any, or bounded.
  EXPECT_EQ(Decide(Cc({"max-stale"}), r, 60, 1000), Use::kFresh);
  EXPECT_EQ(Decide(Cc({"max-stale=30"}), r, 60, 80), Use::kFresh);
  EXPECT_EQ(Decide(Cc({"max-stale=30"}), r, 60, 100), Use::kRevalidate);
  // The stored response forbids stale use.
  for (const char* strict : {"max-age=60, must-revalidate", "max-age=60, proxy-revalidate",
                             "s-maxage=60", "max-age=60, no-cache"}) {
    ResponseFacts s{.status = 200, .cc = Cc({strict})};
    EXPECT_EQ(Decide(Cc({"max-stale"}), s, 60, 70), Use::kRevalidate) << strict;
  }
  ResponseFacts nc{.status = 200, .cc = Cc({"max-age=60, no-cache"})};
  EXPECT_EQ(Decide(none, nc, 60, 1), Use::kRevalidate);  // even fresh
}

TEST(DecideTest, StaleWhileRevalidateAndStaleIfError) {
  const CacheControl none;
  ResponseFacts r{.status = 200, .cc = Cc({"max-age=60, stale-while-revalidate=30"})};
  EXPECT_EQ(Decide(none, r, 60, 70), Use::kStaleWhileRevalidate);
  EXPECT_EQ(Decide(none, r, 60, 91), Use::kRevalidate);
  EXPECT_EQ(Decide(Cc({"max-age=65"}), r, 60, 70), Use::kRevalidate);  // the client wants fresher

  ResponseFacts e{.status = 200, .cc = Cc({"max-age=60, stale-if-error=100"})};
  EXPECT_TRUE(UsableOnError(none, e, 60, 150));
  EXPECT_FALSE(UsableOnError(none, e, 60, 161));
  EXPECT_TRUE(UsableOnError(Cc({"stale-if-error=500"}), e, 60, 400));  // the request's window
  ResponseFacts strict{.status = 200,
                       .cc = Cc({"max-age=60, must-revalidate, stale-if-error=100"})};
  EXPECT_FALSE(UsableOnError(none, strict, 60, 70));
  EXPECT_FALSE(UsableOnError(none, {.status = 200, .cc = Cc({"max-age=60"})}, 60, 70));
}

}  // namespace cache_policy_test
}  // namespace icaht::cache
