#!/usr/bin/env python3
"""Request mirroring (issue 12) through the real daemon to loopback upstreams: the mirror's
upstream gets a copy of the sampled requests (method, target, body byte for byte, Host with
-shadow, the request id as the primary got it) while the client gets the primary's answer; the
sampled share follows `percent`; a mirror that hangs or refuses neither slows nor fails the real
requests and its failures are counted; copies over the in-flight bound are dropped and copies in
flight are cancelled when the record is replaced or removed; bodies over max_body_bytes are not
copied; a retried request is copied once; bad records are refused."""

import http.client
import http.server
import math
import selectors
import socket
import threading
import time

import harness
from harness import LOOPBACK, ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from http_wire import read_request_body
from peers import RefusingPort


class Recorder:
    """A loopback HTTP/1.1 server that records every request (method, target, headers, body)
    and answers `status` with `answer` as its body."""

    def __init__(self, answer=b"primary", status=200):
        self.answer, self.status = answer, status
        self.lock = threading.Lock()
        self.requests = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                body = read_request_body(self)
                with recorder.lock:
                    recorder.requests.append({"method": self.command, "target": self.path,
                                              "headers": self.headers, "body": body})
                self.send_response(recorder.status)
                self.send_header("Content-Length", str(len(recorder.answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(recorder.answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None
        self.port = self.server.server_address[1]
        self.address = "%s:%d" % (LOOPBACK, self.port)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Hang:
    """A loopback port that accepts connections, reads what comes and never answers, until
    stop() closes everything."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(256)
        self.listener.setblocking(False)
        self.address = "%s:%d" % (LOOPBACK, self.listener.getsockname()[1])
        self.accepted = 0
        self.closed = 0  # connections the other side closed
        self.stopping = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conns = []
        while not self.stopping:
            for key, _ in self.selector.select(timeout=0.05):
                if key.fileobj is self.listener:
                    try:
                        conn, _ = self.listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    conns.append(conn)
                    self.accepted += 1
                    self.selector.register(conn, selectors.EVENT_READ)
                    continue
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.selector.unregister(key.fileobj)
                    key.fileobj.close()
                    self.closed += 1
        for conn in conns:
            conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.listener.close()


def call(port, method="GET", target="/", body=None, chunked=False, timeout=10):
    """One request on its own connection; returns (status, body)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        if chunked:
            half = len(body) // 2
            conn.request(method, target, body=iter([body[:half], body[half:]]),
                         encode_chunked=True)
        else:
            conn.request(method, target, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class MirrorTest(SharedDaemonTestCase):
    shards = 1  # the in-flight bound is per shard: one makes it exact

    def peer(self, factory, *args):
        p = factory(*args)
        self.addCleanup(p.stop if hasattr(p, "stop") else p.close)
        return p

    def register(self, name, upstreams, mirror, **fields):
        addresses = [u if isinstance(u, str) else u.address for u in upstreams]
        return self.d.register(record(name, addresses, mirror=mirror, **fields))["port"]

    def mirror_counts(self, service):
        status, body = ops_get(self.d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        samples = parse_metrics(body.decode())
        return {result: int(samples.get(("icaht_mirror_requests_total",
                                         frozenset({("service", service), ("result", result)})),
                                        0))
                for result in ("sent", "failed", "dropped", "too_large")}

    def wait_counts(self, service, **expected):
        """Polls until the mirror's counts of `service` are `expected` (the others 0)."""
        want = {"sent": 0, "failed": 0, "dropped": 0, "too_large": 0}
        want.update(expected)
        wait_until(lambda: self.mirror_counts(service) == want, 15,
                   what="mirror counts %r (have %r)" % (want, self.mirror_counts(service)))

    def test_every_request_is_copied(self):
        primary, shadow = self.peer(Recorder), self.peer(Recorder, b"mirror", 503)
        port = self.register("all", [primary], {"upstream": shadow.address, "percent": 100},
                             request_id={})
        body = bytes(range(256)) * 40 + b"tail"  # 10 KiB + 4, every byte value
        sent = [("GET", "/all/get?q=1&r=%C3%A9", None, False),
                ("POST", "/all/post", body, False),
                ("PUT", "/all/put", body[::-1], True),
                ("HEAD", "/all/head", None, False),
                ("DELETE", "/all/delete", b"", False)]
        for method, target, payload, chunked in sent:
            status, answer = call(port, method, target, payload, chunked)
            self.assertEqual(status, 200, (method, target))
            self.assertEqual(answer, b"" if method == "HEAD" else b"primary")
        wait_until(lambda: shadow.count() == len(sent), 10, what="the mirror's copies")
        self.wait_counts("all", sent=len(sent))  # a 503 from the mirror is an answer too
        copies = {r["target"]: r for r in shadow.snapshot()}
        originals = {r["target"]: r for r in primary.snapshot()}
        for method, target, payload, chunked in sent:
            copy, original = copies[target], originals[target]
            self.assertEqual(copy["method"], method)
            self.assertEqual(copy["body"], payload or b"", target)
            self.assertEqual(copy["headers"]["Host"], "%s-shadow:%d" % (LOOPBACK, port))
            self.assertEqual(original["headers"]["Host"], "%s:%d" % (LOOPBACK, port))
            self.assertEqual(copy["headers"]["Connection"], "close")
            self.assertEqual(copy["headers"]["X-Request-Id"], original["headers"]["X-Request-Id"])
            for name in ("X-Forwarded-For", "Via", "Content-Length", "Transfer-Encoding"):
                self.assertEqual(copy["headers"][name], original["headers"][name], name)
        self.assertEqual(primary.count(), len(sent))

    def test_percent_samples_that_share(self):
        primary, shadow = self.peer(Recorder), self.peer(Recorder, b"mirror")
        port = self.register("share", [primary], {"upstream": shadow.address, "percent": 30})
        n, p = 400, 0.3
        for i in range(n):
            self.assertEqual(call(port, target="/share/%d" % i)[0], 200)
        # Every sampled copy started before its request was answered; wait for their answers.
        wait_until(lambda: shadow.count() > 0 and
                   self.mirror_counts("share")["sent"] == shadow.count(), 10,
                   what="the copies' answers")
        copied = shadow.count()
        sigma = math.sqrt(n * p * (1 - p))  # 9.2: +-5 sigma cannot flake
        self.assertLessEqual(abs(copied - n * p), 5 * sigma, copied)
        self.assertEqual(primary.count(), n)
        self.assertEqual(self.mirror_counts("share")["failed"], 0)
        # The copies are of distinct requests that the primary got.
        targets = [r["target"] for r in shadow.snapshot()]
        self.assertEqual(len(set(targets)), copied)
        self.assertTrue(set(targets) <= {r["target"] for r in primary.snapshot()})

    def test_a_refusing_mirror_fails_nothing_and_is_counted(self):
        primary, refusing = self.peer(Recorder), self.peer(RefusingPort)
        port = self.register("refused", [primary], {"upstream": refusing.address})
        for i in range(20):
            self.assertEqual(call(port, "POST", "/r/%d" % i, b"body")[0], 200)
        self.wait_counts("refused", failed=20)
        self.assertEqual(primary.count(), 20)

    def test_a_hanging_mirror_does_not_slow_requests(self):
        primary, hang = self.peer(Recorder), self.peer(Hang)
        port = self.register("hang", [primary], {"upstream": hang.address, "timeout_ms": 300})
        started = time.monotonic()
        for i in range(40):  # 12 s if each waited for its copy
            self.assertEqual(call(port, "PUT", "/h/%d" % i, b"x" * 100)[0], 200)
        self.assertLess(time.monotonic() - started, 5.0)
        self.wait_counts("hang", failed=40)  # each copy's timeout_ms
        self.assertEqual(primary.count(), 40)

    def test_copies_over_the_in_flight_bound_are_dropped(self):
        primary, hang = self.peer(Recorder), self.peer(Hang)
        port = self.register("bound", [primary], {"upstream": hang.address, "timeout_ms": 10000})
        started = time.monotonic()
        for i in range(80):
            self.assertEqual(call(port, target="/b/%d" % i)[0], 200)
        self.assertLess(time.monotonic() - started, 5.0)  # far below the copies' 10 s
        self.wait_counts("bound", dropped=16)  # 64 in flight on the one shard
        wait_until(lambda: hang.accepted == 64, 10, what="64 connections to the mirror")
        self.assertEqual(hang.closed, 0)
        # The record replaced: the old config's copies are cancelled (counted failed) once its
        # last request is done, and the new config's mirror has room again.
        r = self.d.admin("PUT", "/v1/services/bound", record(
            "bound", [primary.address], mirror={"upstream": hang.address, "timeout_ms": 9000}))
        self.assertEqual(r.status, 200, r)
        wait_until(lambda: hang.closed == 64, 5, what="the old copies' connections to close")
        self.wait_counts("bound", failed=64, dropped=16)
        self.assertEqual(call(port, target="/b/after")[0], 200)
        wait_until(lambda: hang.accepted == 65, 5, what="the new config's copy")
        # Deregistered, the service's copies in flight are cancelled too.
        self.d.deregister("bound")
        wait_until(lambda: hang.closed == 65, 5, what="the last copy's connection to close")

    def test_bodies_over_the_bound_are_not_copied(self):
        primary, shadow = self.peer(Recorder), self.peer(Recorder, b"mirror")
        port = self.register("big", [primary],
                             {"upstream": shadow.address, "max_body_bytes": 1000})
        bodies = [(b"a" * 1000, False), (b"b" * 1001, False), (b"c" * 900, True),
                  (b"d" * 1500, True), (b"e" * 200_000, False)]
        for i, (body, chunked) in enumerate(bodies):
            self.assertEqual(call(port, "POST", "/big/%d" % i, body, chunked)[0], 200)
        self.wait_counts("big", sent=2, too_large=3)
        self.assertEqual(sorted(r["body"] for r in shadow.snapshot()), [b"a" * 1000, b"c" * 900])
        self.assertEqual([r["body"] for r in primary.snapshot()], [b for b, _ in bodies])

    def test_held_chunked_bodies_are_copied_whole(self):
        # With the service's max_body_bytes a chunked body is held until complete.
        primary, shadow = self.peer(Recorder), self.peer(Recorder, b"mirror")
        port = self.register("held", [primary], {"upstream": shadow.address},
                             max_body_bytes=1 << 20)
        body = bytes(range(256)) * 100
        self.assertEqual(call(port, "PUT", "/held", body, chunked=True)[0], 200)
        self.wait_counts("held", sent=1)
        self.assertEqual(shadow.snapshot()[0]["body"], body)
        self.assertEqual(primary.snapshot()[0]["body"], body)

    def test_a_retried_request_is_copied_once(self):
        bad, good = self.peer(Recorder, b"bad", 503), self.peer(Recorder)
        shadow = self.peer(Recorder, b"mirror")
        port = self.register("retried", [bad, good], {"upstream": shadow.address},
                             retries={"retry_on": ["gateway-error"]})
        for i in range(6):
            self.assertEqual(call(port, "PUT", "/t/%d" % i, b"payload %d" % i), (200, b"primary"))
        self.wait_counts("retried", sent=6)
        self.assertEqual(bad.count(), 3)  # every other first attempt, retried on `good`
        self.assertEqual(sorted(r["body"] for r in shadow.snapshot()),
                         [b"payload %d" % i for i in range(6)])

    def test_bad_mirror_records_are_refused(self):
        primary = self.peer(Recorder)
        self.register("kept", [primary], None)
        for mirror, field in [({}, "mirror.upstream"),
                              ({"upstream": "example.com:80"}, "mirror.upstream"),
                              ({"upstream": primary.address, "percent": 101}, "mirror.percent"),
                              ({"upstream": primary.address, "percent": "10"}, "mirror.percent"),
                              ({"upstream": primary.address, "max_body_bytes": 1 << 25},
                               "mirror.max_body_bytes"),
                              ({"upstream": primary.address, "timeout_ms": 0},
                               "mirror.timeout_ms"),
                              ({"upstream": primary.address, "shadow": True}, "mirror.shadow"),
                              ("127.0.0.1:1", "mirror")]:
            with self.subTest(mirror=mirror):
                before = self.d.services()
                r = self.d.admin("POST", "/v1/services",
                                 record("new", [primary.address], mirror=mirror))
                self.assertApiError(r, 400, "invalid_argument", "'%s'" % field)
                r = self.d.admin("PUT", "/v1/services/kept",
                                 record("kept", [primary.address], mirror=mirror))
                self.assertApiError(r, 400, "invalid_argument", "'%s'" % field)
                self.assertEqual(self.d.services(), before)
        # A mirror on one of the daemon's own service ports would mirror its own copies.
        kept_port = [s for s in self.d.services()["services"] if s["name"] == "kept"][0]["port"]
        r = self.d.admin("POST", "/v1/services", record(
            "new", [primary.address], mirror={"upstream": "%s:%d" % (LOOPBACK, kept_port)}))
        self.assertApiError(r, 400, "invalid_argument", "'mirror.upstream'")
        # GET spells the mirror out; null takes it away.
        self.register("spelled", [primary], {"upstream": primary.address, "percent": 2.5})
        got = self.d.admin("GET", "/v1/services/spelled").json
        self.assertEqual(got["mirror"], {"upstream": primary.address, "percent": 2.5,
                                         "max_body_bytes": 65536, "timeout_ms": 1000})
        r = self.d.admin("PUT", "/v1/services/spelled",
                         record("spelled", [primary.address], mirror=None))
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json["mirror"])


if __name__ == "__main__":
    harness.main()
