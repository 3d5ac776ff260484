#pragma once
// A whole HTTP response held by value: what the daemon's own small client
// (proxy::HttpClientCall) returns, also to filters that call another service
// (so it lives here, below both). Unlike the parsed heads of message.h it
// owns its bytes, so it outlives the connection that read it.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"

namespace icaht::http {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;                                          // decoded (not chunked)

  // The first field named `name` (case-insensitive), or nullptr.
  const std::string* Find(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() == name.size() && EqualsIgnoreCase(key, name)) return &value;
    }
    return nullptr;
  }
};

}  // namespace icaht::http
