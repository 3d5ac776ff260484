// Micro benchmarks of API key matching (src/filters/api_key_store.cc): SHA-256
// of the presented key, then a constant-time comparison with every stored
// hash. The presented key matches the last entry, is unknown, or is long; the
// time must depend on the number of keys only, not on which or whether one
// matches.

#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "filters/api_key_store.h"

namespace icaht::filters {
namespace {

std::string Key(int64_t i) { return absl::StrCat("key-", i, "-0123456789abcdef0123456789"); }

std::shared_ptr<const ApiKeySet> MakeSet(int64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (int64_t i = 0; i < n; ++i) {
    absl::StrAppend(&text, "k", i, ":");
    for (uint8_t b : Sha256(Key(i))) {
      text.push_back(kHex[b >> 4]);
      text.push_back(kHex[b & 0xf]);
    }
    text += "\n";
  }
  auto set = ApiKeySet::Parse(text, "bench");
  ICAHT_CHECK(set.ok());
  return *set;
}

void BM_ApiKeyMatch_Last(benchmark::State& state) {
  auto set = MakeSet(state.range(0));
  std::string key = Key(state.range(0) - 1);
  for (auto _ : state) benchmark::DoNotOptimize(set->Match(key));
}
BENCHMARK(BM_ApiKeyMatch_Last)->Arg(1)->Arg(16)->Arg(256)->Arg(4096);

void BM_ApiKeyMatch_Unknown(benchmark::State& state) {
  auto set = MakeSet(state.range(0));
  std::string key = Key(-1);
  for (auto _ : state) benchmark::DoNotOptimize(set->Match(key));
}
BENCHMARK(BM_ApiKeyMatch_Unknown)->Arg(1)->Arg(16)->Arg(256)->Arg(4096);

void BM_Sha256(benchmark::State& state) {
  std::string key(static_cast<size_t>(state.range(0)), 'k');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(key));
}
BENCHMARK(BM_Sha256)->Arg(32)->Arg(256);

}  // namespace
}  // namespace icaht::filters

BENCHMARK_MAIN();
