#!/usr/bin/env python3
"""Upstream failures become 502 (refused) and 504 (too slow) with a short text body."""

import time

import harness
from harness import E2ETestCase, curl, record, url

TIMEOUTS = {"connect_ms": 1000, "request_ms": 500, "idle_ms": 60000}


class UpstreamErrorsTest(E2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=2)

    def assertShortBody(self, r):
        self.assertGreater(len(r.body), 0, "error response without a body: %r" % r)
        self.assertLess(len(r.body), 1024, "error body is not short: %r" % r)
        r.body.decode("utf-8")  # text

    def test_refused_upstream_is_502(self):
        refused = self.refusing_port()
        port = self.d.register(record("down", [refused.address], timeouts=TIMEOUTS))["port"]
        for i in range(5):  # fresh connections, both shards
            t0 = time.monotonic()
            r = curl(url(port, "/down/%d" % i))
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.status, 502, r)
            self.assertShortBody(r)
            self.assertLess(time.monotonic() - t0, 5.0, "a refused connect should fail fast")

    def test_slow_upstream_is_504(self):
        slow = self.start_upstream("slow")
        port = self.d.register(record("slow", [slow.address], timeouts=TIMEOUTS))["port"]
        # Fast requests pass.
        self.assertEqual(curl(url(port, "/slow/fast")).status, 200)
        t0 = time.monotonic()
        r = curl(url(port, "/slow/late?delay_ms=3000"))
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 504, r)
        self.assertShortBody(r)
        self.assertGreaterEqual(elapsed, 0.45, "answered before request_ms passed")
        self.assertLess(elapsed, 2.5, "504 took %.2fs with request_ms=500" % elapsed)
        # The service keeps working after a timeout.
        r = curl(url(port, "/slow/after"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["upstream"], "slow")

    def test_one_refused_upstream_among_two_still_serves_or_502s(self):
        # Without retries a request routed to the dead instance is a 502; a request routed to
        # the live one is a 200. Nothing else (no hang, no 500, no reset).
        live = self.start_upstream("live")
        refused = self.refusing_port()
        port = self.d.register(record("half", [live.address, refused.address],
                                      timeouts=TIMEOUTS))["port"]
        statuses = [curl(url(port, "/half/%d" % i)).status for i in range(10)]
        self.assertTrue(set(statuses) <= {200, 502}, statuses)
        self.assertIn(200, statuses)


if __name__ == "__main__":
    harness.main()
