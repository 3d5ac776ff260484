#!/usr/bin/env python3
"""Active health checks through the real daemon (issue 9): the control thread GETs each
instance's check path; an instance failing unhealthy_threshold checks leaves the rotation on
every shard, comes back after healthy_threshold good ones, /ready follows; with every instance
out, requests get 503 at once (no connect); health.deregister_after_s deregisters a service
whose instances stay down; a refused connect counts as a failed check."""

import threading

import harness
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream, respond
from http_wire import read_response

CHECK = {"path": "/hc", "interval_ms": 100, "timeout_ms": 100, "healthy_threshold": 2,
         "unhealthy_threshold": 2}
# Verdicts take a few intervals; a loaded 2-core machine (ASan) is slow.
SETTLE_S = 10.0


class CheckedUpstream(HttpUpstream):
    """An upstream whose check path answers `self.check_status` (switchable by the test) and
    that counts checks and proxied requests apart."""

    def __init__(self, name):
        self.check_status = 200
        self.checks = 0
        self.served = 0
        self._count_lock = threading.Lock()
        super().__init__(name, handler=self._handle)

    def _handle(self, conn, req):
        if req.path == "/hc":
            with self._count_lock:
                self.checks += 1
            conn.send(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % self.check_status)
            return True
        with self._count_lock:
            self.served += 1
        return respond(conn, req)


class HealthCheckTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a = cls.class_upstream(CheckedUpstream, "a")
        cls.b = cls.class_upstream(CheckedUpstream, "b")
        cls.port = cls.d.register(record("pair", [cls.a.address, cls.b.address],
                                         health={"check": CHECK}))["port"]

    def setUp(self):
        super().setUp()
        self.a.check_status = 200
        self.b.check_status = 200
        self.addCleanup(self.wait_both_in_rotation)

    def get(self, target, port=None):
        """One request on a fresh connection (so both shards take part)."""
        s, reader = self.connect(port or self.port, timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n" % target)
        return read_response(reader)

    def served_by(self, n=16):
        """Which upstreams served n requests (by X-Upstream)."""
        seen = []
        for _ in range(n):
            r = self.get(b"/pair/x")
            self.assertEqual(r.status, 200, r)
            seen.append(r.headers.get("X-Upstream"))
        return set(seen)

    def wait_both_in_rotation(self):
        self.a.check_status = 200
        self.b.check_status = 200
        wait_until(lambda: self.served_by(8) == {"a", "b"}, SETTLE_S, interval=0.05,
                   what="both instances back in the rotation")

    def test_checks_run_on_the_check_path(self):
        before = self.a.checks
        wait_until(lambda: self.a.checks >= before + 3, SETTLE_S, what="three checks of a")
        self.assertEqual(self.served_by(8), {"a", "b"})

    def test_failing_instance_leaves_the_rotation_and_comes_back(self):
        self.b.check_status = 500
        wait_until(lambda: self.served_by(8) == {"a"}, SETTLE_S, interval=0.05,
                   what="b out of the rotation")
        # Out on every shard: many fresh connections, none reaches b.
        served = self.b.served
        self.assertEqual(self.served_by(40), {"a"})
        self.assertEqual(self.b.served, served)
        self.assertEqual(self.get(b"/ready").status, 200)  # a is still there
        self.b.check_status = 200
        self.wait_both_in_rotation()

    def test_all_unhealthy_answers_503_at_once_and_ready_fails(self):
        self.a.check_status = 503
        self.b.check_status = 404  # not in 200-399 either
        wait_until(lambda: self.get(b"/pair/x").status == 503, SETTLE_S, interval=0.05,
                   what="503 with every instance out")
        served = (self.a.served, self.b.served)
        for _ in range(10):
            r = self.get(b"/pair/x")
            self.assertEqual(r.status, 503, r)
        self.assertEqual((self.a.served, self.b.served), served, "a request reached an instance")
        self.assertEqual(self.get(b"/ready").status, 503)
        self.assertEqual(self.get(b"/health").status, 200)  # the proxy itself serves
        self.a.check_status = 200
        wait_until(lambda: self.get(b"/pair/x").status == 200, SETTLE_S, interval=0.05,
                   what="a back")
        self.assertEqual(self.get(b"/ready").status, 200)

    def test_refused_instance_is_taken_out(self):
        refused = harness.RefusingPort()
        self.addCleanup(refused.close)
        port = self.d.register(record("with-refused", [self.a.address, refused.address],
                                      health={"check": CHECK}))["port"]
        self.addCleanup(self.d.deregister, "with-refused")
        # Every request succeeds once the refused instance is out (before, a connect to it
        # may fail over or answer 502).
        wait_until(lambda: all(self.get(b"/x", port).status == 200 for _ in range(10)),
                   SETTLE_S, interval=0.05, what="refused instance out")
        for _ in range(20):
            self.assertEqual(self.get(b"/x", port).status, 200)

    def test_deregister_after_all_instances_stay_down(self):
        dead = CheckedUpstream("dead")
        self.addCleanup(dead.stop)
        dead.check_status = 500
        self.d.register(record("doomed", [dead.address],
                               health={"check": CHECK, "deregister_after_s": 1}))
        wait_until(lambda: self.d.admin("GET", "/v1/services/doomed").status == 404, SETTLE_S,
                   interval=0.1, what="doomed deregistered")
        wait_until(lambda: "deregistering" in self.d.stderr(), 5,
                   what="the deregistration logged")

    def test_record_keeps_the_check(self):
        r = self.d.admin("GET", "/v1/services/pair")
        self.assertEqual(r.status, 200)
        check = r.json["health"]["check"]
        self.assertEqual(check["path"], "/hc")
        self.assertEqual(check["interval_ms"], 100)
        self.assertEqual(check["expected_statuses"], ["200-399"])


if __name__ == "__main__":
    harness.main()
