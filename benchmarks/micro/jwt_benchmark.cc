// Micro benchmarks of JWT verification (src/filters/jwt/): what a request
// with a bearer token pays. "Verify" is an uncached check of a whole token
// (split, base64url, header JSON, key lookup, signature, claims), one per
// algorithm family; "CachedCheck" is JwtVerifier::Check on a token it has
// seen (the common case: clients reuse a token until it expires).
//
// Keys and tokens are the unit tests' vectors (tests/unit/filters/
// jwt_vectors/, made by PyJWT): 2048-bit RSA, P-256, Ed25519, a 32-byte
// HMAC secret; payloads of about 150 bytes.

#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/check.h"
#include "filters/jwt/jwt_verifier.h"
#include "filters/jwt/verify.h"
#include "simdjson.h"

namespace icaht::filters::jwt {
namespace {

std::string ReadFile(const std::string& name) {
  std::ifstream in(std::string(JWT_VECTORS_DIR) + "/" + name, std::ios::binary);
  ICAHT_CHECK(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Fixture {
  Fixture() {
    absl::StatusOr<std::shared_ptr<const JwkSet>> parsed = JwkSet::Parse(ReadFile("jwks.json"));
    ICAHT_CHECK(parsed.ok());
    keys = *parsed;
    vectors = ReadFile("vectors.json");
    root = parser.parse(vectors);
    now = int64_t(root["now"]);
    policy.issuer = "https://issuer.example";
    policy.audiences = {"api://sidecar"};
  }

  std::string Token(std::string_view name) {
    for (simdjson::dom::element item : root["cases"].get_array()) {
      if (std::string_view(item["name"]) == name)
        return std::string(std::string_view(item["token"]));
    }
    ICAHT_CHECK(false && "no such vector");
    return "";
  }

  std::shared_ptr<const JwkSet> keys;
  std::string vectors;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t now = 0;
  JwtPolicy policy;
};

Fixture& Vectors() {
  static Fixture fixture;
  return fixture;
}

void VerifyUncached(benchmark::State& state, std::string_view vector) {
  Fixture& f = Vectors();
  std::string token = f.Token(vector);
  ICAHT_CHECK(Verify(token, *f.keys, f.policy, f.now).ok());
  for (auto _ : state) {
    VerifyResult result = Verify(token, *f.keys, f.policy, f.now);
    benchmark::DoNotOptimize(result.refusal);
  }
}

void BM_Verify_RS256(benchmark::State& state) { VerifyUncached(state, "ok_RS256"); }
BENCHMARK(BM_Verify_RS256);
void BM_Verify_PS256(benchmark::State& state) { VerifyUncached(state, "ok_PS256"); }
BENCHMARK(BM_Verify_PS256);
void BM_Verify_ES256(benchmark::State& state) { VerifyUncached(state, "ok_ES256"); }
BENCHMARK(BM_Verify_ES256);
void BM_Verify_EdDSA(benchmark::State& state) { VerifyUncached(state, "ok_EdDSA"); }
BENCHMARK(BM_Verify_EdDSA);
void BM_Verify_HS256(benchmark::State& state) { VerifyUncached(state, "ok_HS256"); }
BENCHMARK(BM_Verify_HS256);

void BM_CachedCheck(benchmark::State& state) {
  Fixture& f = Vectors();
  JwtVerifier verifier(f.policy, f.keys);
  std::string token = f.Token("ok_RS256");
  ICAHT_CHECK(verifier.Check(token, f.now).ok());
  for (auto _ : state) {
    JwtVerifier::Result result = verifier.Check(token, f.now);
    benchmark::DoNotOptimize(result.claims);
  }
  state.counters["hit_ratio"] =
      double(verifier.cache().stats().hits) /
      double(verifier.cache().stats().hits + verifier.cache().stats().misses);
}
BENCHMARK(BM_CachedCheck);

// TokenCache::Lookup alone in a full cache of 10,000 tokens, in a random
// order (many clients: the entries are rarely in the CPU's caches).
void BM_CachedCheck_10kTokens(benchmark::State& state) {
  Fixture& f = Vectors();
  std::string base = f.Token("ok_HS256");
  // Distinct keys for the cache, which compares whole tokens; they are
  // inserted directly, so they need not verify.
  std::vector<std::string> tokens;
  for (int i = 0; i < 10000; ++i) tokens.push_back(base + std::to_string(i));
  TokenCache cache(10000, f.policy.leeway_s);
  VerifyResult verified = Verify(base, *f.keys, f.policy, f.now);
  for (const std::string& t : tokens) cache.Insert(t, verified.claims);
  uint32_t x = 1;
  for (auto _ : state) {
    x = x * 1664525 + 1013904223;
    benchmark::DoNotOptimize(cache.Lookup(tokens[x % tokens.size()], f.now));
  }
}
BENCHMARK(BM_CachedCheck_10kTokens);

}  // namespace
}  // namespace icaht::filters::jwt

BENCHMARK_MAIN();
