#pragma once
// Service port allocation (DESIGN.md: "--port-range A-B", record field "port").

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace icaht::registry {

// Hands out listening ports to services and remembers which service holds
// each. Owned by the control thread; not thread-safe.
//
// The allocator knows only its own holdings. Whether another process uses a
// port is asked through `probe`, which returns true if `port` is free on the
// host (the daemon passes a function that tries to bind it; tests pass a
// fake). A probe is a snapshot: a port can be taken between the probe and the
// real bind, and the caller reports that bind error as it happens.
class PortAllocator {
 public:
  using Probe = std::function<bool(uint16_t port)>;

  // Ports [lo, hi] form the range used for automatic allocation;
  // requires 1 <= lo <= hi (the config loader guarantees it).
  PortAllocator(uint16_t lo, uint16_t hi, Probe probe);

  // Reserves a port for the service `holder` and returns it.
  //  - requested == 0: the lowest port of the range that is not held and that
  //    the probe accepts (ports the probe rejects are skipped);
  //    ResourceExhausted("no free port in 7001-7999") if there is none.
  //  - requested != 0: exactly that port, which may lie outside the range;
  //    AlreadyExists("port 7005 is already used by service 'x'") if held,
  //    AlreadyExists("port 7005 is in use by another process") if the probe
  //    rejects it.
  // On error nothing changes.
  absl::StatusOr<uint16_t> Allocate(uint16_t requested, std::string_view holder);

  // Frees `port`. Releasing a port that is not held is a no-op.
  void Release(uint16_t port);

  // The service holding `port`, if any.
  std::optional<std::string> Holder(uint16_t port) const;
  bool IsHeld(uint16_t port) const { return holders_.contains(port); }
  size_t held_count() const { return holders_.size(); }

  uint16_t lo() const { return lo_; }
  uint16_t hi() const { return hi_; }

 private:
  uint16_t lo_;
  uint16_t hi_;
  Probe probe_;
  absl::flat_hash_map<uint16_t, std::string> holders_;
};

}  // namespace icaht::registry
