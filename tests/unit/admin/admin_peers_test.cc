#include "admin/admin_peers.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace icaht::admin {
namespace admin_peers_test {

TEST(AdminPeerPolicyTest, WhoMayUseTheAdminSocket) {
  AdminPeerPolicy policy{
      .daemon_uid = 100, .daemon_gid = 200, .allow_uids = {300}, .allow_gids = {400}};
  policy.admin_group = 500;
  EXPECT_TRUE(policy.Allows(0, 9, {}));        // root
  EXPECT_TRUE(policy.Allows(100, 9, {}));      // the daemon's user
  EXPECT_TRUE(policy.Allows(300, 9, {}));      // --admin-allow-uid
  EXPECT_TRUE(policy.Allows(9, 200, {}));      // the daemon's group
  EXPECT_TRUE(policy.Allows(9, 400, {}));      // --admin-allow-gid
  EXPECT_TRUE(policy.Allows(9, 500, {}));      // --admin-group
  EXPECT_TRUE(policy.Allows(9, 9, {7, 500}));  // ... as a supplementary group
  EXPECT_FALSE(policy.Allows(9, 9, {7, 8}));
  EXPECT_FALSE(policy.Allows(301, 401, {}));
}

TEST(AdminPeerPolicyTest, PeerGroupsOfAConnectedSocket) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  std::vector<gid_t> groups(getgroups(0, nullptr));
  getgroups(static_cast<int>(groups.size()), groups.data());
  EXPECT_EQ(PeerGroups(pair[0]), groups);  // the peer is this process
  close(pair[0]);
  close(pair[1]);
  EXPECT_TRUE(PeerGroups(-1).empty());
}

}  // namespace admin_peers_test
}  // namespace icaht::admin
