#pragma once
// Service port allocation (DESIGN.md: "--port-range A-B", record field "port").

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "net/address.h"

namespace icaht::registry {

// Hands out listening ports to services and remembers which service holds
// each. Owned by the control thread; not thread-safe.
//
// The allocator knows only its own holdings. Whether another process uses a
// port is asked through `probe` (the daemon passes HostPortProbe; tests pass a
// fake). A probe is a snapshot: a port can be taken between the probe and the
// real bind, and the caller handles that bind error as it happens (the
// control thread retries an automatically chosen port, see Allocate's
// `after`).
class PortAllocator {
 public:
  // true: `port` is free on the host; false: another process uses it; an
  // error: the probe could not tell (e.g. it hit the fd limit). An error stops
  // Allocate, which returns it: it is not a port in use and must not be
  // reported as one.
  using Probe = std::function<absl::StatusOr<bool>(uint16_t port)>;

  // Ports [lo, hi] form the range used for automatic allocation;
  // requires 1 <= lo <= hi (the config loader guarantees it).
  PortAllocator(uint16_t lo, uint16_t hi, Probe probe);

  // Reserves a port for the service `holder` and returns it.
  //  - requested == 0: the lowest port of the range above `after` (0: the
  //    whole range) that is not held and that the probe accepts (ports the
  //    probe rejects are skipped); ResourceExhausted("no free port in
  //    7001-7999") if there is none. `after` lets a caller that could not bind
  //    the port it got go on with the next one.
  //  - requested != 0: exactly that port, which may lie outside the range;
  //    AlreadyExists("port 7005 is already used by service 'x'") if held,
  //    AlreadyExists("port 7005 is in use by another process") if the probe
  //    rejects it. `after` is ignored.
  // A probe error is returned as "service 'x': <probe message>" with the
  // probe's code. On error nothing changes.
  // With `probe_host` false a requested port is not probed: a restored
  // record keeps its saved port while another process holds it (the caller
  // binds it later). `skip` (when set) rules out ports for the automatic
  // choice before the probe, as if they were held.
  absl::StatusOr<uint16_t> Allocate(uint16_t requested, std::string_view holder, uint16_t after = 0,
                                    bool probe_host = true,
                                    const std::function<bool(uint16_t)>& skip = {});

  // Frees `port`. Releasing a port that is not held is a no-op.
  void Release(uint16_t port);

  // The service holding `port`, if any.
  std::optional<std::string> Holder(uint16_t port) const;
  bool IsHeld(uint16_t port) const { return holders_.contains(port); }
  size_t held_count() const { return holders_.size(); }

  uint16_t lo() const { return lo_; }
  uint16_t hi() const { return hi_; }

 private:
  // probe_(port), with a probe error prefixed by the service's name.
  absl::StatusOr<bool> IsFree(uint16_t port, std::string_view holder) const;

  uint16_t lo_;
  uint16_t hi_;
  Probe probe_;
  void Hold(uint16_t port, std::string_view holder);

  absl::flat_hash_map<uint16_t, std::string> holders_;
  // The same ports as bits (8 KiB): the lowest-free scan skips 64 held ports
  // per step instead of a lookup each (10,000 services held).
  std::array<uint64_t, 1024> held_bits_{};
};

// The daemon's probe: a port is free when a TCP socket bound to `bind_address`
// with that port, with SO_REUSEADDR and without SO_REUSEPORT, binds (a live
// listener or any other bound socket makes it fail; our own TIME_WAIT
// leftovers do not). When no socket can be made (EMFILE/ENFILE, the fd
// limits) it answers Unavailable naming the limit to raise. Control thread
// only: it uses a blocking socket() and bind().
PortAllocator::Probe HostPortProbe(net::Address bind_address);

}  // namespace icaht::registry
