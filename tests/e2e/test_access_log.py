#!/usr/bin/env python3
"""Access logs through the real daemon with 2 shards (issue 10): one JSON object per line per
exchange with every documented field, local answers and upstream failures logged with their
error kind, a service with access_log false left out, whole lines from both shards under load,
SIGUSR1 reopening the file after it was moved away (logrotate), the lines counted in
/metrics, and a path that cannot be opened stopping start-up with a message naming the flag.
Also the daemon's own log as JSON lines (--log-format json)."""

import json
import os
import re
import shutil
import signal
import tempfile
import threading

import harness
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream
from http_wire import read_response

LOG_DIR = tempfile.mkdtemp(prefix="icaht-access-")
LOG = os.path.join(LOG_DIR, "access.log")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class AccessLogTest(SharedDaemonTestCase):
    @classmethod
    def daemon_args(cls):
        return ("--access-log", LOG)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(shutil.rmtree, LOG_DIR, True)
        cls.up = cls.class_upstream(HttpUpstream, "up")
        reg = cls.d.register
        cls.port = reg(record("logged", [cls.up.address], request_id={}))["port"]
        cls.quiet = reg(record("quiet", [cls.up.address], access_log=False))["port"]
        cls.broken = reg(record("broken", ["127.0.0.1:%d" % harness.free_port()]))["port"]

    def lines(self, path=LOG):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            text = f.read()
        self.assertTrue(text == "" or text.endswith("\n"), "a torn last line")
        return [json.loads(line) for line in text.splitlines()]

    def wait_for(self, predicate, what, path=LOG):
        found = []

        def check():
            found[:] = [e for e in self.lines(path) if predicate(e)]
            return bool(found)
        wait_until(check, 5, interval=0.02, what=what)
        return found

    def get(self, port, target=b"/x", headers=b""):
        s, reader = self.connect(port, timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n%s\r\n" % (target, headers))
        return read_response(reader)

    def test_forwarded_request_has_every_field(self):
        r = self.get(self.port, b"/orders/7?q=%22a%22",
                     b"User-Agent: agent \"007\"\xff\r\nX-Request-Id: trace-me-1\r\n")
        self.assertEqual(r.status, 200)
        (e,) = self.wait_for(lambda e: e.get("path") == "/orders/7?q=%22a%22", "the line")
        self.assertRegex(e["time"], TIME)
        self.assertEqual(e["service"], "logged")
        self.assertEqual(e["method"], "GET")
        self.assertEqual(e["route"], "/orders/7")
        self.assertEqual(e["protocol"], "HTTP/1.1")
        self.assertEqual(e["status"], 200)
        self.assertGreater(e["request_bytes"], 40)
        self.assertGreater(e["response_bytes"], 40)
        self.assertGreaterEqual(e["duration_ms"], e["upstream_ms"])
        self.assertEqual(e["upstream"], self.up.address)
        self.assertEqual(e["attempts"], 1)
        self.assertEqual(e["request_id"], "trace-me-1")
        self.assertEqual(e["client"], "127.0.0.1")
        self.assertEqual(e["user_agent"], 'agent "007"\u00ff')
        self.assertNotIn("error", e)

    def test_local_answers_and_failures(self):
        self.assertEqual(self.get(self.port, b"/health").status, 200)
        self.assertEqual(self.get(self.broken, b"/down").status, 502)
        (health,) = self.wait_for(lambda e: e.get("route") == "/health" and
                                  e["service"] == "logged", "the health line")
        self.assertEqual(health["attempts"], 0)
        self.assertNotIn("upstream_ms", health)
        (down,) = self.wait_for(lambda e: e.get("route") == "/down", "the failure line")
        self.assertEqual(down["status"], 502)
        self.assertEqual(down["error"], "connect_refused")
        self.assertNotIn("upstream_ms", down)

    def test_service_with_access_log_off_is_not_logged(self):
        self.assertEqual(self.get(self.quiet, b"/silent").status, 200)
        self.assertEqual(self.get(self.port, b"/after-silent").status, 200)
        self.wait_for(lambda e: e.get("route") == "/after-silent", "the later line")
        self.assertFalse([e for e in self.lines() if e["service"] == "quiet"])

    def test_whole_lines_under_concurrent_load(self):
        n = 200

        def worker(k):
            for i in range(n // 4):
                self.assertEqual(self.get(self.port, b"/load/%d/%d" % (k, i)).status, 200)
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(lambda: len([e for e in self.lines() if e.get("route", "").startswith(
            "/load/")]) == n, 5, what="every load line")  # lines() parses every line

    def test_sigusr1_reopens_after_rotation(self):
        self.assertEqual(self.get(self.port, b"/before-rotate").status, 200)
        self.wait_for(lambda e: e.get("route") == "/before-rotate", "the first line")
        rotated = LOG + ".1"
        os.rename(LOG, rotated)
        self.d.send_signal(signal.SIGUSR1)
        wait_until(lambda: os.path.exists(LOG), 5, what="the new file")
        self.assertEqual(self.get(self.port, b"/after-rotate").status, 200)
        self.wait_for(lambda e: e.get("route") == "/after-rotate", "the line in the new file")
        self.assertFalse([e for e in self.lines(rotated) if e.get("route") == "/after-rotate"])

    def test_lines_are_counted_in_metrics(self):
        self.assertEqual(self.get(self.port, b"/counted").status, 200)
        self.wait_for(lambda e: e.get("route") == "/counted", "the line")
        _, body = harness.ops_get(self.d.ops_port, "/metrics")
        m = re.search(rb"^icaht_access_log_lines_total (\d+)$", body, re.M)
        self.assertIsNotNone(m)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertIn(b"icaht_access_log_dropped_total 0\n", body)

    def test_daemon_log_as_json_lines(self):
        d = harness.Daemon(shards=1, name="jsonlog", extra_args=("--log-format", "json"))
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(d.stop(), 0)
        lines = [json.loads(line) for line in d.stderr().splitlines() if line.strip()]
        self.assertTrue(lines)
        for e in lines:
            self.assertRegex(e["time"], TIME)
            self.assertIn(e["level"], ("debug", "info", "warn", "error"))
        self.assertTrue(any(e["msg"].startswith("serving: 1 shards") for e in lines), lines)

    def test_unopenable_path_stops_start_up(self):
        d = harness.Daemon(shards=1, name="badlog",
                           extra_args=("--access-log", "/nonexistent-dir/access.log"))
        self.addCleanup(d.cleanup)
        with self.assertRaises(harness.DaemonStartError):
            d.start(timeout=10)
        self.assertIn("--access-log /nonexistent-dir/access.log: No such file or directory",
                      d.stderr())


if __name__ == "__main__":
    harness.main()
