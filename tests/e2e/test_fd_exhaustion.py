#!/usr/bin/env python3
"""A daemon held at its descriptor limit stays idle and quiet (accepting pauses and retries,
repeated log lines are rate-limited), keeps descriptors for the admin socket and ops /health,
and serves again once descriptors are free."""

import os
import resource
import socket
import time

import harness
from harness import LOOPBACK, E2ETestCase, curl, ops_get, record, url, wait_until

WINDOW_S = 3.0
MAX_CPU_SHARE = 0.10
MAX_LOG_LINES = 60  # in WINDOW_S: the bound is 100 in 5 s
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU time of every thread of `pid`."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def open_fds(pid):
    return [int(fd) for fd in os.listdir("/proc/%d/fd" % pid)]


def limit_with_free_slots(pid, free):
    """The RLIMIT_NOFILE value that leaves exactly `free` descriptor numbers unused (the kernel
    hands out the lowest free number below the limit)."""
    used = set(open_fds(pid))
    limit = 0
    while limit - len([fd for fd in used if fd < limit]) < free:
        limit += 1
    return limit


class FdExhaustionTest(E2ETestCase):
    def start(self, **kwargs):
        self.d = self.start_daemon(shards=2, **kwargs)
        self.up = self.start_upstream("up")
        self.pid = self.d.proc.pid
        self.old_limit = resource.prlimit(self.pid, resource.RLIMIT_NOFILE)
        self.addCleanup(self.restore_limit)

    def register(self):
        self.port = self.d.register(record("svc", [self.up.address]))["port"]

    def restore_limit(self):
        if self.d.alive():
            resource.prlimit(self.pid, resource.RLIMIT_NOFILE, self.old_limit)

    def connect_many(self, n):
        socks = []
        for _ in range(n):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect((LOOPBACK, self.port))
            except OSError:
                s.close()
                continue
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def assert_idle_and_quiet(self):
        """Over WINDOW_S: little CPU, few log lines (the daemon is at its limit throughout)."""
        lines_before = self.d.stderr().count("\n")
        cpu_before = cpu_seconds(self.pid)
        t0 = time.monotonic()
        time.sleep(WINDOW_S)  # a measurement window, not a wait for readiness
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(self.pid) - cpu_before
        lines = self.d.stderr().count("\n") - lines_before
        self.assertLess(cpu / elapsed, MAX_CPU_SHARE,
                        "daemon used %.2fs CPU in %.1fs at its fd limit" % (cpu, elapsed))
        self.assertLess(lines, MAX_LOG_LINES, "%d log lines in %.1fs" % (lines, elapsed))

    def test_service_flood_keeps_admin_and_health_answering(self):
        # Under `ulimit -n 200`, idle connections to a service take descriptors until the shards
        # stop short of the limit; the admin socket and the ops listener still get theirs.
        limit = 200
        self.start(nofile=limit)
        self.register()
        flood = self.connect_many(400)
        self.assertGreater(len(flood), 300)
        wait_until(lambda: len(open_fds(self.pid)) > limit // 2, timeout=10,
                   what="the flood taking the daemon's descriptors")
        wait_until(lambda: "descriptors nearly exhausted" in self.d.stderr(), timeout=10,
                   what="shards stopping short of the fd limit")
        self.assert_idle_and_quiet()
        for _ in range(5):
            self.assertEqual(self.d.admin("GET", "/v1/services", timeout=5).status, 200)
            self.assertEqual(ops_get(self.d.ops_port, "/health")[0], 200)
        self.assertLess(len(open_fds(self.pid)), limit)
        # The flood ends: the service answers again.
        for s in flood:
            s.close()
        wait_until(lambda: curl(url(self.port, "/svc/after"), timeout=2).status == 200,
                   timeout=10, what="service answering after the flood")

    def test_accept_at_emfile_backs_off(self):
        # The limit drops to what is open plus room for the service's two listeners (one per
        # shard) and the admin connection that registers it; idle ops connections then take
        # the free numbers left, so every accept on the service fails with EMFILE (the shards'
        # reserve check never sees a descriptor). An armed accept keeps the limit it was armed
        # with: the service is registered after the change, the ops listener before it.
        self.start(extra_args=["--control-idle-timeout-ms", "60000"])
        limit = limit_with_free_slots(self.pid, 4)
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (limit, self.old_limit[1]))
        self.register()

        def free():
            return limit - len([fd for fd in open_fds(self.pid) if fd < limit])

        for _ in range(4):
            if free() == 0:
                break
            filler = socket.create_connection((LOOPBACK, self.d.ops_port), timeout=5)
            self.addCleanup(filler.close)
            filler.sendall(b"GET /health HTTP/1.1\r\nHost: ops\r\n\r\n")
            self.assertTrue(filler.recv(65536).startswith(b"HTTP/1.1 200 "))
        self.assertEqual(free(), 0)
        waiting = self.connect_many(20)
        wait_until(lambda: "accept on port %d failed: Too many open files" % self.port
                   in self.d.stderr(), timeout=10, what="accept failing with EMFILE")
        self.assert_idle_and_quiet()
        self.assertIn("pausing accepts", self.d.stderr())
        self.assertIn("similar lines suppressed", self.d.stderr())
        self.assertTrue(self.d.alive())
        # Descriptors come back: the connections that waited are served, and new ones too.
        self.restore_limit()
        for s in waiting[:3]:
            s.sendall(b"GET /svc/waited HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n")
        for s in waiting[:3]:
            s.settimeout(10)
            data = s.recv(65536)
            self.assertTrue(data.startswith(b"HTTP/1.1 200 ") or data == b"", data[:200])
        wait_until(lambda: curl(url(self.port, "/svc/after"), timeout=2).status == 200,
                   timeout=10, what="service answering after the limit was raised")
        self.assertEqual(self.d.admin("GET", "/v1/services").status, 200)


if __name__ == "__main__":
    harness.main()
