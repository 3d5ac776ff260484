#pragma once
// Socket set-up helpers (control plane and shard set-up; not the data path).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "net/address.h"

namespace icaht::net {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

struct ListenOptions {
  bool reuse_port = false;  // SO_REUSEPORT: one listener per shard on the same port
  int backlog = 4096;
};

// A non-blocking TCP listening socket bound to `address`.
absl::StatusOr<Fd> ListenTcp(const Address& address, const ListenOptions& options);

// The port a bound socket got (for port 0 binds).
absl::StatusOr<uint16_t> LocalPort(int fd);

// A Unix-domain stream listener at `path` with `mode` (e.g. 0660). Replaces a
// stale socket file (nobody listens, or its listener's process has exited);
// AlreadyExists("PATH is in use by pid N: ...") when a live process listens
// on it. Creates the parent directory (0750) if missing.
// `mode` is the socket file's from the start (the umask is set around the
// bind, so it is never wider, even for an instant); `gid` >= 0 chowns it to
// that group (which the daemon's user must belong to, or be root).
absl::StatusOr<Fd> ListenUnix(const std::string& path, unsigned mode, int gid = -1);

// A non-blocking TCP socket for an outbound connection to `family`.
absl::StatusOr<Fd> NewTcpSocket(int family);

void SetNoDelay(int fd);

// What the kernel knows of a TCP socket's sending side (TCP_INFO): bytes the
// peer has acknowledged over the connection's life, and whether sent bytes
// still wait to be sent or acknowledged. For telling a peer that reads
// slowly (acked grows) from one that stopped. Not for the per-request path.
struct TcpSendState {
  uint64_t bytes_acked = 0;
  bool pending = false;
};
bool GetTcpSendState(int fd, TcpSendState* state);

}  // namespace icaht::net
