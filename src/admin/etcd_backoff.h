#pragma once
// Reconnect backoff shared by the etcd clients (EtcdPublisher, EtcdWatcher):
// the first retry after a quarter second, doubling up to five seconds.

#include <cstdint>

namespace icaht::admin {

inline constexpr int64_t kNsPerS = 1'000'000'000;
inline constexpr int64_t kEtcdFirstBackoffNs = kNsPerS / 4;
inline constexpr int64_t kEtcdMaxBackoffNs = 5 * kNsPerS;

}  // namespace icaht::admin
