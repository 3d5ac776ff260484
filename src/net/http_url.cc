#include "net/http_url.h"

namespace icaht::net {

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url, bool allow_https) {
  constexpr std::string_view kScheme = "http://";
  constexpr std::string_view kTlsScheme = "https://";
  HttpUrl out;
  std::string_view rest;
  if (url.substr(0, kScheme.size()) == kScheme) {
    rest = url.substr(kScheme.size());
  } else if (allow_https && url.substr(0, kTlsScheme.size()) == kTlsScheme) {
    rest = url.substr(kTlsScheme.size());
    out.https = true;
  } else {
    return absl::InvalidArgumentError(allow_https ? "must start with http:// or https://"
                                                  : "must start with http://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  for (char c : out.target) {
    if (c <= 0x20 || c >= 0x7f || c == '#') {
      return absl::InvalidArgumentError("bad character in the path");
    }
  }
  std::string host_port(authority);
  // No port: the default one. "[v6]" and "v4" forms.
  bool has_port = !authority.empty() && authority.back() != ']' &&
                  authority.find(':') != std::string_view::npos &&
                  (authority.front() == '[' || authority.find(':') == authority.rfind(':'));
  if (!has_port) host_port += out.https ? ":443" : ":80";
  absl::StatusOr<Address> address = Address::Parse(host_port);
  if (!address.ok()) return address.status();
  out.address = *address;
  out.host = host_port;
  // The host as written (what TLS verifies): "localhost", "10.0.0.1", "::1".
  std::string_view host = std::string_view(host_port).substr(0, host_port.rfind(':'));
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  out.host_name = std::string(host);
  return out;
}

}  // namespace icaht::net
