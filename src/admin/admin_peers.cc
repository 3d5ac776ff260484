#include "admin/admin_peers.h"

#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <sstream>

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

std::vector<gid_t> SupplementaryGroups(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  std::vector<gid_t> groups;
  while (std::getline(status, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream in(line.substr(7));
    unsigned long g;
    while (in >> g) groups.push_back(static_cast<gid_t>(g));
    break;
  }
  return groups;
}

std::string CheckAdminPeer(int fd, const AdminPeerPolicy& policy) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return "no peer credentials";
  // Supplementary groups are looked up only when the cheap checks refuse.
  if (policy.Allows(cred.uid, cred.gid, {})) return "";
  if (cred.pid > 0 && policy.Allows(cred.uid, cred.gid, SupplementaryGroups(cred.pid))) return "";
  return absl::StrCat("uid ", cred.uid, " (gid ", cred.gid, ", pid ", cred.pid,
                      ") may not use the admin socket (see --admin-group, --admin-allow-uid, "
                      "--admin-allow-gid)");
}

}  // namespace icaht::admin
