#pragma once
// Where a request on the egress listener goes, read from its head. Pure: the
// shard then looks the name up (ShardProxy::RouteEgress). Three ways to name
// the destination:
//
//   GET http://billing/invoices HTTP/1.1         absolute-form (HTTP_PROXY)
//   GET /invoices + Host: billing[.icaht][:port]  origin-form, by Host
//   GET / + target: http://billing/invoices + internal: true|false
//                                                 (the target and internal
//                                                 headers; internal defaults
//                                                 to true; both removed)
//
// A name with the configured suffix (".icaht") or from `internal: true` must
// be a registered service; `internal: false` must be an allowed external
// host; any other name is a service if one is registered under it, else an
// external host if allowed. CONNECT is refused: the listener is no tunnel.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "http/message.h"

namespace icaht::proxy {

struct EgressTarget {
  enum class Kind : uint8_t {
    kName,      // a service if registered, else an allowed external host
    kService,   // only a service (suffix form, internal: true)
    kExternal,  // only an allowed external host (internal: false)
  };
  Kind kind = Kind::kName;
  std::string host;   // lower case; for a service, its name (suffix removed)
  uint16_t port = 0;  // as written, else 80 (443 for https)
  bool https = false;
  // The origin-form target to send ("" = the request's own, already origin-form).
  std::string target;
  // The Host the upstream gets for an external host ("" = the request's own).
  std::string authority;
  bool from_target_header = false;  // the target/internal headers are removed
};

struct EgressRefusal {
  int status = 400;
  std::string_view code;  // "bad_request", "connect_refused", ...
  std::string message;
};

std::variant<EgressTarget, EgressRefusal> ReadEgressTarget(const http::RequestHead& head,
                                                           std::string_view suffix);

// {"error":{"code":"...","message":"...","destination":"..."}}
std::string EgressErrorBody(std::string_view code, std::string_view message,
                            std::string_view destination);

// The names of the routing headers (lower case).
inline constexpr std::string_view kTargetHeader = "target";
inline constexpr std::string_view kInternalHeader = "internal";

}  // namespace icaht::proxy
