// Tests of src/filters/rate_limit/: the token bucket, the keyed buckets and
// the filter (the coordinator and the multi-shard simulation are in
// share_coordinator_test.cc). Every test runs on an injected clock.

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "filter_test_util.h"
#include "filters/rate_limit/keyed_buckets.h"
#include "filters/rate_limit/rate_limit_filter.h"
#include "filters/rate_limit/token_bucket.h"
#include "gtest/gtest.h"
#include "http/request_parser.h"

// Counts allocations while g_count_allocations is set (single-threaded tests).
namespace {
bool g_count_allocations = false;
size_t g_allocations = 0;
}  // namespace

// Out of line, so that GCC does not pair an inlined free() with the builtin
// operator new (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(size_t size) {
  if (g_count_allocations) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace icaht::filters {
namespace rate_limit_test {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;

// ---- TokenBucket ------------------------------------------------------------

TEST(TokenBucketTest, StartsFullRefillsAtRateUpToCapacity) {
  TokenBucket bucket(10, 5, 0);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.Take(1, 0)) << i;
  EXPECT_FALSE(bucket.Take(1, 0));
  EXPECT_EQ(bucket.TimeUntil(1, 0), 100 * kMs);
  EXPECT_FALSE(bucket.Take(1, 99 * kMs));
  EXPECT_TRUE(bucket.Take(1, 100 * kMs));
  EXPECT_FALSE(bucket.FullAt(500 * kMs));
  EXPECT_TRUE(bucket.FullAt(600 * kMs));
  bucket.Refill(10 * kSecond);  // never past capacity
  EXPECT_DOUBLE_EQ(bucket.tokens(), 5);
  EXPECT_EQ(bucket.TimeUntil(5, 10 * kSecond), 0);
}

TEST(TokenBucketTest, FractionalRates) {
  TokenBucket bucket(0.5, 1, 0);  // one request per 2 s
  EXPECT_TRUE(bucket.Take(1, 0));
  EXPECT_EQ(bucket.TimeUntil(1, 0), 2 * kSecond);
  EXPECT_FALSE(bucket.Take(1, 2 * kSecond - 1));
  EXPECT_TRUE(bucket.Take(1, 2 * kSecond));
  TokenBucket thirds(3, 1, 0);
  EXPECT_TRUE(thirds.Take(1, 0));
  int64_t wait = thirds.TimeUntil(1, 0);
  EXPECT_EQ(wait, 333'333'334);  // rounded up: taking at `wait` succeeds
  EXPECT_FALSE(thirds.Take(1, wait - 1));
  EXPECT_TRUE(thirds.Take(1, wait));
}

TEST(TokenBucketTest, SmallerThanOneRequestAdmitsWhenFullThenPaysBack) {
  TokenBucket bucket(0.25, 0.25, 0);  // a quarter share of rate 1, burst 1
  EXPECT_TRUE(bucket.Take(1, 0));
  EXPECT_DOUBLE_EQ(bucket.tokens(), -0.75);
  EXPECT_DOUBLE_EQ(bucket.fill(), -3);
  EXPECT_EQ(bucket.TimeUntil(1, 0), 4 * kSecond);  // back to full (0.25)
  EXPECT_FALSE(bucket.Take(1, 4 * kSecond - 1));
  EXPECT_TRUE(bucket.Take(1, 4 * kSecond));
}

TEST(TokenBucketTest, ClockGoingBackAddsNothing) {
  TokenBucket bucket(1, 2, 10 * kSecond);
  EXPECT_TRUE(bucket.Take(2, 10 * kSecond));
  EXPECT_FALSE(bucket.Take(1, 5 * kSecond));
  EXPECT_TRUE(bucket.Take(1, 11 * kSecond));
}

// ---- KeyedBuckets -----------------------------------------------------------

TEST(KeyedBucketsTest, MemoryIsBoundedByMaxKeys) {
  KeyedBuckets buckets(1, 10, 3);
  for (int i = 0; i < 100; ++i) buckets.Attempt("k" + std::to_string(i), i * kMs);
  EXPECT_EQ(buckets.size(), 3u);
  EXPECT_NE(buckets.Find("k99"), nullptr);
}

TEST(KeyedBucketsTest, EvictsAFullBucketBeforeTheLeastRecentlyUsed) {
  KeyedBuckets buckets(1, 10, 3);  // 1/s, burst 10
  buckets.Attempt("a", 0).bucket.Consume(10);
  buckets.Attempt("b", 1).bucket.Consume(1);  // full again 1 s later
  buckets.Attempt("c", 2).bucket.Consume(10);
  buckets.Attempt("d", 2 * kSecond);
  EXPECT_EQ(buckets.Find("b"), nullptr);
  EXPECT_NE(buckets.Find("a"), nullptr);  // least recently used, but it holds a debt of tokens
  EXPECT_NE(buckets.Find("c"), nullptr);
  // None full now (d was just used, a and c hold 2 of 10): the least recently used goes.
  buckets.Attempt("d", 2 * kSecond).bucket.Consume(5);
  buckets.Attempt("e", 2 * kSecond + 1);
  EXPECT_EQ(buckets.Find("a"), nullptr);
  EXPECT_NE(buckets.Find("c"), nullptr);
  EXPECT_NE(buckets.Find("d"), nullptr);
}

TEST(KeyedBucketsTest, ExistingKeysDoNotAllocate) {
  KeyedBuckets buckets(100, 100, 1000);
  std::string long_key(100, 'x');
  buckets.Attempt(long_key, 0);
  buckets.Attempt("203.0.113.7", 0);
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 1; i < 1000; ++i) {
    buckets.Attempt(long_key, i * kMs).bucket.Take(1, i * kMs);
    buckets.Attempt("203.0.113.7", i * kMs).bucket.Take(1, i * kMs);
  }
  g_count_allocations = false;
  EXPECT_EQ(g_allocations, 0u);
}

