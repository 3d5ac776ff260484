#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace icaht::net {

// An IPv4 or IPv6 socket address. Value type; cheap to copy.
class Address {
 public:
  Address() = default;

  // Parses "1.2.3.4:80", "[::1]:80" or "localhost:80" (-> 127.0.0.1). Host
  // names other than localhost are refused: the data path never resolves.
  static absl::StatusOr<Address> Parse(std::string_view host_port);
  // Like Parse, but also accepts port 0 ("let the kernel pick"), for listen
  // addresses in tests that must not depend on a fixed port.
  static absl::StatusOr<Address> ParseListen(std::string_view host_port);
  // Parses an IP literal without port ("127.0.0.1", "::1", "[::1]", or
  // "localhost" -> 127.0.0.1) and sets `port`.
  static absl::StatusOr<Address> FromIp(std::string_view ip, uint16_t port);
  static Address FromSockaddr(const sockaddr* sa, socklen_t len);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return storage_.sa.sa_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  bool valid() const { return length_ != 0; }

  std::string HostString() const;  // "127.0.0.1" or "::1" (no brackets)
  bool IsLoopback() const;         // 127.0.0.0/8 or ::1
  bool IsUnspecified() const;      // 0.0.0.0 or ::
  // Whether a connect to this address reaches a listener bound to `bind`
  // (same family; ports ignored): the same IP, 0.0.0.0 / :: (Linux connects
  // those to loopback), or a loopback IP when `bind` is unspecified.
  bool ReachesListenerOn(const Address& bind) const;
  std::string ToString() const;  // "127.0.0.1:80" or "[::1]:80"

  friend bool operator==(const Address& a, const Address& b);
  // Hashable (absl containers) without formatting: the data path keys its
  // upstream pool by address.
  template <typename H>
  friend H AbslHashValue(H h, const Address& a) {
    if (a.family() == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage_);
      return H::combine(std::move(h), in->sin_addr.s_addr, in->sin_port);
    }
    if (a.family() == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
      return H::combine(H::combine_contiguous(std::move(h), in6->sin6_addr.s6_addr, 16),
                        in6->sin6_port);
    }
    return H::combine(std::move(h), a.family());
  }

 private:
  // IPv4 or IPv6 only: 28 bytes, not sockaddr_storage's 128 (an address is
  // held by every service config and instance, per shard).
  // The largest member first: `{}` zeroes all of it.
  union Storage {
    sockaddr_in6 in6;
    sockaddr_in in;
    sockaddr sa;
  } storage_{};
  socklen_t length_ = 0;
};

}  // namespace icaht::net
