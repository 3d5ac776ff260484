#pragma once
// "http://IP:PORT/path?query" for the daemon's own fetches (JWKS URLs): an IP
// address, not a name (no resolver on the control thread yet), port
// optional (80), path optional ("/").

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "net/address.h"

namespace icaht::net {

struct HttpUrl {
  Address address;
  std::string host;    // for the Host header ("127.0.0.1:8080", "[::1]:80")
  std::string target;  // "/path?query"
};

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace icaht::net