TEST(KeyedBucketsTest, ReportsActiveAndRefillingKeysOnly) {
  KeyedBuckets buckets(10, 10, 100);
  buckets.SetShardCount(2, 0);  // rate 5, capacity 5 each
  buckets.Attempt("busy", 0).bucket.Consume(5);
  buckets.Attempt("light", 0);  // attempted, not consumed: full
  std::vector<DemandEntry> report;
  buckets.TakeDemand(3, 0, &report);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0],
            (DemandEntry{.limit = 3, .key = "busy", .attempts = 1, .share = 0.5, .fill = 0}));
  EXPECT_EQ(report[1].key, "light");
  EXPECT_DOUBLE_EQ(report[1].fill, 1);
  // Next period: no attempts; "busy" still refilling (reported), "light" idle and full (not).
  report.clear();
  buckets.TakeDemand(3, 500 * kMs, &report);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0].key, "busy");
  EXPECT_EQ(report[0].attempts, 0u);
  EXPECT_DOUBLE_EQ(report[0].fill, 0.5);
  report.clear();
  buckets.TakeDemand(3, 2 * kSecond, &report);  // full again: done
  EXPECT_TRUE(report.empty());
}

TEST(KeyedBucketsTest, SharesRescaleTheBucket) {
  KeyedBuckets buckets(100, 100, 100);
  buckets.SetShardCount(4, 0);
  KeyedBuckets::Entry& entry = buckets.Attempt("k", 0);  // share 0.25: 25 tokens
  entry.bucket.Consume(15);                              // fill 0.4
  // Shrinking keeps the fill.
  buckets.ApplyShare("k", 0.125, 1, 0);
  EXPECT_DOUBLE_EQ(entry.bucket.capacity(), 12.5);
  EXPECT_DOUBLE_EQ(entry.bucket.rate(), 12.5);
  EXPECT_DOUBLE_EQ(entry.bucket.tokens(), 5);
  // Growing adds the new capacity at the granted fill.
  buckets.ApplyShare("k", 0.625, 0.5, 0);
  EXPECT_DOUBLE_EQ(entry.bucket.capacity(), 62.5);
  EXPECT_DOUBLE_EQ(entry.bucket.tokens(), 5 + 50 * 0.5);
  // Unconfirmed for kShareHoldNs: back to 1/N, keeping the fill.
  buckets.Attempt("k", kShareHoldNs);
  EXPECT_DOUBLE_EQ(entry.share, 0.625);
  buckets.Attempt("k", kShareHoldNs + 1);
  EXPECT_DOUBLE_EQ(entry.share, 0.25);
  EXPECT_DOUBLE_EQ(entry.bucket.capacity(), 25);
}

TEST(KeyedBucketsTest, AnUpdateCreatesOnlyRestrictingShares) {
  KeyedBuckets buckets(100, 100, 100);
  buckets.SetShardCount(4, 0);
  buckets.ApplyShare("elsewhere", 0.005, 1, 0);
  ASSERT_NE(buckets.Find("elsewhere"), nullptr);
  EXPECT_DOUBLE_EQ(buckets.Find("elsewhere")->bucket.capacity(), 0.5);
  EXPECT_DOUBLE_EQ(buckets.Find("elsewhere")->bucket.tokens(), 0.5);
  buckets.ApplyShare("generous", 0.9, 1, 0);  // absent = full at 0.25: already less
  EXPECT_EQ(buckets.Find("generous"), nullptr);
}

