#!/usr/bin/env python3
"""Who may use the admin socket (issue 11): the file is 0660 and owned by --admin-group; peers
are checked by their credentials (SO_PEERCRED) against root, the daemon's user and group,
--admin-group members (primary or supplementary), --admin-allow-uid and --admin-allow-gid;
a refused peer gets 403 and a log line; a client trickling a request a byte at a time does not
hold up another one's registration. Runs clients as other users, so it needs root."""

import grp
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time

import harness
from harness import E2ETestCase, record

NOGROUP = grp.getgrnam("nogroup").gr_gid if "nogroup" in [g.gr_name for g in grp.getgrall()] \
    else 65534

CLIENT = r"""
import http.client, json, os, socket, sys
path = sys.argv[1]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
try:
    c = C("icaht", timeout=5)
    c.request("GET", "/v1/services")
    r = c.getresponse()
    print(r.status, r.read().decode())
except PermissionError:
    print("EACCES")
"""


class AdminSecurityTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise harness.unittest.SkipTest("needs root to run clients as other users")

    def as_user(self, d, uid, gid, groups=()):
        def drop():
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
        p = subprocess.run([sys.executable, "-c", CLIENT, d.admin_socket], capture_output=True,
                           text=True, timeout=10, preexec_fn=drop)
        self.assertEqual(p.stderr, "")
        return p.stdout.strip()

    def start(self):
        d = self.start_daemon(shards=1, extra_args=(
            "--admin-group", "nogroup", "--admin-allow-uid", "12345",
            "--admin-allow-gid", "23000"))
        os.chmod(d.dir, 0o755)  # let other users reach the socket (mkdtemp made it 0700)
        return d

    def test_socket_file_and_peer_checks(self):
        d = self.start()
        st = os.stat(d.admin_socket)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, NOGROUP)
        # The file keeps strangers out; members of the admin group get in.
        self.assertEqual(self.as_user(d, 30001, 30001), "EACCES")
        self.assertTrue(self.as_user(d, 30002, NOGROUP).startswith("200 "))
        self.assertTrue(self.as_user(d, 30003, 30003, groups=[NOGROUP]).startswith("200 "))
        # With the file's mode widened by hand, the credentials still decide.
        os.chmod(d.admin_socket, 0o666)
        self.assertTrue(self.as_user(d, 12345, 12345).startswith("200 "))   # --admin-allow-uid
        self.assertTrue(self.as_user(d, 30004, 23000).startswith("200 "))   # --admin-allow-gid
        refused = self.as_user(d, 30005, 30005)
        self.assertTrue(refused.startswith("403 "), refused)
        self.assertIn("may not use the admin socket", json.loads(refused[4:])["error"]["message"])
        harness.wait_until(lambda: "admin socket: refused uid 30005" in d.stderr(), 5,
                           what="the refusal logged")

    def test_trickling_client_does_not_block_a_registration(self):
        d = self.start()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.admin_socket)
        self.addCleanup(s.close)
        stop = threading.Event()

        def trickle():
            for ch in b"POST /v1/services HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000:
                if stop.wait(0.2):
                    return
                try:
                    s.sendall(bytes([ch]))
                except OSError:
                    return
        t = threading.Thread(target=trickle)
        t.start()
        self.addCleanup(t.join, 5)
        self.addCleanup(stop.set)
        t0 = time.monotonic()
        r = d.register(record("quick", ["127.0.0.1:9"]))
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(r["name"], "quick")


if __name__ == "__main__":
    harness.main()
