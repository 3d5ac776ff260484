#include "net/host_pattern.h"

#include <arpa/inet.h>

#include <charconv>

#include "absl/strings/ascii.h"

namespace icaht::net {
namespace {

bool IsIpLiteral(std::string_view host) {
  std::string text(host);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace

bool IsValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && host.back() != '-';
}

absl::StatusOr<HostPattern> HostPattern::Parse(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        "expected a host name, *.domain or IP literal, with an optional :PORT, got '" +
        std::string(text) + "'");
  };
  HostPattern p;
  p.text_ = std::string(text);
  std::string_view host = text;
  std::string_view port;
  if (host.starts_with('[')) {  // [v6] or [v6]:port
    size_t close = host.find(']');
    if (close == std::string_view::npos) return bad();
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && !port.starts_with(':')) return bad();
    if (!port.empty()) port.remove_prefix(1);
    if (!IsIpLiteral(host) || host.find(':') == std::string_view::npos) return bad();
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    if (host.find(':') != colon) return bad();  // a bare IPv6 literal needs brackets
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!port.empty() || text.ends_with(':')) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535) return bad();
    p.port_ = static_cast<uint16_t>(n);
  }
  if (host.starts_with("*.")) {
    p.wildcard_ = true;
    host.remove_prefix(1);  // keep the dot: ".example.com"
    if (!IsValidHostName(host.substr(1))) return bad();
  } else if (!IsIpLiteral(host) && !IsValidHostName(host)) {
    return bad();
  }
  p.host_ = absl::AsciiStrToLower(std::string(host));
  return p;
}

bool HostPattern::Matches(std::string_view host, uint16_t port) const {
  if (port_ != 0 && port != port_) return false;
  if (!wildcard_) return EqualsIgnoreCase(host, host_);
  return host.size() > host_.size() &&
         EqualsIgnoreCase(host.substr(host.size() - host_.size()), host_);
}

bool AnyMatches(const std::vector<HostPattern>& patterns, std::string_view host, uint16_t port) {
  for (const HostPattern& p : patterns) {
    if (p.Matches(host, port)) return true;
  }
  return false;
}

}  // namespace icaht::net
