#pragma once
// Who may use the admin socket. The socket file (mode 0660, owned by the
// daemon's user and its group or --admin-group) keeps others from connecting
// at all; each accepted peer is then checked by its credentials
// (SO_PEERCRED), which also holds when the file's mode was widened by hand.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace icaht::admin {

struct AdminPeerPolicy {
  uid_t daemon_uid = 0;
  gid_t daemon_gid = 0;
  std::optional<gid_t> admin_group;  // --admin-group
  std::vector<uint32_t> allow_uids;  // --admin-allow-uid
  std::vector<uint32_t> allow_gids;  // --admin-allow-gid

  // Root, the daemon's user, a listed user, or a member (primary or
  // supplementary group) of the daemon's group, the admin group or a listed
  // group.
  bool Allows(uid_t uid, gid_t gid, const std::vector<gid_t>& supplementary) const;
};

// The supplementary groups the peer of the connected socket `fd` had when it
// connected (SO_PEERGROUPS); empty when they cannot be read.
std::vector<gid_t> PeerGroups(int fd);

// "" when the peer of the accepted socket `fd` may use the admin API, else
// the reason (logged, and answered with 403).
std::string CheckAdminPeer(int fd, const AdminPeerPolicy& policy);

}  // namespace icaht::admin
