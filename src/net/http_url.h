#pragma once
// "http://IP:PORT/path?query" (or "https://...") for the daemon's own
// fetches (JWKS URLs, exporters): an IP address, not a name (no resolver on
// the control thread yet), port optional (80, or 443 for https), path
// optional ("/"). Only callers that speak TLS accept https (allow_https).

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "net/address.h"

namespace icaht::net {

struct HttpUrl {
  Address address;
  std::string host;    // for the Host header ("127.0.0.1:8080", "[::1]:80")
  std::string target;  // "/path?query"
  bool https = false;
  std::string host_name;  // the host alone ("127.0.0.1", "::1"): what TLS verifies
};

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url, bool allow_https = false);

}  // namespace icaht::net
