// The per-shard response store (cache/store.h): Vary variants, LRU eviction
// by bytes, the object limit, freshening from a 304, invalidation and purge.

#include "cache/store.h"

#include <map>

#include "gtest/gtest.h"

namespace icaht::cache {
namespace store_test {

// A request's headers (lower-case names).
struct Request {
  std::map<std::string, std::string> headers;
  std::optional<std::string_view> operator()(std::string_view name) const {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

StoredResponse Response(std::string body, std::vector<std::string_view> vary = {},
                        const Request& request = {}) {
  StoredResponse r;
  r.status = 200;
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = std::move(body);
  r.vary = VaryKey(vary, request);
  return r;
}

TEST(StoreTest, FindsByKeyAndVaryValues) {
  Store store(1 << 20, 1 << 16);
  Request gzip{{{"accept-encoding", "gzip"}}};
  Request plain;
  ASSERT_TRUE(store.Put("http://svc/a", Response("zipped", {"Accept-Encoding"}, gzip)));
  ASSERT_TRUE(store.Put("http://svc/a", Response("plain", {"Accept-Encoding"}, plain)));
  EXPECT_EQ(store.entries(), 2u);
  const StoredResponse* got = store.Find("http://svc/a", gzip);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->body, "zipped");
  ASSERT_NE(store.Find("http://svc/a", plain), nullptr);
  EXPECT_EQ(store.Find("http://svc/a", plain)->body, "plain");
  // Whitespace is normalized; another value is another variant; another key nothing.
  EXPECT_NE(store.Find("http://svc/a", Request{{{"accept-encoding", "  gzip "}}}), nullptr);
  EXPECT_EQ(store.Find("http://svc/a", Request{{{"accept-encoding", "br"}}}), nullptr);
  EXPECT_EQ(store.Find("http://svc/b", plain), nullptr);
  // Inner runs collapse to one space; a missing one is another value.
  Request pair{{{"accept-encoding", "gzip, br"}}};
  ASSERT_TRUE(store.Put("http://svc/c", Response("pair", {"Accept-Encoding"}, pair)));
  EXPECT_NE(store.Find("http://svc/c", Request{{{"accept-encoding", " gzip, \t br"}}}), nullptr);
  EXPECT_EQ(store.Find("http://svc/c", Request{{{"accept-encoding", "gzip,br"}}}), nullptr);
  EXPECT_EQ(store.Find("http://svc/c", Request{{{"accept-encoding", "gzip, b"}}}), nullptr);
  EXPECT_EQ(store.Invalidate("http://svc/c"), 1u);
  // The same variant again replaces it.
  ASSERT_TRUE(store.Put("http://svc/a", Response("zipped2", {"accept-encoding"}, gzip)));
  EXPECT_EQ(store.entries(), 2u);
  EXPECT_EQ(store.Find("http://svc/a", gzip)->body, "zipped2");
}

// Found by review: a 404 without Vary kept matching everyone (and so never
// aged out of the LRU) after the origin's 200 came with Vary.
TEST(StoreTest, AnswerVaryingOnOtherFieldsReplacesEveryOldVariant) {
  Store store(1 << 20, 1 << 16);
  Request gzip{{{"accept-encoding", "gzip"}}};
  ASSERT_TRUE(store.Put("k", Response("old, no Vary")));
  ASSERT_TRUE(store.Put("k", Response("new", {"Accept-Encoding"}, gzip)));
  EXPECT_EQ(store.entries(), 1u);
  ASSERT_NE(store.Find("k", gzip), nullptr);
  EXPECT_EQ(store.Find("k", gzip)->body, "new");
  EXPECT_EQ(store.Find("k", Request{}), nullptr);
}

TEST(StoreTest, VaryKeyListsEachNameOnce) {
  Request r{{{"accept", "text/html"}, {"x-tenant", "a"}}};
  auto key = VaryKey({"Accept, X-Tenant", "accept, Cookie"}, r);
  ASSERT_EQ(key.size(), 3u);
  EXPECT_EQ(key[0], (std::pair<std::string, std::optional<std::string>>{"accept", "text/html"}));
  EXPECT_EQ(key[1].first, "x-tenant");
  EXPECT_EQ(key[2], (std::pair<std::string, std::optional<std::string>>{"cookie", std::nullopt}));
}

TEST(StoreTest, EvictsLeastRecentlyUsedWithinTheByteBound) {
  const size_t one = Response(std::string(1000, 'x')).bytes() + std::string("k0").size();
  Store store(3 * one + 10, 1 << 20);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store.Put("k" + std::to_string(i), Response(std::string(1000, 'x'))));
  }
  EXPECT_EQ(store.entries(), 3u);
  ASSERT_NE(store.Find("k0", Request{}), nullptr);  // k0 is now the most recent
  ASSERT_TRUE(store.Put("k3", Response(std::string(1000, 'x'))));
  EXPECT_EQ(store.entries(), 3u);
  EXPECT_EQ(store.evictions(), 1u);
  EXPECT_EQ(store.Find("k1", Request{}), nullptr);  // the least recently used went
  EXPECT_NE(store.Find("k0", Request{}), nullptr);
  EXPECT_LE(store.bytes(), store.max_bytes());
}

TEST(StoreTest, ObjectLimitStoresNothingAndEvictsNothing) {
  Store store(1 << 20, 100);
  ASSERT_TRUE(store.Put("small", Response("ok")));
  EXPECT_FALSE(store.Put("big", Response(std::string(101, 'x'))));
  EXPECT_EQ(store.entries(), 1u);
  Store tiny(50, 1 << 20);  // larger than the whole store
  EXPECT_FALSE(tiny.Put("x", Response(std::string(60, 'x'))));
}

TEST(StoreTest, InvalidateAndPurge) {
  Store store(1 << 20, 1 << 20);
  Request a{{{"accept", "a"}}}, b{{{"accept", "b"}}};
  store.Put("http://svc/x", Response("1", {"accept"}, a));
  store.Put("http://svc/x", Response("2", {"accept"}, b));
  store.Put("http://svc/y", Response("3"));
  store.Put("http://other/z", Response("4"));
  EXPECT_EQ(store.Invalidate("http://svc/x"), 2u);  // every variant
  EXPECT_EQ(store.Invalidate("http://svc/x"), 0u);
  EXPECT_EQ(store.Purge("http://svc/"), 1u);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.Purge(""), 1u);
  EXPECT_EQ(store.entries(), 0u);
  EXPECT_EQ(store.bytes(), 0u);
}

}  // namespace store_test
}  // namespace icaht::cache
