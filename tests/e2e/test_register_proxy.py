#!/usr/bin/env python3
"""Register a service through the admin API and carry real curl traffic through its port."""

import concurrent.futures
import hashlib
import json
import os
import socket
import time

import harness
from harness import (LOOPBACK, E2ETestCase, curl, curl_many, read_response, record, url,
                     wait_closed)

SHARDS = 2


class RegisterProxyTest(E2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=SHARDS)
        self.a = self.start_upstream("a")
        self.b = self.start_upstream("b")

    def register_orders(self, upstreams=None):
        rec = self.d.register(record("orders", upstreams or [self.a.address, self.b.address]))
        return rec["port"]

    def test_register_returns_canonical_record_with_port_in_range(self):
        rec = self.d.register(record("orders", [self.a.address, {"address": self.b.address,
                                                                 "weight": 1}]))
        self.assertEqual(rec["name"], "orders")
        self.assertIsInstance(rec["port"], int)
        self.assertTrue(self.d.range_start <= rec["port"] <= self.d.range_end,
                        "port %d outside %d-%d" % (rec["port"], self.d.range_start,
                                                   self.d.range_end))
        self.assertEqual(rec["upstreams"], [{"address": self.a.address, "weight": 1},
                                            {"address": self.b.address, "weight": 1}])
        # Defaults of the canonical record (see the admin protocol).
        self.assertEqual(rec.get("version"), "")
        self.assertEqual(rec.get("route"), {"rule": "PathPrefix(`/orders`)"})
        self.assertEqual(rec.get("ttl_s"), 0)
        self.assertEqual(rec.get("timeouts"),
                         {"connect_ms": 1000, "request_ms": 15000, "idle_ms": 60000,
                          "total_ms": 0, "trust_header": False})
        self.assertEqual(rec.get("load_balancer"), "round_robin")
        self.assertEqual(rec.get("max_body_bytes"), 0)
        got = self.d.admin("GET", "/v1/services/orders")
        self.assertEqual(got.status, 200, got)
        # GET adds the daemon's view of the record: "serving" (its port is bound).
        self.assertEqual(got.json, dict(rec, serving=True))
        self.assertEqual(self.d.services(), {"services": [dict(rec, serving=True)]})
        # When register returns, the port serves (every shard acked).
        r = curl(url(rec["port"], "/orders/1"))
        self.assertEqual(r.status, 200, r)

    def test_many_fresh_connections_round_robin(self):
        port = self.register_orders()
        n = 200

        def one(i):
            return curl(url(port, "/orders/%d" % i))

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(one, range(n)))
        bad = [r for r in results if r.rc != 0 or r.status != 200]
        self.assertEqual(bad, [], "%d of %d requests failed, e.g. %r" % (len(bad), n, bad[:3]))
        self.assertTrue(all(r.num_connects == 1 for r in results))
        seen = {"a": 0, "b": 0}
        for i, r in enumerate(results):
            body = r.json
            self.assertEqual(r.headers.get("x-upstream"), body["upstream"])
            seen[body["upstream"]] += 1
        self.assertEqual(self.a.count, seen["a"])
        self.assertEqual(self.b.count, seen["b"])
        # Round robin per shard: each shard alternates, so the totals differ by <= #shards.
        self.assertLessEqual(abs(seen["a"] - seen["b"]), SHARDS,
                             "unbalanced round robin: %r" % seen)

    def test_forwarded_headers(self):
        port = self.register_orders([self.a.address])
        r = curl(url(port, "/orders/x?q=1&r=%20"),
                 headers=["Host: orders.example", "X-Custom: kept", "Accept: text/plain"])
        self.assertEqual(r.status, 200, r)
        seen = r.json
        self.assertEqual(seen["method"], "GET")
        self.assertEqual(seen["path"], "/orders/x?q=1&r=%20")
        h = seen["headers"]
        self.assertEqual(h.get("x-forwarded-for"), "127.0.0.1", h)
        self.assertEqual(h.get("x-forwarded-proto"), "http", h)
        self.assertEqual(h.get("x-forwarded-host"), "orders.example", h)
        self.assertEqual(h.get("x-custom"), "kept", h)
        self.assertEqual(h.get("accept"), "text/plain", h)
        self.assertIn("host", h)

    def test_hop_by_hop_headers_not_forwarded(self):
        port = self.register_orders([self.a.address])
        r = curl(url(port, "/orders/hop"), headers=[
            "Connection: foo", "Foo: must-not-pass", "Keep-Alive: timeout=5",
            "TE: deflate", "Proxy-Connection: keep-alive", "Bar: passes"])
        self.assertEqual(r.status, 200, r)
        h = r.json["headers"]
        self.assertNotIn("foo", h, "header named by Connection was forwarded: %r" % h)
        self.assertNotIn("keep-alive", h, h)
        self.assertNotIn("proxy-connection", h, h)
        self.assertNotIn("deflate", h.get("te", ""), "TE was forwarded: %r" % h)
        self.assertNotIn("foo", h.get("connection", "").lower(), h)
        self.assertEqual(h.get("bar"), "passes", h)

    def test_client_keep_alive(self):
        port = self.register_orders()
        urls = [url(port, "/orders/ka/%d" % i) for i in range(6)]
        rows, p = curl_many(urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([s for s, _ in rows], [200] * len(urls), rows)
        # One connection for all six: only the first transfer connected.
        self.assertEqual([c for _, c in rows], [1] + [0] * (len(urls) - 1),
                         "curl could not reuse its connection: %r" % rows)
        self.assertEqual(self.a.count + self.b.count, len(urls))

    def test_request_body_arrives_byte_exact(self):
        port = self.register_orders([self.a.address])
        for size in (1, 1000, 65536 + 7, 1024 * 1024 + 13):
            data = os.urandom(size)
            for method in ("POST", "PUT"):
                r = curl(url(port, "/orders/upload"), method=method, data=data,
                         headers=["Content-Type: application/octet-stream"])
                self.assertEqual(r.status, 200, r)
                seen = r.json
                self.assertEqual(seen["method"], method)
                self.assertEqual(seen["body_len"], size)
                self.assertEqual(seen["body_sha256"], hashlib.sha256(data).hexdigest())
                self.assertEqual(seen["headers"].get("content-length"), str(size))

    def test_chunked_request_body(self):
        port = self.register_orders([self.a.address])
        data = os.urandom(200000)
        r = curl(url(port, "/orders/chunked"), method="POST", data=data,
                 headers=["Transfer-Encoding: chunked"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["body_len"], len(data))
        self.assertEqual(r.json["body_sha256"], hashlib.sha256(data).hexdigest())

    def test_large_response_body(self):
        port = self.register_orders([self.a.address])
        for size in (0, 10, 3 * 1024 * 1024 + 1):
            r = curl(url(port, "/orders/big?size=%d" % size))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(r.body), size)
            self.assertEqual(r.body, b"x" * size)


class HttpSemanticsTest(E2ETestCase):
    """HTTP/1.1 framing through the proxy: what a client on a kept-alive connection relies on."""

    def setUp(self):
        self.d = self.start_daemon(shards=SHARDS)
        self.up = self.start_upstream("up")
        self.port = self.d.register(record("svc", [self.up.address]))["port"]

    def connect(self):
        s = socket.create_connection((LOOPBACK, self.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def exchange(self, sock, request, head_only=False):
        sock.sendall(request.encode() if isinstance(request, str) else request)
        return read_response(sock, time.monotonic() + 10, head_only=head_only)

    def get(self, path, extra=""):
        return "GET %s HTTP/1.1\r\nHost: svc\r\n%s\r\n" % (path, extra)

    def test_head_then_get_on_one_connection(self):
        r = curl(url(self.port, "/svc/h"), "--head", timeout=5)  # curl -I prints the head as body
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertIn(b"x-upstream: up", r.body.lower())
        s = self.connect()
        head = self.exchange(s, "HEAD /svc/h HTTP/1.1\r\nHost: svc\r\n\r\n", head_only=True)
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        self.assertEqual(head.rest, b"", "HEAD response carried a body")
        after = self.exchange(s, self.get("/svc/after-head"))
        self.assertEqual(after.status, 200)
        self.assertEqual(json_of(after)["path"], "/svc/after-head")

    def test_bodyless_statuses_keep_the_connection_usable(self):
        s = self.connect()
        for status in (204, 304):
            r = self.exchange(s, self.get("/svc/s?status=%d" % status))
            self.assertEqual(r.status, status)
            self.assertEqual(r.body, b"")
            self.assertEqual(r.rest, b"")
            r = self.exchange(s, self.get("/svc/next"))
            self.assertEqual(r.status, 200)
            self.assertEqual(json_of(r)["path"], "/svc/next")

    def test_chunked_response(self):
        r = curl(url(self.port, "/svc/c?chunked=1&size=300001"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"x" * 300001)
        s = self.connect()
        r = self.exchange(s, self.get("/svc/c?chunked=1&size=1000"))
        self.assertEqual((r.status, r.body), (200, b"x" * 1000))
        r = self.exchange(s, self.get("/svc/after-chunked"))
        self.assertEqual(json_of(r)["path"], "/svc/after-chunked")

    def test_pipelined_requests_answered_in_order(self):
        s = self.connect()
        s.sendall("".join(self.get("/svc/p%d" % i) for i in range(3)).encode())
        rest = b""
        deadline = time.monotonic() + 10
        for i in range(3):
            r = read_response(s, deadline, leftover=rest)
            self.assertEqual(r.status, 200)
            self.assertEqual(json_of(r)["path"], "/svc/p%d" % i)
            rest = r.rest

    def test_client_connection_close(self):
        s = self.connect()
        r = self.exchange(s, self.get("/svc/close", "Connection: close\r\n"))
        self.assertEqual(r.status, 200)
        self.assertTrue(wait_closed(s, 5), "proxy kept the connection after Connection: close")

    def test_http10_client(self):
        s = self.connect()
        r = self.exchange(s, "GET /svc/old HTTP/1.0\r\nHost: svc\r\n\r\n")
        self.assertEqual(r.status, 200)
        self.assertEqual(json_of(r)["path"], "/svc/old")
        self.assertTrue(wait_closed(s, 5), "HTTP/1.0 connection without keep-alive left open")

    def test_expect_100_continue(self):
        s = self.connect()
        body = os.urandom(5000)
        s.sendall(b"POST /svc/e HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % len(body))
        interim = read_response(s, time.monotonic() + 10, skip_interim=False)
        self.assertEqual(interim.status, 100)
        s.sendall(body)
        r = read_response(s, time.monotonic() + 10, leftover=interim.rest)
        self.assertEqual(r.status, 200)
        self.assertEqual(json_of(r)["body_sha256"], hashlib.sha256(body).hexdigest())
        # curl sends Expect itself for large bodies; here it is forced for a small one.
        data = os.urandom(100)
        r = curl(url(self.port, "/svc/e2"), data=data, headers=["Expect: 100-continue"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["body_sha256"], hashlib.sha256(data).hexdigest())

    def test_upstream_closing_its_connection(self):
        s = self.connect()
        for i in range(4):
            r = self.exchange(s, self.get("/svc/uc%d?close=1" % i))
            self.assertEqual(r.status, 200, "request %d after the upstream closed" % i)
            self.assertEqual(json_of(r)["path"], "/svc/uc%d?close=1" % i)


def json_of(raw_response):
    return json.loads(raw_response.body)


if __name__ == "__main__":
    harness.main()
