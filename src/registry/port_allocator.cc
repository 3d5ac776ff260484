#include "registry/port_allocator.h"

#include <cassert>
#include <utility>

#include "absl/strings/str_format.h"

namespace icaht::registry {

PortAllocator::PortAllocator(uint16_t lo, uint16_t hi, Probe probe)
    : lo_(lo), hi_(hi), probe_(std::move(probe)) {
  assert(lo_ >= 1 && lo_ <= hi_);
}

absl::StatusOr<uint16_t> PortAllocator::Allocate(uint16_t requested, std::string_view holder) {
  if (requested != 0) {
    if (auto it = holders_.find(requested); it != holders_.end()) {
      return absl::AlreadyExistsError(
          absl::StrFormat("port %d is already used by service '%s'", requested, it->second));
    }
    if (probe_ && !probe_(requested)) {
      return absl::AlreadyExistsError(
          absl::StrFormat("port %d is in use by another process", requested));
    }
    holders_.emplace(requested, std::string(holder));
    return requested;
  }
  // Lowest free port first, so that a restart re-creates the same
  // assignment for the same registration order. The scan is at most
  // 65535 cheap steps plus one probe per candidate; registration is rare.
  for (uint32_t port = lo_; port <= hi_; ++port) {
    auto candidate = static_cast<uint16_t>(port);
    if (holders_.contains(candidate)) continue;
    if (probe_ && !probe_(candidate)) continue;
    holders_.emplace(candidate, std::string(holder));
    return candidate;
  }
  return absl::ResourceExhaustedError(absl::StrFormat("no free port in %d-%d", lo_, hi_));
}

void PortAllocator::Release(uint16_t port) { holders_.erase(port); }

std::optional<std::string> PortAllocator::Holder(uint16_t port) const {
  auto it = holders_.find(port);
  if (it == holders_.end()) return std::nullopt;
  return it->second;
}

}  // namespace icaht::registry
