#!/usr/bin/env python3
"""The response cache (issue 16, the record's `cache`) through the real daemon (1 shard, so
that every request meets the same store) to a real loopback origin that counts its requests
per path and answers each path with the headers a test gives it: a fresh hit never reaches
the origin and carries Age and X-Cache; HEAD is served from a stored GET; no-store, private,
Set-Cookie and Authorization answers are not stored; an expired entry goes to the origin
again; a stale entry with a validator is revalidated with a 304 and the client gets the
stored body; within stale-while-revalidate the stale entry answers and a background
request refreshes it; a client's conditional is answered 304 from the cache; Vary keeps variants
apart; an unsafe method invalidates its URI and Location; stale-if-error answers an origin
failure; heuristic freshness from Last-Modified (and its off switch); key_ignore_query,
key_headers and a renamed status header; only-if-cached gets 504 on a miss; a chunked answer is stored de-chunked; eviction
under the byte limit; a response above the object limit streams through whole and is not
stored; the admin purge (all, one path) and icahtctl cache purge; the metrics. On 2
shards, an unsafe method invalidates the entry in every shard's store."""

import email.utils
import hashlib
import http.client
import http.server
import socketserver
import threading
import time

import harness
from harness import LOOPBACK, admin_call, icahtctl, ops_get, parse_metrics, record
from http_peers import SharedDaemonTestCase


