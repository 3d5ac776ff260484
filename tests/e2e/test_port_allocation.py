#!/usr/bin/env python3
"""Automatic port allocation under pressure: a chosen port taken by another socket between
the probe and the shards' bind is retried on the next free port (a bounded number of times),
and hitting the fd limit while probing is reported as such, not as "no free port"."""

import os
import resource

import harness
from harness import Daemon, E2ETestCase, curl, record, url


class PortTakenBeforeBindTest(E2ETestCase):
    """The race is made deterministic by port_steal_shim (LD_PRELOAD): right before the first
    shard binds a listed port (after the probe found it free), a socket without SO_REUSEPORT
    binds and listens on it, so the kernel answers the shard's bind with EADDRINUSE."""

    def start_stealing_daemon(self, steal, **kwargs):
        """A daemon whose shards find the ports steal(daemon) taken when they bind them."""
        shim = os.environ.get("ICAHT_PORT_STEAL_SHIM")
        if not shim:
            self.skipTest("ICAHT_PORT_STEAL_SHIM is not set")
        d = Daemon(**kwargs)
        self._daemons.append(d)
        self.addCleanup(self._stop_daemon, d)
        d.env["LD_PRELOAD"] = shim
        # An ASan build wants its runtime first; the shim has none to clash with.
        d.env["ASAN_OPTIONS"] = d.env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        d.env["ICAHT_STEAL_PORTS"] = ",".join(str(p) for p in steal(d))
        return d.start()

    def test_chosen_port_taken_before_bind_moves_to_the_next_port(self):
        d = self.start_stealing_daemon(lambda d: [d.range_start], shards=2, range_size=3)
        up = self.start_upstream("up")
        rec = d.register(record("a", [up.address]))
        self.assertEqual(rec["port"], d.range_start + 1)
        self.assertEqual([(s["name"], s["port"]) for s in d.services()["services"]],
                         [("a", d.range_start + 1)])
        self.assertEqual(curl(url(rec["port"], "/a")).json["upstream"], "up")
        self.assertIn("port %d was taken by another process" % d.range_start, d.stderr())
        # The thief still holds the first port: the probe now skips it.
        self.assertEqual(d.register(record("b", [up.address]))["port"], d.range_start + 2)

    def test_requested_port_taken_before_bind_is_still_refused(self):
        d = self.start_stealing_daemon(lambda d: [d.spare_ports[0]], shards=2, range_size=3)
        up = self.start_upstream("up")
        port = d.spare_ports[0]
        before = d.services()
        r = d.admin("POST", "/v1/services", record("a", [up.address], port=port))
        self.assertApiError(r, 409, "already_exists", ("%d" % port, "in use"))
        self.assertEqual(d.services(), before)
        self.assertNotIn("was taken by another process", d.stderr())
        # Nothing was reserved: the range is untouched.
        self.assertEqual(d.register(record("a", [up.address]))["port"], d.range_start)

    def test_retries_are_bounded(self):
        # The first 9 ports of a 10-port range are taken at bind time: 8 attempts, then 409.
        d = self.start_stealing_daemon(lambda d: range(d.range_start, d.range_start + 9),
                                       shards=2, range_size=10)
        up = self.start_upstream("up")
        before = d.services()
        r = d.admin("POST", "/v1/services", record("a", [up.address]))
        # The answer names the last port tried; the 7 before it were logged as retried.
        self.assertApiError(r, 409, "already_exists",
                            (":%d: Address already in use" % (d.range_start + 7),
                             "gave up after 8"))
        self.assertEqual(d.services(), before)
        for port in range(d.range_start, d.range_start + 7):
            self.assertIn("port %d was taken" % port, d.stderr())
        self.assertNotIn("port %d was taken" % (d.range_start + 7), d.stderr())
        # The next call skips the 8 ports now seen taken, loses the 9th, gets the 10th.
        self.assertEqual(d.register(record("a", [up.address]))["port"], d.range_start + 9)


class FdLimitWhileProbingTest(E2ETestCase):
    def test_fd_limit_is_reported_and_changes_nothing(self):
        # One shard: a registration costs one listener fd, the same as the probe's socket, so
        # the probe is what meets the limit (with more shards a shard's socket() may be first).
        d = self.start_daemon(shards=1, range_size=40)
        up = self.start_upstream("up")
        d.register(record("existing", [up.address]))
        pid = d.proc.pid
        fds = [int(fd) for fd in os.listdir("/proc/%d/fd" % pid)]
        # Soft and hard: the daemon raises its soft limit to the hard one at start (already done).
        old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        limit = max(max(fds) + 1, len(fds)) + 3
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, old[1]))  # soft only: raised below
        self.addCleanup(self._restore_limit, pid, old)

        registered = []
        for i in range(30):
            before = d.services()
            r = d.admin("POST", "/v1/services", record("s%d" % i, [up.address]))
            if r.status != 201:
                break
            registered.append(r.json["name"])
        else:
            self.fail("30 registrations under an fd limit of %d all succeeded" % limit)
        self.assertApiError(r, 503, "unavailable",
                            ("s%d" % i, "too many open files (EMFILE) while probing port",
                             "raise the fd limit", "LimitNOFILE"))
        self.assertEqual(d.services(), before, "registry changed after a refused call")
        self.assertTrue(d.alive())
        # Closing listeners frees fds: registering works again, and the proxies serve (a
        # proxied request needs two fds: the client's and the upstream connection).
        d.deregister(registered[-1])
        d.deregister(registered[-2])
        again = d.register(record("again", [up.address]))
        # Service traffic stops short of the limit by the control thread's reserve (a quarter
        # of so small a limit): give the proxied request that room.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit + limit // 4 + 2, old[1]))
        self.assertEqual(curl(url(again["port"], "/again")).json["upstream"], "up")

    @staticmethod
    def _restore_limit(pid, old):
        try:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        except (OSError, ValueError):
            pass  # raising the hard limit needs CAP_SYS_RESOURCE; the daemon keeps the low one


if __name__ == "__main__":
    harness.main()
