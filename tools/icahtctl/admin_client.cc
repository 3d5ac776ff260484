#include "admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "text.h"

namespace icaht::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// Responses larger than this are not admin responses; refuse rather than grow without bound.
constexpr size_t kMaxResponseBytes = 64 << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes.
absl::Status WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("timed out");
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) return absl::InternalError(Cat("poll: ", strerror(errno)));
  }
}

struct ParsedHead {
  unsigned status = 0;
  std::optional<size_t> content_length;
  size_t body_offset = 0;
};

// Parses the status line and headers in `buf` if they are complete; nullopt when more bytes
// are needed.
absl::StatusOr<std::optional<ParsedHead>> ParseHead(std::string_view buf) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() > 64 * 1024) return absl::InternalError("response headers too large");
    return std::optional<ParsedHead>();
  }
  ParsedHead head;
  head.body_offset = end + 4;
  std::vector<std::string_view> lines;
  for (std::string_view rest = buf.substr(0, end);;) {
    size_t eol = rest.find("\r\n");
    lines.push_back(rest.substr(0, eol));
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
  }
  std::string_view status_line = lines[0];
  // "HTTP/1.1 201 Created"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
      !ParseUnsigned(status_line.substr(9, 3), &head.status) || head.status < 100 ||
      head.status > 599) {
    return absl::InternalError(Cat("malformed status line '", status_line, "'"));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = lines[i].substr(0, colon);
    std::string_view value = StripSpace(lines[i].substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      size_t n = 0;
      if (!ParseUnsigned(value, &n)) {
        return absl::InternalError(Cat("malformed Content-Length '", value, "'"));
      }
      head.content_length = n;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return absl::InternalError("unexpected Transfer-Encoding in admin response");
    }
  }
  if (head.status == 204 || head.status == 304 || head.status < 200) head.content_length = 0;
  return std::optional<ParsedHead>(head);
}

}  // namespace

AdminClient::AdminClient(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

absl::StatusOr<HttpResponse> AdminClient::Call(std::string_view method, std::string_view path,
                                               std::string_view body) const {
  const Clock::time_point deadline = Clock::now() + timeout_;
  auto cannot_connect = [&](std::string_view why) {
    return absl::UnavailableError(Cat("cannot connect to admin socket ", socket_path_, ": ", why,
                                      " (is icaht-sidecar running?)"));
  };

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.empty() || socket_path_.size() >= sizeof(addr.sun_path)) {
    return cannot_connect(socket_path_.empty() ? "empty path" : "path too long");
  }
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return cannot_connect(strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return cannot_connect(strerror(errno));
    // A full listen backlog: wait for the connection to complete.
    if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline); !s.ok()) {
      return cannot_connect("timed out");
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return cannot_connect(strerror(err));
  }

  std::string request = Cat(method, " ", path,
                            " HTTP/1.1\r\nHost: icaht\r\nUser-Agent: icahtctl\r\n"
                            "Accept: application/json\r\nConnection: close\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    Append(&request, "Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n");
  }
  Append(&request, "\r\n", body);

  auto io_error = [&](std::string_view what, int err) {
    return absl::InternalError(Cat("admin socket ", socket_path_, ": ", what, ": ", strerror(err)));
  };
  auto timed_out = [&] {
    return absl::DeadlineExceededError(
        Cat("admin socket ", socket_path_, ": no response within ", timeout_.count(), " ms"));
  };

  // Send everything; if the daemon answers early and closes (e.g. an error before it read the
  // body), stop sending and read what it said.
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd.get(), POLLOUT, deadline).ok()) return timed_out();
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      break;
    } else {
      return io_error("send", errno);
    }
  }

  std::string buf;
  std::optional<ParsedHead> head;
  char chunk[16384];
  for (;;) {
    if (!head) {
      absl::StatusOr<std::optional<ParsedHead>> parsed = ParseHead(buf);
      if (!parsed.ok()) {
        return absl::InternalError(
            Cat("admin socket ", socket_path_, ": ", parsed.status().message()));
      }
      head = *parsed;
    }
    if (head && head->content_length && buf.size() >= head->body_offset + *head->content_length) {
      break;
    }
    ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), 0);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      if (buf.size() > kMaxResponseBytes) {
        return absl::InternalError(
            Cat("admin socket ", socket_path_, ": response larger than ", kMaxResponseBytes));
      }
    } else if (n == 0) {
      if (head && !head->content_length) break;  // body delimited by close
      return absl::InternalError(Cat("admin socket ", socket_path_,
                                     ": connection closed before a complete response",
                                     buf.empty() ? " (no bytes received)" : ""));
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WaitFor(fd.get(), POLLIN, deadline).ok()) return timed_out();
    } else {
      return io_error("recv", errno);
    }
  }

  HttpResponse response;
  response.status = head->status;
  size_t body_len = head->content_length ? *head->content_length : buf.size() - head->body_offset;
  response.body = buf.substr(head->body_offset, body_len);
  return response;
}

std::string DefaultAdminSocketPath() {
  if (const char* env = std::getenv("ICAHT_ADMIN_SOCKET"); env != nullptr && *env != '\0') {
    return env;
  }
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0') {
    return Cat(xdg, "/icaht/admin.sock");
  }
  return "./run/admin.sock";
}

std::string PercentEncode(std::string_view value, std::string_view also_kept) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
        c == '.' || c == '_' || c == '~' ||
        also_kept.find(static_cast<char>(c)) != also_kept.npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string EncodePathSegment(std::string_view segment) { return PercentEncode(segment); }

}  // namespace icaht::ctl
