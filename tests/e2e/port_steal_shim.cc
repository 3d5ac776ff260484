// LD_PRELOAD shim for the e2e test of automatic port allocation: makes the race
// "another process takes the port between the probe and the real bind"
// deterministic. For each port listed in ICAHT_STEAL_PORTS (comma-separated),
// the first bind() of a socket with SO_REUSEPORT to it (a shard's listener,
// which comes after the probe: the probe never sets SO_REUSEPORT) is preceded
// by a bind + listen of a "thief" socket without SO_REUSEPORT on the same
// address. The thief stays open, so the kernel itself refuses the shard's bind
// with EADDRINUSE and later probes see the port taken.
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

namespace {

using BindFn = int (*)(int, const sockaddr*, socklen_t);

std::mutex mu;  // shards bind from their own threads
std::set<int> to_steal;
bool parsed = false;

void ParseLocked() {
  if (parsed) return;
  parsed = true;
  const char* list = getenv("ICAHT_STEAL_PORTS");
  if (list == nullptr) return;
  while (*list != '\0') {
    char* end = nullptr;
    long port = strtol(list, &end, 10);
    if (end == list) break;
    if (port > 0 && port < 65536) to_steal.insert(static_cast<int>(port));
    list = *end == ',' ? end + 1 : end;
  }
}

int PortOf(const sockaddr* addr, socklen_t len) {
  if (addr == nullptr) return -1;
  if (addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port);
  }
  if (addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
  }
  return -1;
}

}  // namespace

extern "C" int bind(int fd, const sockaddr* addr, socklen_t len) {
  static BindFn real_bind = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  int port = PortOf(addr, len);
  if (port > 0) {
    int reuse_port = 0;
    socklen_t optlen = sizeof reuse_port;
    if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse_port, &optlen) == 0 && reuse_port) {
      std::lock_guard<std::mutex> lock(mu);
      ParseLocked();
      if (to_steal.erase(port) > 0) {
        // SO_REUSEADDR: TIME_WAIT leftovers of earlier tests on this port must
        // not stop the thief; as a listener it still blocks every other bind.
        int thief = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (thief < 0 || setsockopt(thief, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            real_bind(thief, addr, len) != 0 || listen(thief, 1) != 0) {
          fprintf(stderr, "port_steal_shim: could not take port %d: %s\n", port, strerror(errno));
          if (thief >= 0) close(thief);
        }
      }
    }
  }
  return real_bind(fd, addr, len);
}
