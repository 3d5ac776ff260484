#pragma once
// Passive health for one service (the record's outlier_detection, Envoy's
// outlier detection): decides which instances are ejected from the rotation
// from what the shards saw of them. Runs on the control thread, which sends
// the ejected set to every shard (SetEjectedCommand), so all shards agree.
//
//   consecutive_5xx / consecutive_gateway_errors
//       a shard counts an instance's failures in a row and reports a "trip"
//       when one reaches the threshold: ejected at the next collection
//   success rate (each interval)
//       among instances with at least request_volume attempts in the
//       interval, if at least min_hosts have that many: those whose success
//       rate is below mean - stdev_factor * stdev are ejected
//   ejection time
//       base * the instance's ejection count (which grows by one per
//       ejection and shrinks by one per interval spent in the rotation), at
//       most max; then it returns
//   max_ejection_percent
//       no ejection that would take more than that share out, except that
//       one instance may always be ejected (when the percent is > 0)
//
// The panic threshold is the shards' (they also know the active health
// checks' verdicts). Pure: time comes in as arguments, so tests drive it.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "filters/upstream_policy.h"
#include "net/address.h"

namespace icaht::admin {

// What one shard saw of one instance since its last report.
struct InstanceReport {
  net::Address address;
  uint32_t attempts = 0;
  uint32_t successes = 0;
  uint32_t trips_5xx = 0;
  uint32_t trips_gateway = 0;
};

class OutlierDetector {
 public:
  enum class Reason : uint8_t { kConsecutive5xx, kConsecutiveGatewayErrors, kSuccessRate };
  static constexpr size_t kReasons = 3;
  static std::string_view ReasonLabel(Reason reason);

  struct Change {
    net::Address address;
    bool ejected;    // false: returned to the rotation
    Reason reason;   // why it was ejected (for an ejection)
    int64_t for_ms;  // how long (for an ejection)
  };

  OutlierDetector(const filters::OutlierSpec& spec, int64_t now_ns) : spec_(spec) {
    next_interval_ns_ = now_ns + int64_t{spec.interval_ms} * 1'000'000;
  }

  // A new record: the spec and the instances (state is kept by address;
  // instances no longer listed are forgotten).
  void Update(const filters::OutlierSpec& spec, const std::vector<net::Address>& instances,
              int64_t now_ns);
  const filters::OutlierSpec& spec() const { return spec_; }

  // A shard's report (trips eject at once, if allowed).
  void Add(const InstanceReport& report, int64_t now_ns);
  // Returns ejected instances whose time is up; at each interval, evaluates
  // success rates and lets ejection counts decay.
  void Tick(int64_t now_ns);

  // Ejections and returns since the last call (for logs).
  std::vector<Change> TakeChanges() { return std::move(changes_); }
  // True once after the ejected set changed.
  bool TakeDirty() { return std::exchange(dirty_, false); }
  std::vector<net::Address> Ejected() const;
  bool IsEjected(const net::Address& address) const;
  // The time left of an ejection (0: not ejected).
  int64_t EjectedForNs(const net::Address& address, int64_t now_ns) const;
  uint64_t ejections(Reason reason) const { return ejections_[static_cast<size_t>(reason)]; }

 private:
  struct Instance {
    bool ejected = false;
    int64_t until_ns = 0;
    uint32_t ejection_count = 0;
    uint64_t attempts = 0;  // this interval, all shards
    uint64_t successes = 0;
  };
  void Eject(const net::Address& address, Instance& instance, Reason reason, int64_t now_ns);
  bool MayEject() const;
  void EvaluateSuccessRates(int64_t now_ns);

  filters::OutlierSpec spec_;
  absl::flat_hash_map<net::Address, Instance> instances_;
  int64_t next_interval_ns_ = 0;
  std::vector<Change> changes_;
  bool dirty_ = false;
  uint64_t ejections_[kReasons] = {};
};

}  // namespace icaht::admin
