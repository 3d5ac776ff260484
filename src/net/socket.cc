#include "net/socket.h"

#include <fcntl.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_bytes_acked (glibc's is older)
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace icaht::net {

void Fd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

static absl::Status Errno(const std::string& what, int err) {
  std::string message = absl::StrCat(what, ": ", strerror(err));
  if (err == EADDRINUSE) return absl::AlreadyExistsError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<Fd> ListenTcp(const Address& address, const ListenOptions& options) {
  Fd fd(socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Errno("socket", errno);
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (options.reuse_port) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (address.family() == AF_INET6)
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd.get(), address.sockaddr_ptr(), address.length()) < 0) {
    return Errno(absl::StrCat("bind ", address.ToString()), errno);
  }
  if (listen(fd.get(), options.backlog) < 0) {
    return Errno(absl::StrCat("listen ", address.ToString()), errno);
  }
  return fd;
}

absl::StatusOr<uint16_t> LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return Errno("getsockname", errno);
  }
  return Address::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
}

// Whether `pid` is a process that has not exited (a zombie has: its sockets
// are closing).
static bool ProcessAlive(pid_t pid) {
  FILE* file = std::fopen(absl::StrCat("/proc/", pid, "/stat").c_str(), "r");
  if (file == nullptr) return false;
  char buf[512];
  size_t n = std::fread(buf, 1, sizeof buf - 1, file);
  std::fclose(file);
  buf[n] = '\0';
  // "pid (comm) S ...": the state follows the last ')'.
  const char* paren = strrchr(buf, ')');
  if (paren == nullptr || paren[1] == '\0') return true;
  char state = paren[2];
  return state != 'Z' && state != 'X' && state != 'x';
}

absl::StatusOr<Fd> ListenUnix(const std::string& path, unsigned mode, int gid) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("admin socket path too long: ", path));
  }
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return absl::UnavailableError(absl::StrCat("mkdir ", parent.string(), ": ", ec.message()));
    chmod(parent.c_str(), 0750);
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Errno("socket", errno);
  // A socket file left by a crashed run is replaced. One a live process
  // listens on is not: a connect that succeeds is not proof enough, since a
  // killed daemon's socket can go on accepting for a few milliseconds while
  // the kernel tears down its io_uring, so the listener's pid is asked
  // (SO_PEERCRED) and counts only while that process is alive.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(absl::StrCat(path, " exists and is not a socket"));
    }
    Fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      ucred cred{};
      socklen_t len = sizeof cred;
      bool known = getsockopt(probe.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
                   cred.pid > 0;  // 0: the listener is in another pid namespace
      if (!known || ProcessAlive(cred.pid)) {
        return absl::AlreadyExistsError(absl::StrCat(
            path, " is in use", known ? absl::StrCat(" by pid ", cred.pid) : std::string(),
            ": is another icaht-sidecar running?"));
      }
    }
    unlink(path.c_str());
  }
  // bind creates the file with the umask applied: make that the mode wanted
  // (start-up, before any other thread creates files).
  mode_t old_umask = umask(~mode & 0777);
  int bound = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  umask(old_umask);
  if (bound < 0) return Errno(absl::StrCat("bind ", path), bind_errno);
  chmod(path.c_str(), mode);  // the umask may only have narrowed it
  if (gid >= 0 && chown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(gid)) < 0) {
    int err = errno;
    unlink(path.c_str());
    return Errno(absl::StrCat("chown ", path, " to group ", gid), err);
  }
  if (listen(fd.get(), 128) < 0) return Errno(absl::StrCat("listen ", path), errno);
  return fd;
}

absl::StatusOr<Fd> NewTcpSocket(int family) {
  Fd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Errno("socket", errno);
  return fd;
}

bool GetTcpSendState(int fd, TcpSendState* state) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  state->bytes_acked = info.tcpi_bytes_acked;
  state->pending = info.tcpi_unacked > 0 || info.tcpi_notsent_bytes > 0;
  return true;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace icaht::net
