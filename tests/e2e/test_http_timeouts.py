#!/usr/bin/env python3
"""The timeouts of a service record through the real daemon: a slow client hits request_ms
while sending its head (408, close) or its body, a slow upstream hits it while the client
waits for the response head (504) or for the rest of the body (close), an idle keep-alive
connection is closed quietly after idle_ms, and an upstream that never accepts hits
connect_ms."""

import socket
import time

import harness
from harness import LOOPBACK, curl, record, url
from http_peers import HttpE2ETestCase
from http_wire import Truncated, read_response

REQUEST_MS = 600
IDLE_MS = 1500
CONNECT_MS = 500
TIMEOUTS = {"connect_ms": CONNECT_MS, "request_ms": REQUEST_MS, "idle_ms": IDLE_MS}
# Slack for a loaded 2-core machine: timers fire late, never early.
SLACK = 2.0


class TimeoutsTest(HttpE2ETestCase):
    def setUp(self):
        self.d, self.up, self.port = self.start_service(timeouts=TIMEOUTS)

    def connect(self, timeout=20.0):
        return super().connect(self.port, timeout)

    def assertElapsed(self, t0, low_ms, what):
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, low_ms / 1000.0 - 0.05,
                                "%s after %.2fs, before its %d ms" % (what, elapsed, low_ms))
        self.assertLess(elapsed, low_ms / 1000.0 + SLACK,
                        "%s only after %.2fs (timeout %d ms)" % (what, elapsed, low_ms))

    # client side -------------------------------------------------------------

    def test_partial_head_gets_408_then_close(self):
        s, reader = self.connect()
        s.sendall(b"GET /svc/slow HTTP/1.1\r\nHost: svc\r\nX-Half: ")
        t0 = time.monotonic()
        r = read_response(reader)
        self.assertEqual(r.status, 408, r)
        self.assertElapsed(t0, REQUEST_MS, "408")
        self.assertTrue(reader.at_eof(3), "connection left open after the 408")
        self.assertEqual(self.up.snapshot()[2], 0, "the partial request reached the upstream")

    def test_trickling_head_does_not_extend_the_header_timeout(self):
        # A slowloris: one byte every 50 ms keeps the connection busy but must not reset the
        # header-read timer.
        s, reader = self.connect()
        data = b"GET /svc/trickle HTTP/1.1\r\nHost: svc\r\nX-Long: " + b"a" * 400
        t0 = time.monotonic()
        answer = b""
        for i in range(len(data)):  # bounded: at most ~20 s of trickling, far past the limit
            try:
                s.send(data[i:i + 1])
            except OSError:
                break
            s.settimeout(0.05)
            try:
                answer = s.recv(65536)
                break
            except socket.timeout:
                continue
            except OSError:
                break
        elapsed = time.monotonic() - t0
        self.assertTrue(answer.startswith(b"HTTP/1.1 408 "),
                        "no 408 while trickling for %.1fs (got %r)" % (elapsed, answer[:100]))
        self.assertLess(elapsed, REQUEST_MS / 1000.0 + SLACK,
                        "trickled bytes kept the request alive for %.2fs" % elapsed)

    def test_stalled_request_body_gets_408_or_close(self):
        # Head complete, body promised but not sent: the request is not complete within
        # request_ms. That is the client's delay, not the upstream's (so not a 504).
        s, reader = self.connect()
        s.sendall(b"POST /svc/body HTTP/1.1\r\nHost: svc\r\nContent-Length: 100000\r\n\r\n"
                  + b"x" * 10)
        t0 = time.monotonic()
        reader.deadline = t0 + REQUEST_MS / 1000.0 + 3 * SLACK
        try:
            r = read_response(reader)
        except Truncated:
            r = None  # closed without an answer: allowed
        except OSError as exc:
            self.fail("a stalled request body was never timed out (%r)" % exc)
        if r is not None:
            self.assertEqual(r.status, 408, r)
            self.assertTrue(reader.at_eof(3), "connection left open after the 408")
        self.assertLess(time.monotonic() - t0, REQUEST_MS / 1000.0 + 2 * SLACK)

    # upstream side -----------------------------------------------------------

    def test_slow_upstream_response_head_gets_504(self):
        s, reader = self.connect()
        t0 = time.monotonic()
        s.sendall(b"GET /svc/late?delay_ms=5000 HTTP/1.1\r\nHost: svc\r\n\r\n")
        r = read_response(reader)
        self.assertEqual(r.status, 504, r)
        self.assertElapsed(t0, REQUEST_MS, "504")
        self.assertGreater(len(r.body), 0)
        # The service still answers, on a fresh connection.
        r = curl(url(self.port, "/svc/after"))
        self.assertEqual(r.status, 200, r)

    def test_upstream_stalling_mid_body_gets_the_client_closed(self):
        # The head arrives in time, then the upstream goes silent without closing. The request
        # must still end (request timeout covers the whole exchange): the client connection is
        # closed, never completed.
        s, reader = self.connect()
        s.sendall(b"GET /svc/stall?download=1000000&cut=5000&stall=1 HTTP/1.1\r\nHost: svc\r\n\r\n")
        t0 = time.monotonic()
        reader.deadline = t0 + REQUEST_MS / 1000.0 + IDLE_MS / 1000.0 + 2 * SLACK
        try:
            r = read_response(reader, keep_body=0, allow_truncated=True)
        except OSError as exc:
            self.fail("a stalled upstream body kept the client waiting for %.1fs (%r)" % (
                time.monotonic() - t0, exc))
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.complete, r)
        self.assertLess(r.body_len, 1000000)

    @staticmethod
    def _fill_accept_queue(listener, limit=32):
        """Connects to `listener` (never accepted) until a connect gets no answer: the accept
        queue is full and the kernel now drops SYNs. Returns the connected sockets, or None if
        the queue never filled."""
        held = []
        for _ in range(limit):
            c = socket.socket()
            c.settimeout(0.3)
            try:
                c.connect(listener.getsockname())
            except (socket.timeout, BlockingIOError):
                c.close()
                return held
            except OSError:
                c.close()
                break
            held.append(c)
        for c in held:
            c.close()
        return None

    def test_connect_timeout_when_the_upstream_never_answers_syn(self):
        # An upstream whose accept queue is full drops SYNs, so a connect neither succeeds nor
        # fails: it times out. The queue is filled and checked first; if this kernel answers
        # anyway, the test cannot be made and says so.
        listener = socket.socket()
        listener.bind((LOOPBACK, 0))
        listener.listen(0)
        self.addCleanup(listener.close)
        held = self._fill_accept_queue(listener)
        if held is None:
            self.skipTest("could not fill a loopback accept queue to make connects hang")
        for c in held:
            self.addCleanup(c.close)
        address = "%s:%d" % listener.getsockname()
        port = self.d.register(record("blackhole", [address], timeouts=TIMEOUTS))["port"]
        t0 = time.monotonic()
        r = curl(url(port, "/blackhole/x"), timeout=10)
        self.assertIn(r.status, (502, 504), r)
        self.assertElapsed(t0, CONNECT_MS, "connect timeout answer")

    # idle --------------------------------------------------------------------

    def test_idle_keep_alive_connection_closed_quietly(self):
        s, reader = self.connect()
        s.sendall(b"GET /svc/one HTTP/1.1\r\nHost: svc\r\n\r\n")
        r = read_response(reader)
        self.assertEqual(r.status, 200, r)
        t0 = time.monotonic()
        self.assertTrue(reader.at_eof(IDLE_MS / 1000.0 + SLACK + 1),
                        "idle keep-alive connection not closed (pending %r)" % bytes(reader.buf))
        self.assertElapsed(t0, IDLE_MS, "idle close")

    def test_connection_that_never_sends_is_closed_quietly(self):
        s, reader = self.connect()
        t0 = time.monotonic()
        self.assertTrue(reader.at_eof(IDLE_MS / 1000.0 + SLACK + 1),
                        "silent connection not closed quietly (got %r)" % bytes(reader.buf))
        self.assertElapsed(t0, min(IDLE_MS, REQUEST_MS), "close of a silent connection")

    def test_idle_timer_restarts_with_each_request(self):
        # Requests every 400 ms for longer than idle_ms: the connection is never idle that long.
        s, reader = self.connect()
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < IDLE_MS / 1000.0 * 1.8 and n < 20:
            s.sendall(b"GET /svc/ka%d HTTP/1.1\r\nHost: svc\r\n\r\n" % n)
            r = read_response(reader)
            self.assertEqual((r.status, r.json["target"]), (200, "/svc/ka%d" % n), r)
            n += 1
            self.assertFalse(reader.at_eof(0.4), "closed while in use after %d requests" % n)
        self.assertGreaterEqual(n, 3)


if __name__ == "__main__":
    harness.main()
