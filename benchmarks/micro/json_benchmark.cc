// Micro benchmarks of the service record's JSON (src/registry/service_record.h): parsing and
// validating a record (every POST/PUT on the admin socket, and every static service at start)
// and writing it back (every admin answer and GET /v1/services). Register->serving latency and
// the time to register 10,000 services start here.

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "core/check.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace {

// What a script typically registers.
constexpr std::string_view kMinimal = R"({"name":"bench","upstreams":["127.0.0.1:30080"]})";

// Every field this build supports, with two weighted upstreams.
constexpr std::string_view kFull = R"json({
  "name": "orders", "version": "1.4.2",
  "upstreams": ["127.0.0.1:8080", {"address": "127.0.0.1:8081", "weight": 2}],
  "port": 7005,
  "route": {"rule": "PathPrefix(`/orders`)"},
  "ttl_s": 30,
  "timeouts": {"connect_ms": 1000, "request_ms": 15000, "idle_ms": 60000},
  "load_balancer": "round_robin",
  "max_body_bytes": 1048576
})json";

void Parse(benchmark::State& state, std::string_view json) {
  for (auto _ : state) {
    absl::StatusOr<ServiceRecord> r = ParseServiceRecord(json);
    benchmark::DoNotOptimize(r.ok());
  }
  ICAHT_CHECK(ParseServiceRecord(json).ok());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}

void BM_ParseServiceRecord_Minimal(benchmark::State& state) { Parse(state, kMinimal); }
BENCHMARK(BM_ParseServiceRecord_Minimal);

void BM_ParseServiceRecord_Full(benchmark::State& state) { Parse(state, kFull); }
BENCHMARK(BM_ParseServiceRecord_Full);

// The error path: an unknown field must be named, not ignored.
void BM_ParseServiceRecord_Invalid(benchmark::State& state) {
  constexpr std::string_view kBad = R"({"name":"bench","upstreams":["127.0.0.1:1"],"foo":1})";
  for (auto _ : state) {
    absl::StatusOr<ServiceRecord> r = ParseServiceRecord(kBad);
    benchmark::DoNotOptimize(r.ok());
  }
  ICAHT_CHECK(!ParseServiceRecord(kBad).ok());
}
BENCHMARK(BM_ParseServiceRecord_Invalid);

void BM_ToJson_Full(benchmark::State& state) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(kFull);
  ICAHT_CHECK(r.ok());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = ToJson(*r);
    bytes = json.size();
    benchmark::DoNotOptimize(json.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_ToJson_Full);

void BM_RoundTrip_Full(benchmark::State& state) {
  absl::StatusOr<ServiceRecord> r = ParseServiceRecord(kFull);
  ICAHT_CHECK(r.ok());
  std::string json = ToJson(*r);
  for (auto _ : state) {
    absl::StatusOr<ServiceRecord> back = ParseServiceRecord(json);
    benchmark::DoNotOptimize(back.ok());
    std::string again = ToJson(*back);
    benchmark::DoNotOptimize(again.data());
  }
}
BENCHMARK(BM_RoundTrip_Full);

}  // namespace
}  // namespace icaht::registry

BENCHMARK_MAIN();
