#!/usr/bin/env python3
"""Fault injection (issue 12, the record's `fault`) through the real daemon (2 shards) to a
real loopback upstream: an abort of every request never reaches the upstream; a fractional
abort percentage lands within its binomial bounds; a delay holds each request at least
delay_ms and then forwards it; the header gate leaves other requests alone; a bad record is
refused naming the field and changes nothing; a client that goes away during a delay leaves
the daemon healthy and the request never goes upstream; the metrics and access log say what
was injected."""

import http.client
import json
import math
import os
import shutil
import socket
import tempfile
import time

import harness
from harness import LOOPBACK, ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from http_wire import linger_reset

LOG_DIR = tempfile.mkdtemp(prefix="icaht-fault-")
LOG = os.path.join(LOG_DIR, "access.log")


def request(port, headers=None, conn=None):
    """GET / on `conn` (or a new connection, closed after): (status, headers, body, seconds)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        started = time.monotonic()
        conn.request("GET", "/", headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, \
            time.monotonic() - started
    finally:
        if own:
            conn.close()


def tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) of the IPv4 TCP socket local_port -> remote_port on loopback, from
    /proc/net/tcp (the daemon's sockets are in this network namespace), or None."""
    want = ("0100007F:%04X" % local_port, "0100007F:%04X" % remote_port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if (fields[1], fields[2]) == want:
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


class FaultTest(SharedDaemonTestCase):
    @classmethod
    def daemon_args(cls):
        return ("--access-log", LOG)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(shutil.rmtree, LOG_DIR, True)

    def setUp(self):
        self.up = self.start_http_upstream("up")

    def register(self, name, fault, **fields):
        return self.d.register(record(name, [self.up.address], fault=fault, **fields))["port"]

    def metrics(self):
        status, body = ops_get(self.d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode())

    def faults(self, service, kind):
        key = ("icaht_faults_injected_total", frozenset({("service", service), ("kind", kind)}))
        return self.metrics().get(key, 0)

    def log_lines(self, service):
        if not os.path.exists(LOG):
            return []
        with open(LOG) as f:
            return [e for e in map(json.loads, f.read().splitlines()) if e["service"] == service]

    def test_abort_of_every_request_never_reaches_the_upstream(self):
        fault = {"abort_status": 503, "abort_percent": 100}
        port = self.register("abort-all", fault)
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
        self.addCleanup(conn.close)
        for _ in range(20):  # one keep-alive connection: an abort does not close it
            status, headers, body, _ = request(port, conn=conn)
            self.assertEqual(status, 503)
            self.assertEqual(body, b"fault injected\n")
            self.assertEqual(headers.get("x-icaht-fault"), "abort")
        self.assertEqual(self.up.count, 0)
        self.assertEqual(self.faults("abort-all", "abort"), 20)
        self.assertEqual(self.faults("abort-all", "delay"), 0)
        # GET shows the record's fault in its canonical form.
        got = self.d.admin("GET", "/v1/services/abort-all").json
        self.assertEqual(got["fault"], {"delay_ms": None, "delay_percent": None,
                                        "abort_status": 503, "abort_percent": 100,
                                        "header": None})
        lines = wait_until(lambda: len(self.log_lines("abort-all")) == 20 and
                           self.log_lines("abort-all"), 5, what="20 access log lines")
        self.assertTrue(all(e["fault"] == "abort" and e["status"] == 503 for e in lines), lines)

    def test_a_fractional_percentage_lands_within_its_binomial_bounds(self):
        # n = 400, p = 0.3: mean 120, sigma = sqrt(n p (1 - p)) = 9.2. Five sigma either way
        # (75..165) fails a correct filter with probability below 1e-6, and still catches
        # a filter that aborts everything, nothing, or with a percentage read as a ratio.
        n, p = 400, 0.30
        port = self.register("abort-some", {"abort_status": 502, "abort_percent": 30})
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
        self.addCleanup(conn.close)
        statuses = [request(port, conn=conn)[0] for _ in range(n)]
        aborted = statuses.count(502)
        slack = 5 * math.sqrt(n * p * (1 - p))
        self.assertGreaterEqual(aborted, n * p - slack, statuses)
        self.assertLessEqual(aborted, n * p + slack, statuses)
        self.assertEqual(statuses.count(200), n - aborted)
        self.assertEqual(self.up.count, n - aborted)  # exact: the rest went upstream
        self.assertEqual(self.faults("abort-some", "abort"), aborted)

    def test_a_delay_holds_each_request_then_forwards_it(self):
        port = self.register("slow", {"delay_ms": 300, "delay_percent": 100})
        for _ in range(3):
            status, _, body, seconds = request(port)
            self.assertEqual(status, 200, body)
            self.assertGreaterEqual(seconds, 0.3)
            self.assertEqual(json.loads(body)["method"], "GET")  # the upstream's answer
        self.assertEqual(self.up.count, 3)
        self.assertEqual(self.faults("slow", "delay"), 3)
        lines = wait_until(lambda: len(self.log_lines("slow")) == 3 and self.log_lines("slow"),
                           5, what="3 access log lines")
        for e in lines:
            self.assertEqual(e["fault"], "delay")
            self.assertGreaterEqual(e["duration_ms"], 300)

    def test_a_delay_then_an_abort(self):
        port = self.register("both", {"delay_ms": 200, "delay_percent": 100,
                                      "abort_status": 500, "abort_percent": 100})
        status, headers, _, seconds = request(port)
        self.assertEqual(status, 500)
        self.assertEqual(headers.get("x-icaht-fault"), "abort")
        self.assertGreaterEqual(seconds, 0.2)
        self.assertEqual(self.up.count, 0)
        self.assertEqual((self.faults("both", "delay"), self.faults("both", "abort")), (1, 1))
        (e,) = wait_until(lambda: self.log_lines("both"), 5, what="the access log line")
        self.assertEqual(e["fault"], "delay+abort")

    def test_the_header_gate(self):
        port = self.register("gated", {"abort_status": 503, "abort_percent": 100,
                                       "header": "X-Chaos"})
        self.assertEqual(self.d.admin("GET", "/v1/services/gated").json["fault"]["header"],
                         "x-chaos")
        for _ in range(5):
            self.assertEqual(request(port)[0], 200)
        self.assertEqual(self.up.count, 5)
        for value in ("1", ""):
            status, headers, _, _ = request(port, {"x-chaos": value})
            self.assertEqual(status, 503)
            self.assertEqual(headers.get("x-icaht-fault"), "abort")
        self.assertEqual(self.up.count, 5)
        self.assertEqual(self.faults("gated", "abort"), 2)

        # A gated delay forwards the request with the gate's field untouched.
        port = self.register("gated-delay", {"delay_ms": 200, "delay_percent": 100,
                                             "header": "x-chaos"})
        status, _, body, seconds = request(port, {"X-Chaos": "yes"})
        self.assertEqual(status, 200)
        self.assertGreaterEqual(seconds, 0.2)
        self.assertEqual(json.loads(body)["headers"].get("x-chaos"), "yes")
        self.assertEqual(self.faults("gated-delay", "delay"), 1)
        self.assertEqual(request(port)[0], 200)
        self.assertEqual(self.faults("gated-delay", "delay"), 1)

    def test_a_bad_record_is_refused_and_changes_nothing(self):
        port = self.register("steady", None)
        before = self.d.admin("GET", "/v1/services").json
        cases = [
            ({"abort_status": 600, "abort_percent": 1},
             "field 'fault.abort_status': must be an integer 200..599"),
            ({"abort_status": 503, "abort_percent": 101},
             "field 'fault.abort_percent': must be a number 0..100"),
            ({"delay_ms": 100}, "field 'fault.delay_percent': required with delay_ms"),
            ({}, "field 'fault': must configure a delay"),
            ({"delay_ms": 15000, "delay_percent": 1},
             "field 'fault.delay_ms': must be below timeouts.request_ms (15000)"),
            ({"abort_status": 503, "abort_percent": 1, "header": "a b"},
             "field 'fault.header': must be a header name"),
        ]
        for fault, message in cases:
            r = self.d.admin("POST", "/v1/services",
                             record("refused", [self.up.address], fault=fault))
            self.assertApiError(r, 400, "invalid_argument", message)
            r = self.d.admin("PUT", "/v1/services/steady",
                             record("steady", [self.up.address], fault=fault))
            self.assertApiError(r, 400, "invalid_argument", message)
        self.assertEqual(self.d.admin("GET", "/v1/services").json, before)
        self.assertEqual(request(port)[0], 200)

    def test_a_client_gone_during_a_delay_leaves_the_daemon_healthy(self):
        port = self.register("gone", {"delay_ms": 300, "delay_percent": 100,
                                      "header": "x-chaos"})
        s = socket.create_connection((LOOPBACK, port), timeout=10)
        self.addCleanup(s.close)
        client_port = s.getsockname()[1]
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nX-Chaos: 1\r\n\r\n")

        # The daemon took the request off its socket (acknowledged by its kernel, then read
        # by its shard, which handles that read before the reset that follows).
        def consumed():
            client = tcp_queues(client_port, port)
            server = tcp_queues(port, client_port)
            return client is not None and server is not None and client[0] == 0 and \
                server[1] == 0
        wait_until(consumed, 5, what="the daemon to read the request")
        linger_reset(s)
        s.close()
        errors = ("icaht_request_errors_total",
                  frozenset({("service", "gone"), ("kind", "client_closed")}))
        wait_until(lambda: self.metrics().get(errors, 0) == 1, 5,
                   what="the delayed exchange to end with client_closed")
        self.assertEqual(self.faults("gone", "delay"), 1)
        # A delayed request started after the cancel ends after the cancelled one's delay
        # would have: by then, a timer left armed would have fired.
        status, _, _, seconds = request(port, {"x-chaos": "1"})
        self.assertEqual(status, 200)
        self.assertGreaterEqual(seconds, 0.3)
        self.assertEqual(request(port)[0], 200)
        self.assertEqual(self.up.count, 2)  # never the cancelled one
        self.assertTrue(self.d.alive())
        self.assertEqual(ops_get(self.d.ops_port, "/health")[0], 200)


if __name__ == "__main__":
    harness.main()