// ---- RateLimitFilter --------------------------------------------------------

int64_t g_now_ns = 0;
int64_t FakeNow() { return g_now_ns; }

RequestContext Request(const std::string& raw, std::string_view client_ip = "192.0.2.1") {
  RequestContext ctx;
  SetRequestText(ctx, raw);
  ctx.client_ip = client_ip;
  return ctx;
}

RequestContext Get(std::string_view client_ip = "192.0.2.1", std::string_view extra = "") {
  return Request("GET / HTTP/1.1\r\nHost: h\r\n" + std::string(extra) + "\r\n", client_ip);
}

// The value of the response field `name` the filter added, or "<none>".
std::string Added(const RequestContext& ctx, std::string_view name) {
  for (const http::Header& h : ctx.response_edits.added()) {
    if (h.name == name) return std::string(h.value);
  }
  return "<none>";
}

// Runs one request through both phases; true when it was let through.
bool Pass(RateLimitFilter& filter, RequestContext& ctx) {
  NoCallbacks cb;
  Verdict verdict = filter.OnRequestHead(ctx, cb);
  ctx.response_status = verdict == Verdict::kRespond ? ctx.local_response.status : 200;
  filter.OnResponseHead(ctx);
  return verdict == Verdict::kContinue;
}

bool Pass(RateLimitFilter& filter) {
  RequestContext ctx = Get();
  return Pass(filter, ctx);
}

class RateLimitTest : public ::testing::Test {
 protected:
  void SetUp() override { g_now_ns = 1000 * kSecond; }
};

RateLimitSpec Limit(double rate, uint32_t burst, RateLimitKey key = RateLimitKey::kService,
                    std::string key_name = "") {
  return RateLimitSpec{
      .requests_per_second = rate, .burst = burst, .key = key, .key_name = std::move(key_name)};
}

TEST_F(RateLimitTest, BurstThenRefusalWithRetryAfterAndFields) {
  RateLimitFilter filter({Limit(10, 3)}, FakeNow);
  EXPECT_EQ(filter.policy(), "\"default\";q=10;w=1");
  for (int i = 0; i < 3; ++i) {
    RequestContext ctx = Get();
    ASSERT_TRUE(Pass(filter, ctx)) << i;
    EXPECT_EQ(Added(ctx, "RateLimit-Policy"), "\"default\";q=10;w=1");
    EXPECT_EQ(Added(ctx, "RateLimit"), "\"default\";r=" + std::to_string(2 - i) + ";t=1");
    EXPECT_EQ(Added(ctx, "Retry-After"), "<none>");
  }
  RequestContext refused = Get();
  ASSERT_FALSE(Pass(filter, refused));
  EXPECT_EQ(refused.local_response.status, 429);
  EXPECT_EQ(refused.local_response.content_type, "application/problem+json");
  EXPECT_EQ(refused.local_response.body,
            R"({"type":"https://iana.org/assignments/http-problem-types#quota-exceeded",)"
            R"("title":"Too many requests: the rate limit was exceeded",)"
            R"("violated-policies":["default"]})"
            "\n");
  EXPECT_EQ(Added(refused, "Retry-After"), "1");
  EXPECT_EQ(Added(refused, "RateLimit"), "\"default\";r=0;t=1");
  EXPECT_EQ(filter.refusals(), 1u);
  g_now_ns += 100 * kMs;  // one token back
  EXPECT_TRUE(Pass(filter));
  EXPECT_FALSE(Pass(filter));
  EXPECT_EQ(filter.refusals(), 2u);
}

TEST_F(RateLimitTest, RetryAfterRoundsUpToWholeSeconds) {
  RateLimitFilter slow({Limit(0.3, 1)}, FakeNow);  // a token every 3.33 s
  EXPECT_EQ(slow.policy(), "\"default\";q=1;w=4");
  EXPECT_TRUE(Pass(slow));
  RequestContext refused = Get();
  ASSERT_FALSE(Pass(slow, refused));
  EXPECT_EQ(Added(refused, "Retry-After"), "4");
  EXPECT_EQ(Added(refused, "RateLimit"), "\"default\";r=0;t=4");
  g_now_ns += 3 * kSecond;
  RequestContext later = Get();
  ASSERT_FALSE(Pass(slow, later));
  EXPECT_EQ(Added(later, "Retry-After"), "1");  // 0.33 s: never 0

  RateLimitFilter half({Limit(0.5, 2)}, FakeNow);
  EXPECT_EQ(half.policy(), "\"default\";q=1;w=2");
  RequestContext first = Get();
  ASSERT_TRUE(Pass(half, first));
  EXPECT_EQ(Added(first, "RateLimit"), "\"default\";r=1;t=2");
}

