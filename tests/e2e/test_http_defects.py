#!/usr/bin/env python3
"""Defects found by using the daemon as a new user (issue 8) and by abusing it (issue 18),
each through the real daemon with real peers on loopback:

- an upload to an upstream that reads slowly but steadily completes (no 408 blamed on the
  client); an upstream that never reads the body gets a 504, not a 408;
- a Content-Length that is a list (even of equal values) is refused with 400;
- request targets with raw UTF-8 and the characters browsers send unencoded are forwarded
  byte for byte; control characters, DEL, NUL and spaces are still refused;
- a half-closed client that stops reading a large response does not make the daemon spin;
- pipelined requests followed by a FIN are all answered;
- an upstream response with a transfer coding other than a final chunked, or a bad first
  chunk size, is answered 502;
- a forwarding loop between two daemons is answered 508 (Via counting)."""

import gzip
import hashlib
import json
import os
import re
import socket
import threading
import time

import harness
from harness import curl, record, url
from http_peers import HttpE2ETestCase, SharedDaemonTestCase
from http_upstream import HttpUpstream, RawUpstream
from http_wire import (PEER_WAIT, PatternData, SockReader, Truncated, chunk_frame, client,
                       parse_head, read_chunked, read_response)

# Slack for a loaded 2-core machine (and ASan): timers fire late, never early.
SLACK = 3.0
REQUEST_MS = 1000

UPLOAD_SIZE = 4 * 1024 * 1024
# The slow upstream reads up to STEP bytes every INTERVAL (~600 KB/s), with a receive buffer of
# RCVBUF, so a 4 MiB body takes ~7 s, many times request_ms, with progress every 0.1 s. (Issue 8
# saw it at ~300 KB/s; any steady pace far slower than the client makes the same point, this
# one keeps the file short.)
STEP = 64 * 1024
INTERVAL = 0.1
RCVBUF = 2 * STEP


def get(target, extra=b"", host=b"svc"):
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (target, host, extra)




# --------------------------------------------------------------------------- upstreams

class PacedReader(SockReader):
    """A SockReader that receives at most `step` bytes per `interval`."""

    def __init__(self, sock, deadline, wait, step, interval):
        super().__init__(sock, deadline)
        self._wait = wait
        self._step = step
        self._interval = interval

    def _fill(self, want=262144):
        self._wait(self._interval)
        return super()._fill(min(want, self._step))


def slow_reader(conn):
    """Reads the request at ~STEP/INTERVAL, then answers 200 with the body's size and hash."""
    t0 = time.monotonic()
    reader = PacedReader(conn.sock, t0 + 60, conn.wait, STEP, INTERVAL)
    start, headers = parse_head(reader.read_until(b"\r\n\r\n"))
    h = hashlib.sha256()
    n = [0]

    def sink(data):
        h.update(data)
        n[0] += len(data)

    if headers.get("Transfer-Encoding") is not None:
        read_chunked(reader, sink)
    else:
        reader.stream(int(headers.get("Content-Length") or 0), sink)
    conn.upstream.note(("read", start, n[0], round(time.monotonic() - t0, 2)))
    body = json.dumps({"body_len": n[0], "body_sha256": h.hexdigest()}).encode()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n%s" % (len(body), body))


def deaf(conn):
    """Reads the request head, then neither reads the body nor answers."""
    start, _ = parse_head(conn.reader.read_until(b"\r\n\r\n"))
    conn.upstream.note(("head", start))
    conn.wait(PEER_WAIT)


class Upload:
    """A client sending a large body on one thread while another reads the response, so an
    early answer (or a close) is seen whatever the sender is doing."""

    def __init__(self, port, target, data, chunked, timeout=40.0):
        self.sock, self.reader = client(port, timeout)
        self.sock.settimeout(timeout)
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % data.size
        self.head = b"POST %s HTTP/1.1\r\nHost: svc\r\n%s\r\n\r\n" % (target, framing)
        self.data = data
        self.chunked = chunked
        self.sent = 0
        self.sent_at_answer = None  # what had been sent when the answer arrived
        self.send_error = None
        self.response = None
        self.read_error = None
        self.t0 = time.monotonic()
        self.elapsed = None
        self._sender = threading.Thread(target=self._send, daemon=True)
        self._receiver = threading.Thread(target=self._receive, daemon=True)
        self._sender.start()
        self._receiver.start()

    def _send(self):
        try:
            self.sock.sendall(self.head)
            for piece in self.data.pieces():
                self.sock.sendall(chunk_frame(piece) if self.chunked else piece)
                self.sent += len(piece)
            if self.chunked:
                self.sock.sendall(b"0\r\n\r\n")
        except OSError as exc:
            self.send_error = exc

    def _receive(self):
        try:
            self.response = read_response(self.reader)
            self.sent_at_answer = self.sent
        except (Truncated, OSError, AssertionError) as exc:
            self.read_error = exc
        self.elapsed = time.monotonic() - self.t0

    def join(self, timeout):
        self._receiver.join(timeout)
        self.sock.close()  # ends the sender if it is still blocked
        self._sender.join(5)

    def __repr__(self):
        return "Upload(sent %d of %d bytes in %s s, send error %r, read error %r, response %r)" % (
            self.sent, self.data.size, self.elapsed and round(self.elapsed, 2), self.send_error,
            self.read_error, self.response)


