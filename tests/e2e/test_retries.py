#!/usr/bin/env python3
"""Retries (issue 12) through the real daemon to loopback upstreams that fail on command
(answer 503, refuse, hang): the failures the policy names are retried on another instance and
no others; a POST that reached an upstream is never repeated (the upstream counts); attempts,
the per-try timeout and the retry budget bound it; the metrics count retries and refusals."""

import http.client
import http.server
import threading
import time

import harness
from harness import LOOPBACK, ops_get, parse_metrics, record
from http_peers import SharedDaemonTestCase
from http_wire import read_request_body
from peers import RefusingPort


class Instance:
    """A loopback HTTP/1.1 server answering every request with `status` after `delay`
    seconds, counting requests by method."""

    def __init__(self, status=200, delay=0.0):
        self.status, self.delay = status, delay
        self.lock = threading.Lock()
        self.counts = {}
        self.bodies = []
        self.timeout_headers = []  # x-icaht-timeout-ms as each request carried it
        instance = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                body = read_request_body(self)
                with instance.lock:
                    instance.timeout_headers.append(self.headers.get("x-icaht-timeout-ms"))
                    instance.counts[self.command] = instance.counts.get(self.command, 0) + 1
                    if body:
                        instance.bodies.append(body)
                if instance.delay:
                    time.sleep(instance.delay)
                body = b"%d from %d" % (instance.status, instance.port)
                self.send_response(instance.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        # The proxy closes an answer it retries unread: no traceback for that.
        self.server.handle_error = lambda request, client_address: None
        self.port = self.server.server_address[1]
        self.address = "%s:%d" % (LOOPBACK, self.port)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def count(self, method="GET"):
        with self.lock:
            return self.counts.get(method, 0)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def call(port, method="GET", body=None, timeout=10, chunked=False, headers=None):
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        if chunked:
            conn.request(method, "/", body=iter([body[:len(body) // 2], body[len(body) // 2:]]),
                         encode_chunked=True, headers=headers or {})
        else:
            conn.request(method, "/", body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class RetriesTest(SharedDaemonTestCase):
    shards = 1

    def instance(self, status=200, delay=0.0):
        inst = Instance(status, delay)
        self.addCleanup(inst.stop)
        return inst

    def register(self, name, instances, retries, **fields):
        addresses = [i if isinstance(i, str) else i.address for i in instances]
        return self.d.register(record(name, addresses, retries=retries, **fields))["port"]

    def metric(self, name, service):
        status, body = ops_get(self.d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode()).get((name, frozenset({("service", service)})), 0)

    def test_gateway_errors_are_retried_on_another_instance(self):
        bad, good = self.instance(503), self.instance()
        port = self.register("gw", [bad, good], {"retry_on": ["gateway-error"]})
        for _ in range(20):
            self.assertEqual(call(port)[0], 200)
        self.assertEqual(good.count(), 20)
        self.assertEqual(bad.count(), 10)  # round robin: every other first attempt
        self.assertEqual(self.metric("icaht_upstream_retries_total", "gw"), 10)

    def test_a_post_that_reached_an_upstream_is_never_repeated(self):
        bad, good = self.instance(503), self.instance()
        port = self.register("post", [bad, good], {"retry_on": ["5xx"], "attempts": 3})
        statuses = [call(port, "POST", b"order")[0] for _ in range(10)]
        self.assertEqual(statuses.count(503), 5, statuses)
        self.assertEqual(bad.count("POST") + good.count("POST"), 10)  # one attempt each
        # Kept for replay, a body does not make a POST repeatable either.
        self.assertEqual(bad.bodies.count(b"order") + good.bodies.count(b"order"), 10)

    def test_kept_bodies_are_replayed_whole(self):
        bad, good = self.instance(503), self.instance()
        port = self.register("replay", [bad, good], {"retry_on": ["gateway-error"]})
        body = bytes(range(256)) * 40  # 10 KiB
        for chunked in (False, True):
            for _ in range(4):
                self.assertEqual(call(port, "PUT", body, chunked=chunked)[0], 200)
        self.assertEqual(good.count("PUT"), 8)
        self.assertEqual(bad.count("PUT"), 4)  # every other first attempt
        self.assertEqual(good.bodies, [body] * 8)  # the retried ones too, byte for byte
        self.assertEqual(self.metric("icaht_upstream_retries_total", "replay"), 4)

    def test_a_replayed_body_follows_its_retry_to_a_slow_instance(self):
        # The body's sink is the retry's connection, never the closed first one (the response
        # head timer asks the body about it while the slow instance thinks).
        bad, slow = self.instance(503), self.instance(delay=0.6)
        port = self.register("replayslow", [bad, slow], {"retry_on": ["gateway-error"],
                                                          "per_try_timeout_ms": 200})
        statuses = [call(port, "PUT", b"0123456789")[0] for _ in range(4)]
        # Both instances tried each time: 503 then too slow (504), or too slow then 503.
        self.assertEqual(sorted(statuses), [503, 503, 504, 504])
        self.assertTrue(self.d.alive())
        self.assertEqual(slow.bodies, [b"0123456789"] * 4)

    def test_bodies_over_the_bound_are_not_replayed(self):
        bad, good = self.instance(503), self.instance()
        port = self.register("bound", [bad, good], {"retry_on": ["gateway-error"],
                                                     "replay_body_bytes": 1000})
        for chunked in (False, True):
            statuses = [call(port, "PUT", b"y" * 1001, chunked=chunked)[0] for _ in range(4)]
            self.assertEqual(statuses.count(503), 2, (chunked, statuses))
            statuses = [call(port, "PUT", b"z" * 900, chunked=chunked)[0] for _ in range(4)]
            self.assertEqual(statuses, [200] * 4, chunked)
        self.assertEqual(bad.count("PUT") + good.count("PUT"), 8 + 8 + 4)

    def test_connect_failures_are_retried_for_any_request(self):
        refusing = RefusingPort()
        self.addCleanup(refusing.close)
        good = self.instance()
        port = self.register("refused", [refusing.address, good],
                             {"retry_on": ["connect-failure"]})
        for _ in range(6):
            self.assertEqual(call(port, "POST", b"payload")[0], 200)
        self.assertEqual(good.count("POST"), 6)

    def test_not_retried_when_not_asked_for(self):
        bad, good = self.instance(500), self.instance()
        port = self.register("plain500", [bad, good], {"retry_on": ["gateway-error"]})
        statuses = [call(port)[0] for _ in range(6)]
        self.assertEqual(statuses.count(500), 3)  # 500 is not a gateway error

    def test_attempts_bound_and_no_instance_twice_in_a_row(self):
        a, b = self.instance(503), self.instance(503)
        port = self.register("allbad", [a, b], {"attempts": 2})
        for _ in range(6):
            self.assertEqual(call(port)[0], 503)
        # Each request tried both, once each.
        self.assertEqual((a.count(), b.count()), (6, 6))

    def test_per_try_timeout_moves_on(self):
        hang, good = self.instance(delay=3.0), self.instance()
        port = self.register("slow", [hang, good],
                             {"per_try_timeout_ms": 200, "retry_on": ["gateway-error"]})
        started = time.monotonic()
        for _ in range(4):
            self.assertEqual(call(port)[0], 200)
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertEqual(good.count(), 4)

    def test_retries_share_the_request_deadline(self):
        a, b = self.instance(503, delay=0.25), self.instance(503, delay=0.25)
        port = self.register("deadline", [a, b], {"attempts": 10, "backoff_base_ms": 1,
                                                   "backoff_max_ms": 1},
                             timeouts={"request_ms": 600})
        started = time.monotonic()
        self.assertIn(call(port)[0], (503, 504))
        self.assertLess(time.monotonic() - started, 1.2)
        self.assertLessEqual(a.count() + b.count(), 3)  # not 10 tries of 250 ms

    def test_the_budget_bounds_retries(self):
        bad, good = self.instance(503), self.instance()
        port = self.register("budget", [bad, good], {"budget_percent": 0,
                                                      "min_retry_concurrency": 0})
        statuses = [call(port)[0] for _ in range(6)]
        self.assertEqual(statuses.count(503), 3)
        self.assertEqual(self.metric("icaht_upstream_retry_overflow_total", "budget"), 3)
        self.assertEqual(self.metric("icaht_upstream_retries_total", "budget"), 0)

    def test_total_timeout_bounds_the_whole_exchange(self):
        slow = self.instance(delay=3.0)
        port = self.register("total", [slow], None, timeouts={"total_ms": 400})
        started = time.monotonic()
        status, body = call(port)
        elapsed = time.monotonic() - started
        self.assertEqual((status, body), (504, b"exchange exceeded its total timeout\n"))
        self.assertGreaterEqual(elapsed, 0.39)
        self.assertLess(elapsed, 2.5)
        # With retries: every attempt within it, however many are allowed.
        a, b = self.instance(503, delay=0.15), self.instance(503, delay=0.15)
        port = self.register("totalretry", [a, b], {"attempts": 10, "backoff_base_ms": 1,
                                                     "backoff_max_ms": 1},
                             timeouts={"total_ms": 500})
        started = time.monotonic()
        self.assertIn(call(port)[0], (503, 504))
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertLessEqual(a.count() + b.count(), 4)

    def test_a_trusted_timeout_header_replaces_the_total(self):
        slow = self.instance(delay=1.0)
        trusting = self.register("trusting", [slow], None, timeouts={"trust_header": True})
        started = time.monotonic()
        self.assertEqual(call(trusting, headers={"x-icaht-timeout-ms": "300"})[0], 504)
        self.assertLess(time.monotonic() - started, 0.9)
        # Not trusted: the header changes nothing and goes upstream as sent.
        plain = self.register("plain", [slow], None)
        self.assertEqual(call(plain, headers={"x-icaht-timeout-ms": "300"})[0], 200)
        # Trusted but malformed: ignored (no total), and never forwarded.
        self.assertEqual(call(trusting, headers={"x-icaht-timeout-ms": "soon"})[0], 200)
        self.assertEqual(slow.timeout_headers, [None, "300", None])


if __name__ == "__main__":
    harness.main()