TEST_F(RateLimitTest, HeadersCanBeTurnedOff) {
  RateLimitSpec spec = Limit(1, 1);
  spec.headers = false;
  RateLimitFilter filter({spec}, FakeNow);
  EXPECT_EQ(filter.policy(), "");
  RequestContext allowed = Get();
  ASSERT_TRUE(Pass(filter, allowed));
  EXPECT_TRUE(allowed.response_edits.empty());
  RequestContext refused = Get();
  ASSERT_FALSE(Pass(filter, refused));
  ASSERT_EQ(refused.response_edits.added().size(), 1u);
  EXPECT_EQ(Added(refused, "Retry-After"), "1");
  // Not advertised: not named in the body either.
  EXPECT_EQ(refused.local_response.body.find("violated-policies"), std::string::npos);
}

TEST_F(RateLimitTest, ARefusedRequestConsumesFromNoLimit) {
  RateLimitSpec service = Limit(100, 10);
  service.name = "service";
  RateLimitSpec per_client = Limit(1, 1, RateLimitKey::kClientIp);
  per_client.name = "per-client";
  RateLimitFilter filter({service, per_client}, FakeNow);
  EXPECT_EQ(filter.policy(), "\"service\";q=100;w=1, \"per-client\";q=1;w=1");
  RequestContext first = Get("192.0.2.1");
  ASSERT_TRUE(Pass(filter, first));
  EXPECT_EQ(Added(first, "RateLimit"), "\"service\";r=9;t=1, \"per-client\";r=0;t=1");
  for (int i = 0; i < 5; ++i) {
    RequestContext refused = Get("192.0.2.1");
    ASSERT_FALSE(Pass(filter, refused));
    EXPECT_NE(refused.local_response.body.find(R"("violated-policies":["per-client"])"),
              std::string::npos);
  }
  EXPECT_DOUBLE_EQ(filter.buckets(0).Find("")->bucket.tokens(), 9);  // untouched by refusals
  // Another client has its own bucket, and takes from the service's.
  RequestContext other = Get("192.0.2.2");
  ASSERT_TRUE(Pass(filter, other));
  EXPECT_EQ(Added(other, "RateLimit"), "\"service\";r=8;t=1, \"per-client\";r=0;t=1");
  EXPECT_EQ(filter.refusals(), 5u);
}

TEST_F(RateLimitTest, RetryAfterIsNoEarlierThanAnyEffectiveWindow) {
  RateLimitSpec fast = Limit(10, 1);
  fast.name = "fast";
  RateLimitSpec slow = Limit(0.25, 3, RateLimitKey::kClientIp);  // a token every 4 s
  slow.name = "slow";
  RateLimitFilter filter({fast, slow}, FakeNow);
  ASSERT_TRUE(Pass(filter));
  RequestContext refused = Get();
  ASSERT_FALSE(Pass(filter, refused));  // by "fast" (0.1 s), while "slow" has r=2;t=4
  EXPECT_EQ(Added(refused, "RateLimit"), "\"fast\";r=0;t=1, \"slow\";r=2;t=4");
  EXPECT_EQ(Added(refused, "Retry-After"), "4");
}

