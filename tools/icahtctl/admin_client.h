#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace icaht::ctl {

struct HttpResponse {
  int status = 0;
  std::string body;  // empty for 204
};

// Speaks the admin protocol (HTTP/1.1 + JSON) over the daemon's Unix-domain socket.
// One connection per call ("Connection: close"), blocking I/O bounded by `timeout` for the
// whole exchange. Not thread-safe; meant for a short-lived command-line process.
class AdminClient {
 public:
  AdminClient(std::string socket_path, std::chrono::milliseconds timeout);

  // Sends one request and reads the whole response (by Content-Length, or to EOF without one).
  // Errors: kUnavailable when the socket cannot be connected (the message says which path and
  // suggests the daemon is not running), kDeadlineExceeded on timeout, kInternal for an I/O
  // error after connecting or a malformed response. HTTP error statuses are not errors here.
  absl::StatusOr<HttpResponse> Call(std::string_view method, std::string_view path,
                                    std::string_view body) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  std::chrono::milliseconds timeout_;
};

// The path the daemon listens on by default: $ICAHT_ADMIN_SOCKET if set, else
// $XDG_RUNTIME_DIR/icaht/admin.sock, else ./run/admin.sock.
std::string DefaultAdminSocketPath();

// Percent-encodes `value`: everything but RFC 3986 unreserved characters
// and those in `also_kept`.
std::string PercentEncode(std::string_view value, std::string_view also_kept = "");
// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
std::string EncodePathSegment(std::string_view segment);

}  // namespace icaht::ctl
