#!/usr/bin/env python3
"""Live update (PUT) and deregistration (DELETE) of a service."""

import socket
import threading
import time

import harness
from harness import (LOOPBACK, E2ETestCase, connect_refused, curl, curl_many, read_response,
                     record, url, wait_closed, wait_until)


class UpdateDeregisterTest(E2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=2)
        self.old = self.start_upstream("old")
        self.new = self.start_upstream("new")

    def upstreams_of(self, port, n=20):
        names = set()
        for i in range(n):
            r = curl(url(port, "/orders/%d" % i))
            self.assertEqual(r.status, 200, r)
            names.add(r.json["upstream"])
        return names

    def test_put_switches_upstreams_live_and_keeps_port(self):
        rec = self.d.register(record("orders", [self.old.address], version="1"))
        port = rec["port"]
        self.assertEqual(self.upstreams_of(port), {"old"})

        updated = dict(rec, upstreams=[self.new.address], version="2")
        r = self.d.admin("PUT", "/v1/services/orders", updated)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["port"], port)
        self.assertEqual(r.json["version"], "2")
        self.assertEqual(r.json["upstreams"], [{"address": self.new.address, "weight": 1}])
        got = self.d.admin("GET", "/v1/services/orders")
        self.assertEqual(got.json, dict(r.json, serving=True))

        before_old = self.old.count
        self.assertEqual(self.upstreams_of(port), {"new"})
        self.assertEqual(self.old.count, before_old, "old upstream still received requests")

        # Without a port in the body the port is kept too.
        no_port = {k: v for k, v in rec.items() if k != "port"}
        no_port["upstreams"] = [self.old.address, self.new.address]
        r = self.d.admin("PUT", "/v1/services/orders", no_port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["port"], port)
        self.assertEqual(self.upstreams_of(port), {"old", "new"})

    def test_put_on_kept_alive_client_connection(self):
        port = self.d.register(record("orders", [self.old.address]))["port"]
        rows, p = curl_many([url(port, "/orders/1")])
        self.assertEqual(rows, [(200, 1)], p.stderr)
        r = self.d.admin("PUT", "/v1/services/orders", record("orders", [self.new.address]))
        self.assertEqual(r.status, 200, r)
        # New requests use the new config, on new and on existing client connections.
        rows, p = curl_many([url(port, "/orders/%d" % i) for i in range(4)])
        self.assertEqual([s for s, _ in rows], [200] * 4, p.stderr)
        self.assertEqual(self.upstreams_of(port, 6), {"new"})

    def test_put_with_different_port_is_refused(self):
        rec = self.d.register(record("orders", [self.old.address]))
        before = self.d.services()
        other = rec["port"] + 1 if rec["port"] < self.d.range_end else rec["port"] - 1
        r = self.d.admin("PUT", "/v1/services/orders", dict(rec, port=other,
                                                          upstreams=[self.new.address]))
        self.assertApiError(r, 400, "invalid_argument", "port")
        self.assertEqual(self.d.services(), before)
        self.assertEqual(self.upstreams_of(rec["port"], 4), {"old"})
        self.assertTrue(connect_refused(other))

    def test_delete_frees_port(self):
        rec = self.d.register(record("orders", [self.old.address]))
        port = rec["port"]
        self.assertEqual(self.upstreams_of(port, 4), {"old"})

        r = self.d.admin("DELETE", "/v1/services/orders")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        # Deregistration returns after every shard closed its listener: refused at once,
        # on every attempt (fresh connections spread over the shards' listeners).
        for _ in range(20):
            self.assertTrue(connect_refused(port), "port %d still accepts connections" % port)
        self.assertApiError(self.d.admin("GET", "/v1/services/orders"), 404, "not_found")
        self.assertEqual(self.d.services(), {"services": []})

        # The port can be taken again explicitly, by a new registration.
        again = self.d.register(record("billing", [self.new.address], port=port))
        self.assertEqual(again["port"], port)
        self.assertEqual(self.upstreams_of(port, 4), {"new"})

        # And the old name is free again.
        rec2 = self.d.register(record("orders", [self.old.address]))
        self.assertNotEqual(rec2["port"], port)
        self.assertEqual(self.upstreams_of(rec2["port"], 2), {"old"})

    def test_delete_then_get_put_delete_are_404(self):
        self.d.register(record("orders", [self.old.address]))
        self.d.deregister("orders")
        self.assertApiError(self.d.admin("GET", "/v1/services/orders"), 404, "not_found")
        self.assertApiError(self.d.admin("PUT", "/v1/services/orders",
                                         record("orders", [self.old.address])),
                            404, "not_found")
        self.assertApiError(self.d.admin("DELETE", "/v1/services/orders"), 404, "not_found")


    def test_delete_drains_in_flight_and_closes_idle_connections(self):
        d = self.start_daemon(shards=2, drain_timeout_ms=3000, name="drain-daemon")
        slow = self.start_upstream("slow")
        port = d.register(record("orders", [slow.address]))["port"]

        # An idle kept-alive client connection...
        idle = socket.create_connection((LOOPBACK, port), timeout=10)
        self.addCleanup(idle.close)
        idle.sendall(b"GET /orders/idle HTTP/1.1\r\nHost: orders\r\n\r\n")
        self.assertEqual(read_response(idle, time.monotonic() + 10).status, 200)

        # ...and a request in flight at the upstream.
        result = {}

        def client():
            result["r"] = curl(url(port, "/orders/busy?delay_ms=1000"), timeout=15)

        t = threading.Thread(target=client)
        t.start()
        try:
            wait_until(lambda: slow.inflight >= 1, timeout=10, what="request at the upstream")
            r = d.admin("DELETE", "/v1/services/orders")
            self.assertEqual(r.status, 204, r)
            self.assertTrue(connect_refused(port), "listener still open after DELETE")
        finally:
            t.join(timeout=20)
        self.assertEqual(result["r"].status, 200, result["r"])
        self.assertEqual(result["r"].json["path"], "/orders/busy?delay_ms=1000")
        # The idle connection is closed by the drain (at the latest after drain_timeout_ms).
        self.assertTrue(wait_closed(idle, 6), "idle client connection left open after DELETE")


if __name__ == "__main__":
    harness.main()