def cpu_seconds(pid):
    """utime + stime of every thread of process `pid`, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the defects

class DefectsTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        gz = gzip.compress(b"hello, compressed world\n" * 20)
        cls.up = cls.class_upstream(HttpUpstream, "up", canned={
            "gzip": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    b"Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n" + gz,
            "gzip_chunked": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            b"Transfer-Encoding: gzip, chunked\r\n\r\n"
                            + chunk_frame(gz) + b"0\r\n\r\n",
            "bad_chunk": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        })
        cls.slow = cls.class_upstream(RawUpstream, "slow", handler=slow_reader, rcvbuf=RCVBUF)
        cls.deaf = cls.class_upstream(RawUpstream, "deaf", handler=deaf, rcvbuf=RCVBUF)
        timeouts = {"connect_ms": 1000, "request_ms": REQUEST_MS, "idle_ms": 20000}
        reg = cls.d.register
        cls.port = reg(record("svc", [cls.up.address]))["port"]
        cls.slow_port = reg(record("slow", [cls.slow.address], timeouts=timeouts))["port"]
        cls.deaf_port = reg(record("deaf", [cls.deaf.address], timeouts=timeouts))["port"]

    def assertNothingForwarded(self, before):
        """Only a barrier request reached the upstream since `before` (a snapshot)."""
        r = curl(url(self.port, "/svc/barrier"))
        self.assertEqual(r.status, 200, r)
        reqs, incomplete, _ = self.up.snapshot()
        self.assertEqual([q.target for q in reqs[len(before[0]):]], ["/svc/barrier"],
                         "the upstream received a request it should not have")
        self.assertEqual(incomplete[len(before[1]):], [], "the upstream received a head")

    # 1. slow upstream uploads (issue 8) ------------------------------------------

    def test_upload_to_a_slowly_reading_upstream_completes(self):
        data = PatternData(UPLOAD_SIZE, seed=8)
        uploads = {"content-length": Upload(self.slow_port, b"/slow/cl", data, chunked=False),
                   "chunked": Upload(self.slow_port, b"/slow/chunked", data, chunked=True)}
        for u in uploads.values():
            u.join(40)
        for name, u in uploads.items():
            with self.subTest(name):
                r = u.response
                self.assertIsNotNone(r, u)
                self.assertEqual(r.status, 200, u)
                self.assertEqual(r.json, {"body_len": data.size, "body_sha256": data.sha256()}, u)
                # It really was slow: several times request_ms.
                self.assertGreater(u.elapsed, 3 * REQUEST_MS / 1000.0, u)

    def test_upstream_that_never_reads_the_body_gets_504(self):
        u = Upload(self.deaf_port, b"/deaf/x", PatternData(UPLOAD_SIZE, seed=9), chunked=False)
        u.join(REQUEST_MS / 1000.0 + 3 * SLACK + 5)
        self.assertIsNotNone(u.response, u)
        self.assertEqual(u.response.status, 504, u)
        self.assertGreaterEqual(u.elapsed, REQUEST_MS / 1000.0 - 0.05, u)
        self.assertLess(u.elapsed, REQUEST_MS / 1000.0 + SLACK, u)
        self.assertIn("head", [x[0] for x in self.deaf.log])

    def test_back_pressure_bounds_memory_for_a_fast_client(self):
        """Issue 12: an upstream that stops reading stops the proxy reading the client. A client
        pushing 256 MiB as fast as it can gets only what the kernels' buffers and the proxy's
        bounded queue hold in, and the daemon's memory stays flat (copied chunked bodies and
        spliced Content-Length ones alike)."""
        status_path = "/proc/%d/status" % self.d.proc.pid

        def rss_kib():
            with open(status_path) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            return 0

        for chunked in (True, False):
            with self.subTest(chunked=chunked):
                base = rss_kib()
                u = Upload(self.deaf_port, b"/deaf/bp", PatternData(256 << 20, seed=12), chunked)
                peak = base
                deadline = time.monotonic() + REQUEST_MS / 1000.0 + 3 * SLACK + 5
                while u.response is None and u.read_error is None and time.monotonic() < deadline:
                    peak = max(peak, rss_kib())
                    time.sleep(0.02)
                u.join(5)
                # Counted when the answer arrived: after it, the proxy's lingering close reads
                # and discards what the client still sends, at loopback speed.
                sent = u.sent_at_answer
                self.assertEqual(u.response.status if u.response else None, 504, u)
                # Kernel buffers on both sockets and a pipe hold some (~15 MiB measured), the
                # proxy's queue at most 1 MiB; RSS also grows once as buffer-ring pages are first
                # touched (7-13 MiB measured). Unbounded buffering would take all 256 MiB.
                self.assertIsNotNone(sent, u)
                self.assertLess(sent, 48 << 20, u)
                self.assertLess(peak - base, 40 * 1024, "RSS grew from %d to %d KiB" % (base, peak))

    # 2. Content-Length lists (issue 8) -------------------------------------------

    def test_content_length_list_is_400_and_closed(self):
        for name, cl, body in (("1000,1000", b"1000,1000", b"a" * 1000),
                               ("5, 5", b"5, 5", b"abcde"),
                               ("5,5,5", b"5,5,5", b"abcde")):
            with self.subTest(name):
                before = self.up.snapshot()
                s, reader = self.connect(self.port, timeout=10)
                s.sendall(b"POST /svc/cl HTTP/1.1\r\nHost: svc\r\nContent-Length: %s\r\n\r\n%s"
                          % (cl, body))
                r = read_response(reader)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.headers.get("X-Upstream"), None, "answered upstream: %r" % r)
                self.assertClosed(reader, what="connection after the 400")
                self.assertNothingForwarded(before)

    # 3. request targets (issue 8) ------------------------------------------------

    def test_unencoded_target_characters_are_forwarded_unchanged(self):
        targets = [b"/svc/" + "странные-символы".encode(),
                   b"/svc/q?name=" + "ünïcødé".encode() + b"&x=\xe2\x9c\x93"]
        for c in b"|{}^\"<>\\`":
            c = bytes([c])
            targets += [b"/svc/a" + c + b"b", b"/svc/q?x=" + c + b"&y=1" + c]
        for target in targets:
            with self.subTest(target=target):
                s, reader = self.connect(self.port, timeout=10)
                s.sendall(get(target))
                r = read_response(reader)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["target"].encode("latin-1"), target,
                                 "the upstream saw another target")
                self.assertEqual(self.up.requests[-1].raw_head.split(b" ")[1], target)

    def test_control_characters_in_the_target_are_still_400(self):
        for name, target in (("0x01", b"/svc/a\x01b"), ("DEL", b"/svc/a\x7fb"),
                             ("NUL", b"/svc/a\x00b"), ("tab", b"/svc/a\tb"),
                             ("space", b"/svc/a b"), ("DEL in query", b"/svc/q?x=\x7f"),
                             ("0x1f in query", b"/svc/q?x=\x1f")):
            with self.subTest(name):
                before = self.up.snapshot()
                s, reader = self.connect(self.port, timeout=10)
                s.sendall(get(target))
                r = read_response(reader)
                self.assertEqual(r.status, 400, r)
                self.assertClosed(reader, what="connection after the 400")
                self.assertNothingForwarded(before)

    # 4. half-closed client that does not read (issue 18 item 4) ------------------

    def test_half_closed_client_not_reading_does_not_spin(self):
        size = 64 * 1024 * 1024
        count = self.up.count
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/big?download=%d&seed=4" % size))
        s.shutdown(socket.SHUT_WR)
        harness.wait_until(lambda: self.up.count > count, 10, what="the request upstream")
        pid = self.d.proc.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        deadline = t0 + 3.0
        while time.monotonic() < deadline:  # measuring, not waiting for a condition
            time.sleep(0.1)
        cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
        self.assertLess(cpu, 0.5, "the daemon used %.2f s of CPU in %.2f s while a client "
                        "that stopped reading held a response" % (cpu, wall))
        s.close()
        for i in range(3):
            r = curl(url(self.port, "/svc/after%d" % i))
            self.assertEqual(r.status, 200, r)
        r = curl(url(self.port, "/svc/small?download=300000&seed=5"))
        self.assertEqual((r.status, hashlib.sha256(r.body).hexdigest()),
                         (200, PatternData(300000, 5).sha256()), r)

    # 5. pipelined requests then FIN (issue 18 item 5) ----------------------------

    def test_pipelined_requests_then_fin_are_all_answered(self):
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/fin1") + get(b"/svc/fin2?download=300000&seed=2"))
        s.shutdown(socket.SHUT_WR)
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/svc/fin1"), r)
        try:
            r = read_response(reader)
        except Truncated as exc:
            self.fail("the second pipelined request was not answered (%r)" % exc)
        self.assertEqual((r.status, r.body_len), (200, 300000), r)
        self.assertEqual(r.sha256, PatternData(300000, 2).sha256())
        self.assertClosed(reader, what="connection after the last answer")

    def test_three_pipelined_requests_with_a_body_then_fin(self):
        body = b"b" * 5000
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/f1")
                  + b"POST /svc/f2 HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n\r\n%s" % (
                      len(body), body)
                  + get(b"/svc/f3"))
        s.shutdown(socket.SHUT_WR)
        for target in ("/svc/f1", "/svc/f2", "/svc/f3"):
            try:
                r = read_response(reader)
            except Truncated as exc:
                self.fail("%s was not answered (%r)" % (target, exc))
            self.assertEqual((r.status, r.json["target"]), (200, target), r)
        self.assertEqual(r.json["target"], "/svc/f3")
        self.assertClosed(reader, what="connection after the last answer")

    # 6. upstream transfer codings (issue 18 item 9) ------------------------------

    def test_upstream_transfer_coding_other_than_chunked_is_502(self):
        for name in ("gzip", "gzip_chunked", "bad_chunk"):
            with self.subTest(name):
                s, reader = self.connect(self.port, timeout=10)
                s.sendall(get(b"/svc/te?raw=" + name.encode()))
                try:
                    r = read_response(reader, allow_truncated=True)
                except Truncated as exc:
                    self.fail("closed without an answer (%r)" % exc)
                self.assertEqual(r.status, 502, r)
        r = curl(url(self.port, "/svc/still"))
        self.assertEqual(r.status, 200, r)


# --------------------------------------------------------------------------- loops

def dies_mid_body(conn):
    """Announces 4 MiB, sends 256 KiB, then closes: a response cut short by its upstream."""
    conn.reader.read_until(b"\r\n\r\n")
    conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (4 << 20))
    conn.sock.sendall(b"x" * (256 << 10))


class BodyCountersTest(HttpE2ETestCase):
    def test_counters_count_bytes_moved_not_the_announced_length(self):
        # (#18 item 10) The shard's exit line "bodies: X bytes spliced, Y bytes copied" counted
        # the whole Content-Length when the upstream died early.
        d = self.start_daemon(shards=1, name="daemon")
        up = RawUpstream("dies", handler=dies_mid_body)
        self.addCleanup(up.stop)
        port = d.register(record("cut", [up.address]))["port"]
        r = curl(url(port, "/cut/x"))
        self.assertFalse(r.status == 200 and len(r.body) == 4 << 20, "a cut body looked whole")
        self.assertEqual(d.stop(), 0)
        m = re.search(r"bodies: (\d+) bytes spliced, (\d+) bytes copied", d.stderr())
        self.assertIsNotNone(m, d.stderr())
        moved = int(m.group(1)) + int(m.group(2))
        self.assertGreater(moved, 0)
        self.assertLessEqual(moved, 256 << 10, d.stderr())


class LoopTest(HttpE2ETestCase):
    def test_loop_between_two_daemons_is_answered_508(self):
        d1 = self.start_daemon(shards=2, name="daemon1")
        d2 = self.start_daemon(shards=2, name="daemon2")
        y_port = d2.range_start + 7
        x_port = d1.register(record("x", ["127.0.0.1:%d" % y_port]))["port"]
        self.assertEqual(d2.register(record("y", ["127.0.0.1:%d" % x_port], port=y_port))["port"],
                         y_port)
        for i in range(3):
            s, reader = self.connect(x_port, timeout=15)
            t0 = time.monotonic()
            s.sendall(get(b"/x/loop%d" % i, host=b"x"))
            try:
                r = read_response(reader)
            except (Truncated, OSError) as exc:
                self.fail("no answer to a looping request after %.1fs (%r)" % (
                    time.monotonic() - t0, exc))
            self.assertEqual(r.status, 508, r)
            self.assertLess(time.monotonic() - t0, 5.0)
            via = ", ".join(r.headers.get_all("Via"))
            self.assertIn("1.1 icaht", via, r)
        # Both daemons keep serving.
        up = self.start_http_upstream("up")
        for d in (d1, d2):
            port = d.register(record("z", [up.address]))["port"]
            r = curl(url(port, "/z/ok"))
            self.assertEqual(r.status, 200, r)
            self.assertTrue(d.alive())


if __name__ == "__main__":
    harness.main()
