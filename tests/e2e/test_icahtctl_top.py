#!/usr/bin/env python3
"""`icahtctl top` against the real daemon (2 shards) and real upstreams, reading /metrics
through the admin socket: with real traffic flowing, one refresh over an interval shows each
service's req/s, the 5xx share (a service whose upstream refuses answers 502), latency
quantiles, connections and upstream health (an instance failing its active health checks
shows as down); plain text when stdout is a pipe, JSON lines with --json; usage errors exit 2,
no daemon exits 3."""

import http.client
import json
import threading
import time

import harness
from harness import RefusingPort, icahtctl, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream

CHECK = {"path": "/hc", "interval_ms": 100, "timeout_ms": 100, "healthy_threshold": 1,
         "unhealthy_threshold": 1}


class Traffic:
    """Requests on fresh connections (so both shards serve some), round-robin over ports,
    from a thread, until stopped (at most `seconds`); counts the statuses it got."""

    def __init__(self, ports, seconds=15.0):
        self.ports = ports
        self.deadline = time.monotonic() + seconds
        self.statuses = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        i = 0
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            port = self.ports[i % len(self.ports)]
            i += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/top/x", headers={"Connection": "close"})
                resp = conn.getresponse()
                resp.read()
                self.statuses.setdefault(port, []).append(resp.status)
            finally:
                conn.close()

    def stop(self):
        self._stop.set()
        self._thread.join(10)


class TopTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.up = cls.class_upstream(HttpUpstream, "up")
        cls.closed = RefusingPort()
        cls.addClassCleanup(cls.closed.close)
        reg = cls.d.register
        cls.web = reg(record("web", [cls.up.address]))["port"]
        cls.broken = reg(record("broken", [cls.closed.address]))["port"]
        # One instance passes its checks, the other refuses them: 1 of 2 up.
        cls.checked = reg(record("checked", [cls.up.address, cls.closed.address],
                                 health={"check": CHECK}))["port"]

    def ctl(self, *args, timeout=20.0):
        return icahtctl(*args, socket_path=self.d.admin_socket, timeout=timeout)

    def top_with_traffic(self, *args):
        """Runs `icahtctl top ARGS` while requests flow to web and broken; returns its
        output and what the traffic got."""
        traffic = Traffic([self.web, self.broken])
        try:
            p = self.ctl("top", *args)
        finally:
            traffic.stop()
        self.assertEqual(p.returncode, 0, "rc=%d\nstdout=%s\nstderr=%s" % (
            p.returncode, p.stdout, p.stderr))
        self.assertEqual(p.stderr, "")
        # The traffic saw what top must report: web answers, broken's upstream refuses.
        self.assertTrue(traffic.statuses[self.web])
        self.assertEqual(set(traffic.statuses[self.web]), {200})
        self.assertEqual(set(traffic.statuses[self.broken]), {502})
        return p.stdout

    def wait_checked_instance_down(self):
        def down():
            _, body = harness.ops_get(self.d.ops_port, "/metrics")
            m = parse_metrics(body.decode())
            key = ("icaht_upstream_up", frozenset({"service": "checked",
                                                  "upstream": self.closed.address}.items()))
            return m.get(key) == 0
        wait_until(down, 10, what="the refusing instance of 'checked' out of the rotation")

    def test_once_prints_one_table_of_the_interval(self):
        self.wait_checked_instance_down()
        out = self.top_with_traffic("--once", "--interval", "0.5")
        self.assertNotIn("\x1b", out)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(),
                         ["SERVICE", "REQ/S", "ERR%", "P50", "P99", "CONNS", "UPSTREAMS"], out)
        rows = {}
        for line in lines[1:]:
            cols = line.split()
            rows[cols[0]] = {"rps": float(cols[1]), "err": cols[2], "p50": cols[3],
                             "p99": cols[4], "conns": int(cols[5]), "up": " ".join(cols[6:])}
        self.assertEqual(set(rows), {"web", "broken", "checked"}, out)
        # Sorted by req/s: the two busy services first.
        self.assertEqual(list(rows)[2], "checked", out)
        web, broken, checked = rows["web"], rows["broken"], rows["checked"]
        self.assertGreater(web["rps"], 0, out)
        self.assertEqual(web["err"], "0.0%", out)
        self.assertTrue(web["p50"].endswith("ms") or web["p50"].endswith("s"), out)
        self.assertEqual(web["up"], "1/1 up", out)
        self.assertGreater(broken["rps"], 0, out)
        self.assertEqual(broken["err"], "100.0%", out)
        self.assertEqual(checked["rps"], 0, out)
        self.assertEqual((checked["err"], checked["p50"], checked["p99"]), ("-", "-", "-"), out)
        self.assertEqual(checked["up"], "1/2 up", out)
        self.assertEqual(len(lines), 4, out)

    def test_json_rows_per_refresh(self):
        self.wait_checked_instance_down()
        start = time.monotonic()
        out = self.top_with_traffic("--json", "--count", "2", "--interval", "0.5",
                                    "--sort", "name")
        self.assertGreaterEqual(time.monotonic() - start, 1.0)  # two intervals
        refreshes = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(refreshes), 2, out)
        for r in refreshes:
            self.assertAlmostEqual(r["interval_s"], 0.5, delta=0.25)
            self.assertLess(abs(r["time"] - time.time()), 60)
            services = r["services"]
            self.assertEqual([s["service"] for s in services], ["broken", "checked", "web"])
            broken, checked, web = services
            for s in (broken, web):
                self.assertGreater(s["requests"], 0, r)
                rate = s["requests"] / r["interval_s"]
                self.assertAlmostEqual(s["requests_per_second"], rate, delta=rate * 1e-6)
                self.assertLessEqual(s["p50_seconds"], s["p99_seconds"], r)
                self.assertLess(s["p99_seconds"], 10, r)
            self.assertEqual(web["error_ratio"], 0, r)
            self.assertEqual(broken["error_ratio"], 1, r)
            self.assertEqual((web["upstreams_up"], web["upstreams"]), (1, 1))
            self.assertEqual((checked["upstreams_up"], checked["upstreams"]), (1, 2))
            self.assertEqual(checked["requests"], 0)
            self.assertIsNone(checked["error_ratio"])
            self.assertIsNone(checked["p99_seconds"])

    def test_rows_cover_the_interval_not_the_history(self):
        # Requests answered before top's first scrape are not in its rates.
        for _ in range(5):
            conn = http.client.HTTPConnection("127.0.0.1", self.web, timeout=5)
            conn.request("GET", "/top/burst")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        p = self.ctl("--json", "top", "--once", "--interval", "0.3")
        self.assertEqual(p.returncode, 0, p.stderr)
        web = [s for s in json.loads(p.stdout)["services"] if s["service"] == "web"][0]
        self.assertEqual(web["requests"], 0)
        self.assertEqual(web["requests_per_second"], 0)
        self.assertIsNone(web["p50_seconds"])

    def test_usage_errors_and_help(self):
        for args in (["--interval", "0"], ["--sort", "latency"], ["--count", "x"], ["extra"],
                     ["--once", "--count", "3"], ["--bogus"]):
            p = self.ctl("top", *args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn("usage: icahtctl top", p.stderr)
        p = self.ctl("top", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--once", p.stdout)
        self.assertIn("5xx", p.stdout)
        p = self.ctl("--help")
        self.assertIn("top         live per-service traffic view from /metrics", p.stdout)

    def test_no_daemon_exits_3(self):
        p = icahtctl("top", "--once", socket_path=self.d.dir + "/nothing.sock")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    harness.main()
