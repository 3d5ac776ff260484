#include "registry/port_allocator.h"

#include <string.h>
#include <sys/socket.h>

#include <cassert>
#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "net/socket.h"

namespace icaht::registry {

PortAllocator::PortAllocator(uint16_t lo, uint16_t hi, Probe probe)
    : lo_(lo), hi_(hi), probe_(std::move(probe)) {
  assert(lo_ >= 1 && lo_ <= hi_);
}

absl::StatusOr<bool> PortAllocator::IsFree(uint16_t port, std::string_view holder) const {
  if (!probe_) return true;
  absl::StatusOr<bool> free = probe_(port);
  if (!free.ok()) {
    return absl::Status(free.status().code(),
                        absl::StrFormat("service '%s': %s", holder, free.status().message()));
  }
  return free;
}

absl::StatusOr<uint16_t> PortAllocator::Allocate(uint16_t requested, std::string_view holder,
                                                 uint16_t after, bool probe_host,
                                                 const std::function<bool(uint16_t)>& skip) {
  if (requested != 0) {
    if (auto it = holders_.find(requested); it != holders_.end()) {
      return absl::AlreadyExistsError(
          absl::StrFormat("port %d is already used by service '%s'", requested, it->second));
    }
    if (!probe_host) {
      Hold(requested, holder);
      return requested;
    }
    absl::StatusOr<bool> free = IsFree(requested, holder);
    if (!free.ok()) return free.status();
    if (!*free) {
      return absl::AlreadyExistsError(
          absl::StrFormat("port %d is in use by another process", requested));
    }
    Hold(requested, holder);
    return requested;
  }
  // Lowest free port first, so that a restart re-creates the same
  // assignment for the same registration order. The scan is at most
  // 65535 cheap steps plus one probe per candidate; registration is rare.
  uint32_t first = after < lo_ ? lo_ : uint32_t{after} + 1;
  for (uint32_t port = first; port <= hi_; ++port) {
    // A word of 64 held ports at once.
    while ((port & 63) == 0 && port + 63 <= hi_ && held_bits_[port >> 6] == ~uint64_t{0}) {
      port += 64;
    }
    if (port > hi_) break;
    auto candidate = static_cast<uint16_t>(port);
    if (((held_bits_[port >> 6] >> (port & 63)) & 1) != 0 || (skip && skip(candidate))) continue;
    absl::StatusOr<bool> free = IsFree(candidate, holder);
    if (!free.ok()) return free.status();
    if (!*free) continue;
    Hold(candidate, holder);
    return candidate;
  }
  return absl::ResourceExhaustedError(absl::StrFormat("no free port in %d-%d", lo_, hi_));
}

void PortAllocator::Hold(uint16_t port, std::string_view holder) {
  holders_.emplace(port, std::string(holder));
  held_bits_[port >> 6] |= uint64_t{1} << (port & 63);
}

void PortAllocator::Release(uint16_t port) {
  holders_.erase(port);
  held_bits_[port >> 6] &= ~(uint64_t{1} << (port & 63));
}

std::optional<std::string> PortAllocator::Holder(uint16_t port) const {
  auto it = holders_.find(port);
  if (it == holders_.end()) return std::nullopt;
  return it->second;
}

PortAllocator::Probe HostPortProbe(net::Address bind_address) {
  return [bind_address](uint16_t port) mutable -> absl::StatusOr<bool> {
    bind_address.set_port(port);
    net::Fd fd(socket(bind_address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      int err = errno;
      if (err == EMFILE) {
        return absl::UnavailableError(absl::StrFormat(
            "too many open files (EMFILE) while probing port %d; raise the fd limit "
            "(LimitNOFILE, ulimit -n)",
            port));
      }
      if (err == ENFILE) {
        return absl::UnavailableError(absl::StrFormat(
            "too many open files in the system (ENFILE) while probing port %d; raise the "
            "system-wide fd limit (sysctl fs.file-max)",
            port));
      }
      return absl::UnavailableError(
          absl::StrFormat("socket() failed while probing port %d: %s", port, strerror(err)));
    }
    int one = 1;
    // SO_REUSEADDR so that TIME_WAIT leftovers of our own earlier listeners do
    // not count as "taken"; without SO_REUSEPORT a live listener still does.
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    return bind(fd.get(), bind_address.sockaddr_ptr(), bind_address.length()) == 0;
  };
}

}  // namespace icaht::registry