TEST_F(RateLimitTest, RequestsWithoutTheKeyAreNotLimitedByThatLimit) {
  RateLimitFilter by_header({Limit(1, 1, RateLimitKey::kHeader, "X-Api-Key")}, FakeNow);
  for (int i = 0; i < 5; ++i) {
    RequestContext anonymous = Get();
    EXPECT_TRUE(Pass(by_header, anonymous));
    EXPECT_TRUE(anonymous.response_edits.empty());  // the limit did not apply
    RequestContext empty = Get("192.0.2.1", "X-Api-Key: \r\n");
    EXPECT_TRUE(Pass(by_header, empty));
  }
  RequestContext a1 = Get("192.0.2.1", "x-api-key: a\r\n");
  EXPECT_TRUE(Pass(by_header, a1));
  RequestContext a2 = Get("192.0.2.9", "X-API-KEY: a\r\nX-Api-Key: b\r\n");  // the first one
  EXPECT_FALSE(Pass(by_header, a2));
  RequestContext b = Get("192.0.2.1", "X-Api-Key: b\r\n");
  EXPECT_TRUE(Pass(by_header, b));

  RateLimitFilter by_claim({Limit(1, 1, RateLimitKey::kClaim, "sub")}, FakeNow);
  RequestContext unauthenticated = Get();
  EXPECT_TRUE(Pass(by_claim, unauthenticated));
  EXPECT_TRUE(Pass(by_claim, unauthenticated));
  RequestContext alice = Get();
  alice.claims = {{"scope", "x"}, {"sub", "alice"}};
  EXPECT_TRUE(Pass(by_claim, alice));
  RequestContext alice_again = Get("192.0.2.7");
  alice_again.claims = {{"sub", "alice"}};
  EXPECT_FALSE(Pass(by_claim, alice_again));
  RequestContext bob = Get();
  bob.claims = {{"sub", "bob"}};
  EXPECT_TRUE(Pass(by_claim, bob));
}

TEST_F(RateLimitTest, LongKeysAreStoredBoundedAndStayDistinct) {
  RateLimitFilter filter({Limit(1, 1, RateLimitKey::kHeader, "X-Api-Key")}, FakeNow);
  std::string base(5000, 'k');
  RequestContext one = Get("192.0.2.1", "X-Api-Key: " + base + "1\r\n");
  RequestContext two = Get("192.0.2.1", "X-Api-Key: " + base + "2\r\n");
  EXPECT_TRUE(Pass(filter, one));
  EXPECT_TRUE(Pass(filter, two));  // differs only past the stored prefix
  RequestContext one_again = Get("192.0.2.1", "X-Api-Key: " + base + "1\r\n");
  EXPECT_FALSE(Pass(filter, one_again));
  EXPECT_EQ(filter.buckets(0).size(), 2u);
  std::vector<DemandEntry> report = filter.TakeDemandReport().entries;
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0].key.size(), 256u);
}

TEST_F(RateLimitTest, ShadowModeCountsWithoutRefusing) {
  RateLimitSpec shadow = Limit(1, 2);
  shadow.enforce = false;
  RateLimitFilter filter({shadow}, FakeNow);
  EXPECT_EQ(filter.policy(), "");  // not advertised
  for (int i = 0; i < 10; ++i) {
    RequestContext ctx = Get();
    EXPECT_TRUE(Pass(filter, ctx));
    EXPECT_TRUE(ctx.response_edits.empty());
  }
  EXPECT_EQ(filter.refusals(), 0u);
  EXPECT_EQ(filter.shadow_refusals(), 8u);
  g_now_ns += kSecond;  // the refused ones took nothing: one token back
  EXPECT_TRUE(Pass(filter));
  EXPECT_EQ(filter.shadow_refusals(), 8u);

  // With an enforcing limit too: a refusal by it is a refusal, not a shadow one.
  RateLimitSpec enforced = Limit(1, 1, RateLimitKey::kClientIp);
  enforced.name = "enforced";
  RateLimitFilter both({shadow, enforced}, FakeNow);
  EXPECT_TRUE(Pass(both));
  EXPECT_FALSE(Pass(both));
  EXPECT_EQ(both.refusals(), 1u);
  EXPECT_EQ(both.shadow_refusals(), 0u);
}

TEST_F(RateLimitTest, ResponsePhaseWithoutADecisionAddsNothing) {
  RateLimitFilter filter({Limit(1, 1)}, FakeNow);
  RequestContext health_answer = Get();  // answered before this filter ran
  filter.OnResponseHead(health_answer);
  EXPECT_TRUE(health_answer.response_edits.empty());
}

TEST_F(RateLimitTest, ADecisionOnAWarmContextDoesNotAllocate) {
  RateLimitSpec service = Limit(1e6, 1000000);
  RateLimitSpec per_client = Limit(1e6, 1000000, RateLimitKey::kClientIp);
  per_client.name = "per-client";
  RateLimitFilter filter({service, per_client}, FakeNow);
  RequestContext ctx = Get();
  ASSERT_TRUE(Pass(filter, ctx));  // the key is new: allocates; the context's string grows
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 0; i < 1000; ++i) {
    ctx.response_edits.Clear();
    ASSERT_TRUE(Pass(filter, ctx));
  }
  g_count_allocations = false;
  EXPECT_EQ(g_allocations, 0u);
}

}  // namespace rate_limit_test
}  // namespace icaht::filters
