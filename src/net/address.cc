#include "net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_format.h"

namespace icaht::net {
namespace {

// Quotes user input for an error message; long input is cut so that a bad
// argument cannot blow up a log line or an admin error body.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 80;
  if (text.size() > kMax) return absl::StrFormat("'%s...'", text.substr(0, kMax));
  return absl::StrFormat("'%s'", text);
}

// Parses a decimal port. Digits only: no sign, no spaces, no hex.
bool ParsePortNumber(std::string_view text, uint32_t& port) {
  if (text.empty() || text.size() > 5) return false;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  port = value;
  return true;
}

// Fills `out` from an IP literal (no brackets, no port); false if `ip` is not
// one. "localhost" is accepted as 127.0.0.1 because users type it everywhere;
// no other name is resolved (DNS has no place on the data path).
bool ParseIpLiteral(std::string_view ip, Address& out, uint16_t port) {
  if (ip == "localhost") ip = "127.0.0.1";
  // inet_pton needs a NUL-terminated string; the longest valid literal is
  // INET6_ADDRSTRLEN - 1 characters.
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';

  sockaddr_storage storage{};
  socklen_t length = 0;
  if (ip.find(':') == std::string_view::npos) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) return false;
    sin->sin_family = AF_INET;
    length = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) return false;
    sin6->sin6_family = AF_INET6;
    length = sizeof(sockaddr_in6);
  }
  out = Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
  out.set_port(port);
  return true;
}

// Shared by Parse (port 1..65535) and ParseListen (port 0..65535).
absl::StatusOr<Address> ParseHostPort(std::string_view host_port, bool allow_port_zero) {
  if (host_port.empty()) {
    return absl::InvalidArgumentError("address is empty (expected HOST:PORT)");
  }
  std::string_view host;
  std::string_view port_text;
  if (host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("address %s: missing ']' after the IPv6 address", Quote(host_port)));
    }
    host = host_port.substr(1, close - 1);
    std::string_view rest = host_port.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return absl::InvalidArgumentError(
          absl::StrFormat("address %s: missing port (expected [IPv6]:PORT)", Quote(host_port)));
    }
    port_text = rest.substr(1);
    if (host.find(':') == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("address %s: brackets are only for IPv6 addresses", Quote(host_port)));
    }
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("address %s: missing port (expected HOST:PORT)", Quote(host_port)));
    }
    host = host_port.substr(0, colon);
    port_text = host_port.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "address %s: an IPv6 address needs brackets, e.g. [::1]:8080", Quote(host_port)));
    }
  }
  uint32_t port = 0;
  if (!ParsePortNumber(port_text, port) || port > 65535 || (port == 0 && !allow_port_zero)) {
    return absl::InvalidArgumentError(absl::StrFormat("address %s: port must be %d..65535, got %s",
                                                      Quote(host_port), allow_port_zero ? 0 : 1,
                                                      Quote(port_text)));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("address %s: missing host (expected HOST:PORT)", Quote(host_port)));
  }
  Address address;
  if (!ParseIpLiteral(host, address, static_cast<uint16_t>(port))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "address %s: %s is not an IP address (only IPv4/IPv6 literals and localhost are "
        "accepted)",
        Quote(host_port), Quote(host)));
  }
  return address;
}

}  // namespace

absl::StatusOr<Address> Address::Parse(std::string_view host_port) {
  return ParseHostPort(host_port, /*allow_port_zero=*/false);
}

absl::StatusOr<Address> Address::ParseListen(std::string_view host_port) {
  return ParseHostPort(host_port, /*allow_port_zero=*/true);
}

absl::StatusOr<Address> Address::FromIp(std::string_view ip, uint16_t port) {
  std::string_view literal = ip;
  if (literal.size() >= 2 && literal.front() == '[' && literal.back() == ']') {
    literal = literal.substr(1, literal.size() - 2);
    if (literal.find(':') == std::string_view::npos) literal = {};  // "[1.2.3.4]" is refused
  }
  Address address;
  if (!ParseIpLiteral(literal, address, port)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is not an IP address (only IPv4/IPv6 literals and localhost are accepted)", Quote(ip)));
  }
  return address;
}

Address Address::FromSockaddr(const sockaddr* sa, socklen_t len) {
  Address address;
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return address;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&address.storage_, sa, sizeof(sockaddr_in));
    address.length_ = sizeof(sockaddr_in);
  } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&address.storage_, sa, sizeof(sockaddr_in6));
    address.length_ = sizeof(sockaddr_in6);
  }
  return address;
}

uint16_t Address::port() const {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

void Address::set_port(uint16_t port) {
  switch (family()) {
    case AF_INET:
      reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
      break;
    case AF_INET6:
      reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
      break;
    default:
      break;
  }
}

std::string Address::HostString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof(buf));
      return buf;
    case AF_INET6:
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof(buf));
      return buf;
    default:
      return "";
  }
}

bool Address::IsLoopback() const {
  if (family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage_);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  return false;
}

bool Address::IsUnspecified() const {
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == INADDR_ANY;
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  }
  return false;
}

bool Address::ReachesListenerOn(const Address& bind) const {
  if (family() != bind.family() || !valid()) return false;
  if (HostString() == bind.HostString() || IsUnspecified()) return true;
  return bind.IsUnspecified() && IsLoopback();
}

std::string Address::ToString() const {
  switch (family()) {
    case AF_INET:
      return absl::StrFormat("%s:%d", HostString(), port());
    case AF_INET6:
      return absl::StrFormat("[%s]:%d", HostString(), port());
    default:
      return "(invalid address)";
  }
}

bool operator==(const Address& a, const Address& b) {
  if (a.family() != b.family() || a.length_ != b.length_) return false;
  switch (a.family()) {
    case AF_INET: {
      const auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
      const auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
      return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    case AF_INET6: {
      const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
      const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
      return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
             std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
    }
    default:
      return true;  // two invalid addresses
  }
}

}  // namespace icaht::net
