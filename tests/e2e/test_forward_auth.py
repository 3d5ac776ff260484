#!/usr/bin/env python3
"""Forward auth (auth.forward) through the real daemon with 2 shards, against a small auth
service on loopback: a 2xx lets the request through with the configured answer fields copied
upstream (and the client's own fields of those names removed); any other answer goes back to
the client as the auth service gave it; a refused connect or a silent auth service fails closed
with 503; public endpoints are not checked; requests waiting for the auth service block neither
their shard nor other services on it; bad forward-auth fields are refused naming the field."""

import json
import threading
import time

import harness
from harness import ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream
from http_wire import PEER_WAIT, read_response
from peers import RefusingPort

DENY_BODY = b'{"error":"who are you"}'


class AuthService(HttpUpstream):
    """Decides by the first segment of X-Forwarded-Uri:
      /deny/...   401 with a JSON body and a WWW-Authenticate challenge
      /login/...  302 to the identity provider, with a Set-Cookie
      /hang/...   never answers (closes when the service stops)
      /slow/...   answers 200 once `gate` is set
      otherwise   200 with X-User-Id: alice (and X-Secret, never copied) when the request
                  carries "Authorization: Bearer good", else 401
    """

    def __init__(self):
        self.gate = threading.Event()
        super().__init__("auth", handler=self._decide)

    def asked(self, uri):
        """The requests the service got for the client target `uri`."""
        with self._lock:
            return [r for r in self.requests if r.headers.get("X-Forwarded-Uri") == uri]

    def _decide(self, conn, req):
        first = req.headers.get("X-Forwarded-Uri", "").split("/")[1:2]
        first = first[0] if first else ""
        if first == "deny":
            conn.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                      b"WWW-Authenticate: Bearer realm=\"shop\"\r\nX-Secret: s\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(DENY_BODY), DENY_BODY))
        elif first == "login":
            conn.send(b"HTTP/1.1 302 Found\r\nLocation: https://id.example/login?next=%2Flogin\r\n"
                      b"Set-Cookie: state=xyz; HttpOnly\r\nContent-Length: 0\r\n\r\n")
        elif first == "hang":
            conn.wait(PEER_WAIT)
        else:
            if first == "slow":
                self.gate.wait(PEER_WAIT)
            if req.headers.get("Authorization") == "Bearer good":
                conn.send(b"HTTP/1.1 200 OK\r\nX-User-Id: alice\r\nX-Secret: s\r\n"
                          b"Content-Length: 0\r\n\r\n")
            else:
                conn.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        return False


class ForwardAuthTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.up = cls.class_upstream(HttpUpstream, "up")
        cls.auth = cls.class_upstream(AuthService)
        cls.refusing = RefusingPort()
        cls.addClassCleanup(cls.refusing.close)

        def forward(address, timeout_ms):
            return {"forward": {"address": address, "path": "/check", "timeout_ms": timeout_ms,
                                "copy_response_headers": ["X-User-Id"]}}
        # Generous where the service answers (sanitizer builds are slow); 200 ms where the
        # test waits for the timeout itself.
        cls.port = cls.d.register(record(
            "fa", [cls.up.address], auth=forward(cls.auth.address, 10000),
            endpoints=[{"path_prefix": "/pub", "public": True}]))["port"]
        cls.fast_port = cls.d.register(record(
            "fa-fast", [cls.up.address], auth=forward(cls.auth.address, 200)))["port"]
        cls.down_port = cls.d.register(record(
            "fa-down", [cls.up.address], auth=forward(cls.refusing.address, 2000)))["port"]
        cls.plain_port = cls.d.register(record("plain", [cls.up.address]))["port"]

    def send(self, target, headers=(), port=None, method=b"GET"):
        s, reader = self.connect(port or self.port, timeout=20)
        head = b"%s %s HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n" % (method, target)
        for name, value in headers:
            head += b"%s: %s\r\n" % (name.encode(), value.encode())
        s.sendall(head + b"\r\n")
        return read_response(reader, method=method.decode())

    def upstream_got(self, target):
        return [r for r in self.up.snapshot()[0] if r.target == target]

    def auth_failures(self, service, reason):
        """icaht_auth_failures_total{service, reason} as the ops listener reports it."""
        status, body = ops_get(self.d.ops_port, "/metrics", timeout=5)
        self.assertEqual(status, 200)
        key = ("icaht_auth_failures_total",
               frozenset({("service", service), ("reason", reason)}))
        return parse_metrics(body.decode()).get(key, 0)

    def test_allowed_request_reaches_upstream_with_the_copied_field(self):
        r = self.send(b"/orders/1?q=2", [("Authorization", "Bearer good"),
                                         ("X-User-Id", "mallory"), ("X-Other", "kept")])
        self.assertEqual(r.status, 200, r)
        got = [(k.lower(), v) for k, v in r.json["header_list"]]
        self.assertEqual([v for k, v in got if k == "x-user-id"], ["alice"])
        self.assertIn(("x-other", "kept"), got)
        self.assertNotIn("x-secret", dict(got))
        # What the auth service was asked.
        asked = self.auth.asked("/orders/1?q=2")
        self.assertEqual(len(asked), 1)
        a = asked[0]
        self.assertEqual((a.method, a.target), ("GET", "/check"))
        self.assertEqual(a.headers.get("X-Forwarded-Method"), "GET")
        self.assertEqual(a.headers.get("X-Forwarded-Host"), "shop.example")
        self.assertEqual(a.headers.get("X-Forwarded-Proto"), "http")
        self.assertEqual(a.headers.get("X-Forwarded-For"), "127.0.0.1")
        self.assertEqual(a.headers.get("Authorization"), "Bearer good")
        self.assertEqual(a.headers.get("Connection"), "close")
        self.assertIsNone(a.headers.get("X-Other"))  # not in copy_request_headers
        self.assertIsNone(a.headers.get("X-User-Id"))

    def test_the_method_is_forwarded(self):
        r = self.send(b"/orders/post", [("Authorization", "Bearer good"),
                                        ("Content-Length", "0")], method=b"POST")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.auth.asked("/orders/post")[0].headers.get("X-Forwarded-Method"),
                         "POST")

    def test_refusal_is_returned_as_answered_and_the_upstream_not_reached(self):
        r = self.send(b"/deny/1", [("Authorization", "Bearer good")])
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.body, DENY_BODY)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")
        self.assertEqual(r.headers.get("WWW-Authenticate"), 'Bearer realm="shop"')
        self.assertIsNone(r.headers.get("X-Secret"))
        self.assertEqual(len(self.auth.asked("/deny/1")), 1)
        self.assertEqual(self.upstream_got("/deny/1"), [])
        wait_until(lambda: self.auth_failures("fa", "forward_denied") >= 1, 10,
                   what="the refusal counted")
        # No credentials: the auth service's bare 401.
        r = self.send(b"/orders/anonymous")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(self.upstream_got("/orders/anonymous"), [])

    def test_redirect_keeps_its_location_and_cookie(self):
        r = self.send(b"/login/x")
        self.assertEqual(r.status, 302, r)
        self.assertEqual(r.headers.get("Location"), "https://id.example/login?next=%2Flogin")
        self.assertEqual(r.headers.get("Set-Cookie"), "state=xyz; HttpOnly")
        self.assertEqual(self.upstream_got("/login/x"), [])

    def test_auth_service_down_fails_closed(self):
        r = self.send(b"/orders/down", [("Authorization", "Bearer good")], port=self.down_port)
        self.assertEqual(r.status, 503, r)
        self.assertEqual(self.upstream_got("/orders/down"), [])
        wait_until(lambda: "forward auth to %s failed" % self.refusing.address in self.d.stderr(),
                   10, what="the failure logged")
        before = self.auth_failures("fa-down", "forward_unavailable")
        self.assertGreaterEqual(before, 1)
        self.assertEqual(self.send(b"/orders/down2", port=self.down_port).status, 503)
        wait_until(lambda: self.auth_failures("fa-down", "forward_unavailable") == before + 1, 10,
                   what="the failure counted")

    def test_silent_auth_service_fails_closed_after_timeout_ms(self):
        start = time.monotonic()
        r = self.send(b"/hang/1", [("Authorization", "Bearer good")], port=self.fast_port)
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 503, r)
        self.assertGreaterEqual(elapsed, 0.2)
        self.assertLess(elapsed, 5.0)
        self.assertEqual(len(self.auth.asked("/hang/1")), 1)
        self.assertEqual(self.upstream_got("/hang/1"), [])

    def test_public_endpoint_skips_the_auth_service(self):
        r = self.send(b"/pub/page", [("X-User-Id", "mallory")])
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("x-user-id", {k.lower() for k, _ in r.json["header_list"]})
        self.assertEqual(self.auth.asked("/pub/page"), [])

    def test_waiting_requests_block_neither_the_shard_nor_other_services(self):
        n = 16
        results = [None] * n

        def slow(i):
            try:
                results[i] = self.send(b"/slow/%d" % i, [("Authorization", "Bearer good")])
            except Exception as exc:  # noqa: BLE001 - reported below
                results[i] = exc
        threads = [threading.Thread(target=slow, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: all(self.auth.asked("/slow/%d" % i) for i in range(n)), 20,
                       what="every slow request at the auth service")
            # Both shards hold waiting exchanges now; new connections land on either.
            for i in range(8):
                r = self.send(b"/plain/%d" % i, port=self.plain_port)
                self.assertEqual(r.status, 200, r)
                r = self.send(b"/orders/fast/%d" % i, [("Authorization", "Bearer good")])
                self.assertEqual(r.status, 200, r)
            self.assertTrue(all(r is None for r in results), "a slow request was answered")
        finally:
            self.auth.gate.set()
            for t in threads:
                t.join(PEER_WAIT)
        for i, r in enumerate(results):
            self.assertNotIsInstance(r, Exception, "request %d" % i)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(len(self.upstream_got("/slow/%d" % i)), 1)

    def test_bad_forward_auth_fields_are_refused_naming_the_field(self):
        cases = [
            ({"address": "nope:1"}, "auth.forward.address"),
            ({"path": "/x"}, "auth.forward.address': required"),
            ({"address": self.auth.address, "path": "no-slash"}, "auth.forward.path"),
            ({"address": self.auth.address, "timeout_ms": 0}, "auth.forward.timeout_ms"),
            ({"address": self.auth.address, "copy_response_headers": ["Content-Length"]},
             "auth.forward.copy_response_headers[0]"),
            ({"address": self.auth.address, "copy_request_headers": ["Authorization", "Host"]},
             "auth.forward.copy_request_headers[1]"),
            ({"address": self.auth.address, "copy_request_headers": ["X-Forwarded-For"]},
             "auth.forward.copy_request_headers[0]"),
            # The daemon's own service port: every check would need a check.
            ({"address": "127.0.0.1:%d" % self.plain_port}, "auth.forward.address"),
        ]
        for forward, field in cases:
            with self.subTest(field=field, forward=forward):
                r = self.d.admin("POST", "/v1/services",
                                 record("bad-fa", [self.up.address], auth={"forward": forward}))
                self.assertApiError(r, 400, "invalid_argument", field)
        self.assertEqual(self.d.admin("GET", "/v1/services/bad-fa").status, 404)

    def test_record_spells_out_the_defaults(self):
        r = self.d.admin("GET", "/v1/services/fa")
        self.assertEqual(r.status, 200, r)
        forward = json.loads(r.body)["auth"]["forward"]
        self.assertEqual(forward, {"address": self.auth.address, "path": "/check",
                                   "timeout_ms": 10000,
                                   "copy_request_headers": ["Authorization", "Cookie"],
                                   "copy_response_headers": ["X-User-Id"]})


if __name__ == "__main__":
    harness.main()
