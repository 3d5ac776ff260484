#include "admin/admin_peers.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"

namespace icaht::admin {

bool AdminPeerPolicy::Allows(uid_t uid, gid_t gid, const std::vector<gid_t>& supplementary) const {
  if (uid == 0 || uid == daemon_uid) return true;
  if (std::find(allow_uids.begin(), allow_uids.end(), uid) != allow_uids.end()) return true;
  auto group_allowed = [this](gid_t g) {
    return g == daemon_gid || (admin_group && g == *admin_group) ||
           std::find(allow_gids.begin(), allow_gids.end(), g) != allow_gids.end();
  };
  return group_allowed(gid) ||
         std::any_of(supplementary.begin(), supplementary.end(), group_allowed);
}

std::vector<gid_t> PeerGroups(int fd) {
  // The peer's groups as they were when it connected (Linux 4.13+): unlike
  // /proc/PID/status, readable under ProtectProc=invisible and immune to pid
  // reuse.
  std::vector<gid_t> groups(16);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) break;
    groups.resize(len / sizeof(gid_t) + 1);
  }
  return {};
}

std::string CheckAdminPeer(int fd, const AdminPeerPolicy& policy) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return "no peer credentials";
  // Supplementary groups are looked up only when the cheap checks refuse.
  if (policy.Allows(cred.uid, cred.gid, {})) return "";
  if (policy.Allows(cred.uid, cred.gid, PeerGroups(fd))) return "";
  return absl::StrCat("uid ", cred.uid, " (gid ", cred.gid, ", pid ", cred.pid,
                      ") may not use the admin socket (see --admin-group, --admin-allow-uid, "
                      "--admin-allow-gid)");
}

}  // namespace icaht::admin