class _OriginHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, head_only=False):
        origin = self.server.origin
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path
        with origin.lock:
            origin.hits[path] = origin.hits.get(path, 0) + 1
            origin.seen.append((self.command, path, dict(self.headers.items())))
            route = dict(origin.routes.get(path.split("?")[0], {}))
        if route.get("delay"):
            time.sleep(route["delay"])
        status = route.get("status", 200)
        headers = dict(route.get("headers", {}))
        body = route.get("body", ("%s %s #%d\n" % (self.command, path, origin.hits[path])).encode())
        etag = headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag:
            status, body = 304, b""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status == 304:
            self.end_headers()
            return
        if route.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if not head_only:
                for i in range(0, len(body), 1000):
                    piece = body[i:i + 1000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self):
        self._answer()

    def do_HEAD(self):
        self._answer(head_only=True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Origin:
    """An origin on 127.0.0.1:0: routes[path] = {status, headers, body, chunked}; hits[path]
    counts requests (path with its query); seen lists (method, path, headers)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.routes = {}
        self.hits = {}
        self.seen = []
        self.errors = []
        self.name = "origin"
        self.server = _Server((LOOPBACK, 0), _OriginHandler)
        self.server.origin = self
        self.address = "%s:%d" % (LOOPBACK, self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def route(self, path, headers=None, **kwargs):
        with self.lock:
            self.routes[path] = dict(headers=headers or {}, **kwargs)

    def count(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def fetch(port, path, headers=None, method="GET", body=None):
    """One request on a new connection: (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


class CacheTest(SharedDaemonTestCase):
    shards = 1

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.origin = cls.class_upstream(Origin)
        cls.svc = cls.d.register(record(
            "cached", [cls.origin.address],
            cache={"max_bytes": 1 << 20, "max_object_bytes": 300 * 1024}))
        cls.port = cls.svc["port"]

    def get(self, path, headers=None, method="GET", body=None):
        return fetch(self.port, path, headers, method, body)

    def test_fresh_hit_never_reaches_the_origin(self):
        self.origin.route("/fresh", {"Cache-Control": "max-age=60", "Content-Type": "text/x-a"})
        s1, h1, b1 = self.get("/fresh")
        self.assertEqual((s1, h1.get("x-cache")), (200, "MISS"))
        s2, h2, b2 = self.get("/fresh")
        self.assertEqual((s2, h2.get("x-cache"), b2), (200, "HIT", b1))
        self.assertEqual(h2["content-type"], "text/x-a")
        self.assertEqual(h2["content-length"], str(len(b1)))
        self.assertLessEqual(int(h2["age"]), 1)
        self.assertEqual(self.origin.count("/fresh"), 1)
        # HEAD from the stored GET.
        s3, h3, b3 = self.get("/fresh", method="HEAD")
        self.assertEqual((s3, h3.get("x-cache"), b3, h3["content-length"]),
                         (200, "HIT", b"", str(len(b1))))
        self.assertEqual(self.origin.count("/fresh"), 1)
        # Another query is another entry.
        self.get("/fresh?x=1")
        self.assertEqual(self.origin.count("/fresh?x=1"), 1)

    def test_uncacheable_answers_are_not_stored(self):
        cases = {
            "/no-store": ({"Cache-Control": "max-age=60, no-store"}, {}),
            "/private": ({"Cache-Control": "private, max-age=60"}, {}),
            "/cookie": ({"Cache-Control": "max-age=60", "Set-Cookie": "a=b"}, {}),
            "/authorized": ({"Cache-Control": "max-age=60"}, {"Authorization": "Bearer x"}),
            "/no-freshness": ({}, {}),
        }
        for path, (headers, request_headers) in cases.items():
            with self.subTest(path=path):
                self.origin.route(path, headers)
                for _ in range(2):
                    status, h, _ = self.get(path, request_headers)
                    self.assertEqual((status, h.get("x-cache")), (200, "MISS"))
                self.assertEqual(self.origin.count(path), 2)
        # Authorization with public: stored.
        self.origin.route("/public", {"Cache-Control": "public, max-age=60"})
        for _ in range(2):
            self.get("/public", {"Authorization": "Bearer x"})
        self.assertEqual(self.origin.count("/public"), 1)

    def test_expired_entry_goes_to_the_origin_again(self):
        # Age equal to max-age: stale from the start, and without a validator.
        self.origin.route("/expired", {"Cache-Control": "max-age=5", "Age": "5"})
        self.get("/expired")
        status, h, _ = self.get("/expired")
        self.assertEqual((status, h.get("x-cache")), (200, "MISS"))
        self.assertEqual(self.origin.count("/expired"), 2)

    def test_stale_entry_is_revalidated_with_a_304(self):
        self.origin.route("/validated", {"Cache-Control": "max-age=0", "ETag": '"v1"',
                                         "X-Origin": "first"}, body=b"stored body\n")
        self.get("/validated")
        status, h, body = self.get("/validated")
        self.assertEqual((status, h.get("x-cache"), body), (200, "REVALIDATED", b"stored body\n"))
        self.assertEqual(h.get("x-origin"), "first")
        self.assertEqual(self.origin.count("/validated"), 2)
        with self.origin.lock:
            last = [s for s in self.origin.seen if s[1] == "/validated"][-1]
        self.assertEqual(last[2].get("If-None-Match"), '"v1"')
        # A client's own validator on the stale entry: the cache's goes upstream instead, the
        # 304 refreshes the entry, and the client's condition is judged against it.
        status, h, body = self.get("/validated", {"If-None-Match": '"v1"'})
        self.assertEqual((status, body, h.get("x-cache")), (304, b"", "REVALIDATED"))
        status, _, body = self.get("/validated", {"If-None-Match": '"old"'})
        self.assertEqual((status, body), (200, b"stored body\n"))
        with self.origin.lock:
            last = [s for s in self.origin.seen if s[1] == "/validated"][-1]
        self.assertEqual(last[2].get("If-None-Match"), '"v1"')

    def test_client_conditional_gets_a_304_from_the_cache(self):
        self.origin.route("/etag", {"Cache-Control": "max-age=60", "ETag": 'W/"e1"'})
        self.get("/etag")
        status, h, body = self.get("/etag", {"If-None-Match": '"e1"'})
        self.assertEqual((status, body, h.get("etag"), h.get("x-cache")),
                         (304, b"", 'W/"e1"', "HIT"))
        status, _, _ = self.get("/etag", {"If-None-Match": '"other"'})
        self.assertEqual(status, 200)
        self.assertEqual(self.origin.count("/etag"), 1)

    def test_vary_keeps_variants_apart(self):
        self.origin.route("/vary", {"Cache-Control": "max-age=60", "Vary": "Accept-Language"})
        _, _, fr = self.get("/vary", {"Accept-Language": "fr"})
        _, _, de = self.get("/vary", {"Accept-Language": "de"})
        self.assertEqual(self.origin.count("/vary"), 2)
        _, h, again = self.get("/vary", {"Accept-Language": "fr"})
        self.assertEqual((h.get("x-cache"), again), ("HIT", fr))
        self.assertNotEqual(fr, de)
        # Vary: * is never served from the cache.
        self.origin.route("/vary-star", {"Cache-Control": "max-age=60", "Vary": "*"})
        self.get("/vary-star")
        self.get("/vary-star")
        self.assertEqual(self.origin.count("/vary-star"), 2)

    def test_unsafe_method_invalidates_uri_and_location(self):
        for path in ("/item", "/other"):
            self.origin.route(path, {"Cache-Control": "max-age=60"})
            self.get(path)
            self.get(path)
            self.assertEqual(self.origin.count(path), 1)
        self.origin.route("/item", {"Cache-Control": "max-age=60", "Location": "/other"})
        status, _, _ = self.get("/item", method="POST", body=b"x")
        self.assertEqual(status, 200)
        self.get("/item")
        self.get("/other")
        self.assertEqual(self.origin.count("/item"), 3)  # GET, POST, GET
        self.assertEqual(self.origin.count("/other"), 2)

    def test_stale_if_error_answers_an_origin_failure(self):
        self.origin.route("/sie", {"Cache-Control": "max-age=0, stale-if-error=600"},
                          body=b"good\n")
        self.get("/sie")
        self.origin.route("/sie", {}, status=503, body=b"down\n")
        status, h, body = self.get("/sie")
        self.assertEqual((status, h.get("x-cache"), body), (200, "STALE", b"good\n"))
        self.assertEqual(self.origin.count("/sie"), 2)

    def test_stale_while_revalidate_refreshes_in_the_background(self):
        self.origin.route("/swr", {"Cache-Control": "max-age=0, stale-while-revalidate=600",
                                   "ETag": '"s1"'}, body=b"first\n")
        self.get("/swr")
        # Unchanged at the origin: a 304 in the background, the stale answer at once.
        status, h, body = self.get("/swr")
        self.assertEqual((status, h.get("x-cache"), body), (200, "STALE", b"first\n"))
        harness.wait_until(lambda: self.origin.count("/swr") == 2, 5, what="a background 304")
        with self.origin.lock:
            last = [s for s in self.origin.seen if s[1] == "/swr"][-1]
        self.assertEqual(last[2].get("If-None-Match"), '"s1"')
        # Changed: the background answer replaces the entry; the next request gets it.
        self.origin.route("/swr", {"Cache-Control": "max-age=0, stale-while-revalidate=600",
                                   "ETag": '"s2"'}, body=b"second\n")
        self.assertEqual(self.get("/swr")[2], b"first\n")

        # (That request may have found the 304's refresh still finishing, and started none:
        # each later stale answer starts one, so poll through requests, not the origin's count.)
        def refreshed():
            return self.get("/swr")[2] == b"second\n"
        harness.wait_until(refreshed, 5, what="the refreshed entry")
        self.assertGreaterEqual(self.origin.count("/swr"), 3)

    def test_heuristic_freshness_from_last_modified(self):
        # Ten days old: 10 % of that is a day of freshness (capped at max_s, default 86400).
        old = email.utils.formatdate(time.time() - 10 * 86400, usegmt=True)
        self.origin.route("/heuristic", {"Last-Modified": old})
        self.get("/heuristic")
        status, h, _ = self.get("/heuristic")
        self.assertEqual((status, h.get("x-cache")), (200, "HIT"))
        self.assertEqual(self.origin.count("/heuristic"), 1)

    def test_key_options_status_header_and_heuristic_off(self):
        opts = self.d.register(record("cached-opts", [self.origin.address], cache={
            "key_ignore_query": True, "key_headers": ["X-Tenant"],
            "status_header": "X-Icaht-Cache", "heuristic": False}))
        try:
            def get(path, headers=None):
                conn = http.client.HTTPConnection(LOOPBACK, opts["port"], timeout=10)
                try:
                    conn.request("GET", path, headers=headers or {})
                    resp = conn.getresponse()
                    return {k.lower(): v for k, v in resp.getheaders()}, resp.read()
                finally:
                    conn.close()
            self.origin.route("/opts", {"Cache-Control": "max-age=60"})
            h, first = get("/opts?page=1", {"X-Tenant": "a"})
            self.assertEqual(h.get("x-icaht-cache"), "MISS")
            self.assertNotIn("x-cache", h)
            # The query is not part of the key; the tenant is.
            h, again = get("/opts?page=2", {"X-Tenant": "a"})
            self.assertEqual((h.get("x-icaht-cache"), again), ("HIT", first))
            h, _ = get("/opts?page=1", {"X-Tenant": "b"})
            self.assertEqual(h.get("x-icaht-cache"), "MISS")
            self.assertEqual(self.origin.count("/opts?page=1"), 2)
            self.assertEqual(self.origin.count("/opts?page=2"), 0)
            # No heuristic freshness: a Last-Modified alone is not stored.
            old = email.utils.formatdate(time.time() - 10 * 86400, usegmt=True)
            self.origin.route("/opts-lm", {"Last-Modified": old})
            get("/opts-lm")
            h, _ = get("/opts-lm")
            self.assertEqual(h.get("x-icaht-cache"), "MISS")
            # A purge by path under key_ignore_query drops the entry whatever the query.
            resp = admin_call(self.d.admin_socket, "DELETE",
                              "/v1/services/cached-opts/cache?path=%2Fopts%3Fpage%3D9")
            self.assertEqual(resp.json, {"service": "cached-opts", "purged": 2})
        finally:
            self.d.deregister("cached-opts")

    def test_only_if_cached_miss_is_504(self):
        status, _, _ = self.get("/never", {"Cache-Control": "only-if-cached"})
        self.assertEqual(status, 504)
        self.assertEqual(self.origin.count("/never"), 0)

    def test_chunked_answer_is_stored_dechunked(self):
        body = bytes(range(256)) * 40
        self.origin.route("/chunked", {"Cache-Control": "max-age=60"}, body=body, chunked=True)
        self.assertEqual(self.get("/chunked")[2], body)
        status, h, again = self.get("/chunked")
        self.assertEqual((status, h.get("x-cache"), again), (200, "HIT", body))
        self.assertEqual(h["content-length"], str(len(body)))

    def test_large_object_streams_through_unstored(self):
        body = hashlib.sha256(b"seed").digest() * (2 * 1024 * 1024 // 32)  # 2 MiB
        for path, chunked in (("/large", False), ("/large-chunked", True)):
            with self.subTest(path=path):
                self.origin.route(path, {"Cache-Control": "max-age=60"}, body=body,
                                  chunked=chunked)
                for _ in range(2):
                    status, h, got = self.get(path)
                    self.assertEqual((status, h.get("x-cache")), (200, "MISS"))
                    self.assertEqual(hashlib.sha256(got).digest(),
                                     hashlib.sha256(body).digest())
                self.assertEqual(self.origin.count(path), 2)

    def test_eviction_under_the_byte_limit_and_purge(self):
        # 1 MiB in all: six 200 KiB objects do not fit, the first goes.
        paths = ["/evict%d" % i for i in range(6)]
        for p in paths:
            self.origin.route(p, {"Cache-Control": "max-age=60"}, body=b"e" * (200 * 1024))
            self.get(p)
        self.get(paths[0])
        self.assertEqual(self.origin.count(paths[0]), 2)
        self.get(paths[-1])
        self.assertEqual(self.origin.count(paths[-1]), 1)

        # Purge one path, then all.
        self.origin.route("/purge", {"Cache-Control": "max-age=60"})
        self.get("/purge")
        resp = admin_call(self.d.admin_socket, "DELETE", "/v1/services/cached/cache?path=/purge")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.json, {"service": "cached", "purged": 1})
        self.get("/purge")
        self.assertEqual(self.origin.count("/purge"), 2)
        out = icahtctl("cache", "purge", "cached", socket_path=self.d.admin_socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("purged", out.stdout)
        self.get("/purge")
        self.assertEqual(self.origin.count("/purge"), 3)
        # A path that is not origin-form, a service without a cache, an unknown one: JSON
        # errors.
        resp = admin_call(self.d.admin_socket, "DELETE", "/v1/services/cached/cache?path=purge")
        self.assertEqual((resp.status, resp.json["error"]["code"]), (400, "invalid_argument"))
        self.assertIn("origin-form", resp.json["error"]["message"])
        plain = self.d.register(record("plain", [self.origin.address]))
        self.assertEqual(plain["name"], "plain")
        resp = admin_call(self.d.admin_socket, "DELETE", "/v1/services/plain/cache")
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.json["error"]["code"], "failed_precondition")
        self.assertIn("has no cache", resp.json["error"]["message"])
        resp = admin_call(self.d.admin_socket, "DELETE", "/v1/services/nope/cache")
        self.assertEqual(resp.status, 404, resp.body)
        self.d.deregister("plain")

    def collapse(self, port, path, n):
        """n concurrent GETs of `path`: their (status, body) answers."""
        answers = [None] * n
        start = threading.Barrier(n)

        def one(i):
            start.wait()
            conn = http.client.HTTPConnection(LOOPBACK, port, timeout=20)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                answers[i] = (resp.status, resp.read())
            finally:
                conn.close()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return answers

    def test_concurrent_misses_collapse_into_one_fetch(self):
        self.origin.route("/collapse", {"Cache-Control": "max-age=60"}, body=b"one fetch\n",
                          delay=0.5)
        answers = self.collapse(self.port, "/collapse", 100)
        self.assertEqual(answers, [(200, b"one fetch\n")] * 100)
        self.assertEqual(self.origin.count("/collapse"), 1)

    def test_collapsed_wait_is_bounded(self):
        # A leader slower than collapse_timeout_ms: the others go alone after it.
        short = self.d.register(record("collapse-short", [self.origin.address],
                                       cache={"collapse_timeout_ms": 100}))
        try:
            self.origin.route("/slow", {"Cache-Control": "max-age=60"}, delay=0.6)
            started = time.monotonic()
            answers = self.collapse(short["port"], "/slow", 5)
            self.assertEqual([a[0] for a in answers], [200] * 5)
            self.assertEqual(self.origin.count("/slow"), 5)
            self.assertLess(time.monotonic() - started, 5)
        finally:
            self.d.deregister("collapse-short")

    def test_metrics_count_results_and_bytes(self):
        self.origin.route("/metered", {"Cache-Control": "max-age=60"})
        self.get("/metered")
        self.get("/metered")
        status, page = ops_get(self.d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        samples = parse_metrics(page.decode())

        def sample(name, **labels):
            return samples[(name, frozenset(dict(labels, service="cached").items()))]
        self.assertGreaterEqual(sample("icaht_cache_requests_total", result="hit"), 1)
        self.assertGreaterEqual(sample("icaht_cache_requests_total", result="miss"), 1)
        self.assertGreater(sample("icaht_cache_bytes"), 0)
        self.assertGreaterEqual(sample("icaht_cache_entries"), 1)


class CacheTwoShardsTest(SharedDaemonTestCase):
    """Each shard has its own store; an unsafe method's invalidation reaches all of them."""
    shards = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.origin = cls.class_upstream(Origin)
        cls.port = cls.d.register(record("cached2", [cls.origin.address],
                                         cache={"max_bytes": 1 << 20}))["port"]

    def test_unsafe_method_invalidates_every_shard(self):
        self.origin.route("/doc", {"Cache-Control": "max-age=600"})
        # New connections spread over both shards (SO_REUSEPORT hashing): 32 of them fill
        # both stores, one origin fetch each.
        old = {fetch(self.port, "/doc")[2] for _ in range(32)}
        self.assertEqual(self.origin.count("/doc"), 2)
        self.assertEqual(old, {b"GET /doc #1\n", b"GET /doc #2\n"})
        status, _, _ = fetch(self.port, "/doc", method="PUT", body=b"v2")
        self.assertEqual(status, 200)
        # Neither shard answers its old entry: each fetches once more.
        new = {fetch(self.port, "/doc")[2] for _ in range(32)}
        self.assertEqual(new & old, set())
        self.assertEqual(self.origin.count("/doc"), 5)  # 2 GETs, the PUT, 2 GETs


if __name__ == "__main__":
    harness.main()
