#!/usr/bin/env python3
"""Per-service parsing limits from the record's "limits" and "max_body_bytes"."""

import json
import socket

import harness
from harness import E2ETestCase, LOOPBACK, record


def exchange(port, data, timeout=5.0):
    """Sends raw bytes; returns (status line, everything received until close)."""
    s = socket.create_connection((LOOPBACK, port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got.split(b"\r\n", 1)[0].decode(), got
    finally:
        s.close()


class LimitsTest(E2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=1)
        self.up = self.start_upstream("up")
        self.port = self.d.register(record(
            "lim", [self.up.address], max_body_bytes=1000,
            limits={"max_request_line": 300, "max_header_bytes": 2048, "max_headers": 5}))["port"]

    def test_limits_answer_with_their_status_and_close(self):
        cases = [
            (b"GET /" + b"a" * 400 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
            (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(6))
             + b"\r\n", "431"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 2100 + b"\r\n\r\n", "431"),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", "413"),
        ]
        for raw, status in cases:
            line, _ = exchange(self.port, raw)
            self.assertIn(status, line, raw[:60])
        self.assertEqual(self.up.count, 0, "nothing may reach the upstream")

    def test_within_limits_passes(self):
        raw = (b"POST /lim HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-1: a\r\n"
               b"Content-Length: 1000\r\n\r\n" + b"z" * 1000)
        line, got = exchange(self.port, raw)
        self.assertIn("200", line)
        body = got.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(json.loads(body)["body_len"], 1000)


if __name__ == "__main__":
    harness.main()
