#!/usr/bin/env python3
"""Metrics through the real daemon with 2 shards (issue 10): exact counts summed over the
shards, every series family of a service (codes, durations, bytes, connections, errors by
kind, auth failures, rate limits, each upstream's health verdict), series gone at
deregistration, the same page on the admin socket, the registry, shard loop and
process families, Prometheus text 0.0.4 (checked by promtool) and OpenMetrics 1.0, and a real
Prometheus server scraping the ops listener and answering a query for a counter and for the
exemplar a sampled trace left on a latency bucket."""

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import harness
from harness import parse_metrics as parse
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream
from http_wire import read_response


class MetricsTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.up = cls.class_upstream(HttpUpstream, "up")
        cls.dir = harness.tempfile.mkdtemp(prefix="icaht-metrics-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        keys = os.path.join(cls.dir, "keys")
        with open(keys, "w") as f:
            f.write("ops:%s\n" % hashlib.sha256(b"k").hexdigest())
        reg = cls.d.register
        cls.plain = reg(record("plain", [cls.up.address]))["port"]
        cls.keyed = reg(record("keyed", [cls.up.address],
                               auth={"api_key": {"keys_file": keys}}))["port"]
        cls.limited = reg(record("limited", [cls.up.address],
                                 rate_limit={"requests_per_second": 0.01, "burst": 1}))["port"]
        cls.broken = reg(record("broken", ["127.0.0.1:%d" % harness.free_port()]))["port"]
        cls.traced = reg(record("traced", [cls.up.address], tracing={}))["port"]

    def scrape(self, accept=None):
        headers = {"Connection": "close"}
        if accept:
            headers["Accept"] = accept
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.d.ops_port,
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.headers.get("Content-Type"), resp.read().decode()

    def metrics(self):
        return parse(self.scrape()[1])

    def value(self, m, name, **labels):
        return m.get((name, frozenset(labels.items())), 0.0)

    def get(self, port, path=b"/x", headers=b""):
        s, reader = self.connect(port, timeout=10)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n%s\r\n" % (path, headers))
        return read_response(reader)

    def test_counts_are_exact_over_both_shards(self):
        before = self.metrics()
        n = 40  # a fresh connection each: the kernel spreads them over both shards
        for _ in range(n):
            self.assertEqual(self.get(self.plain).status, 200)
        m = self.metrics()
        delta = lambda name, **l: self.value(m, name, **l) - self.value(before, name, **l)
        self.assertEqual(delta("icaht_requests_total", service="plain", code="200"), n)
        self.assertEqual(delta("icaht_request_duration_seconds_count", service="plain"), n)
        self.assertEqual(delta("icaht_upstream_request_duration_seconds_count", service="plain"), n)
        self.assertEqual(delta("icaht_request_duration_seconds_bucket", service="plain", le="+Inf"),
                         n)
        self.assertGreater(delta("icaht_request_duration_seconds_sum", service="plain"), 0)
        # every request head is at least "GET /x HTTP/1.1\r\n\r\n"; every answer has a body
        self.assertGreater(delta("icaht_bytes_received_total", service="plain"), 19 * n)
        self.assertGreater(delta("icaht_bytes_sent_total", service="plain"), 50 * n)
        loops = [self.value(m, "icaht_shard_loops_total", shard=s) for s in ("0", "1")]
        self.assertTrue(all(v > 0 for v in loops), loops)

    def test_active_connections_gauge(self):
        s, _ = self.connect(self.plain, timeout=10)
        wait_until(lambda: self.value(self.metrics(), "icaht_active_connections",
                                      service="plain") >= 1, 5, what="connection counted")
        s.close()
        wait_until(lambda: self.value(self.metrics(), "icaht_active_connections",
                                      service="plain") == 0, 5, what="connection gone")

    def test_refusals_and_errors_by_kind(self):
        before = self.metrics()
        self.assertEqual(self.get(self.keyed).status, 401)
        self.assertEqual(self.get(self.keyed, headers=b"X-API-Key: wrong\r\n").status, 401)
        self.assertEqual(self.get(self.keyed, headers=b"X-API-Key: k\r\n").status, 200)
        statuses = [self.get(self.limited).status for _ in range(4)]
        self.assertIn(429, statuses)
        self.assertEqual(self.get(self.broken).status, 502)
        self.assertEqual(self.get(self.plain, path=b"/x/../y").status, 200)  # no endpoints: fine
        m = self.metrics()
        delta = lambda name, **l: self.value(m, name, **l) - self.value(before, name, **l)
        self.assertEqual(delta("icaht_auth_failures_total", service="keyed", reason="missing_credentials"), 1)
        self.assertEqual(delta("icaht_auth_failures_total", service="keyed", reason="invalid_api_key"),
                         1)
        self.assertEqual(delta("icaht_requests_total", service="keyed", code="401"), 2)
        self.assertEqual(delta("icaht_rate_limited_total", service="limited"), statuses.count(429))
        self.assertEqual(delta("icaht_requests_total", service="limited", code="429"),
                         statuses.count(429))
        self.assertEqual(delta("icaht_upstream_errors_total", service="broken",
                               kind="connect_refused"), 1)
        self.assertEqual(delta("icaht_requests_total", service="broken", code="502"), 1)
        # a bad request is the client's error, counted apart from the upstream's
        s, reader = self.connect(self.plain, timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assertEqual(read_response(reader).status, 400)
        m = self.metrics()
        self.assertGreaterEqual(self.value(m, "icaht_request_errors_total", service="plain",
                                           kind="bad_request"), 1)

    def test_deregistered_service_series_disappear(self):
        port = self.d.register(record("passing", [self.up.address]))["port"]
        self.assertEqual(self.get(port).status, 200)
        _, text = self.scrape()
        self.assertIn('service="passing"', text)
        m = parse(text)
        registered = self.value(m, "icaht_registry_changes_total", op="register")
        self.d.deregister("passing")
        _, text = self.scrape()
        self.assertNotIn('service="passing"', text)
        m = parse(text)
        self.assertGreaterEqual(self.value(m, "icaht_registry_changes_total", op="deregister"), 1)
        self.assertEqual(self.value(m, "icaht_registry_changes_total", op="register"), registered)
        self.assertEqual(self.value(m, "icaht_services"), len(self.d.services()["services"]))

    def test_upstream_up_per_instance(self):
        m = self.metrics()
        for name in ("plain", "keyed", "limited"):
            self.assertEqual(self.value(m, "icaht_upstream_up", service=name,
                                        upstream=self.up.address), 1)
        # Without health checks an instance stays in the rotation even when it refuses.
        broken = {dict(labels)["upstream"]: v for (name, labels), v in m.items()
                  if name == "icaht_upstream_up" and dict(labels)["service"] == "broken"}
        self.assertEqual(list(broken.values()), [1], broken)

    def test_admin_socket_serves_the_same_page(self):
        resp = self.d.admin("GET", "/metrics")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        # The same series (values move between the two scrapes).
        self.assertEqual(set(parse(resp.body.decode())), set(self.metrics()))
        self.assertEqual(self.d.admin("POST", "/metrics").status, 405)

    def test_process_and_shard_loop_families(self):
        m = self.metrics()
        self.assertGreater(self.value(m, "process_resident_memory_bytes"), 1e6)
        self.assertGreater(self.value(m, "process_open_fds"), 5)
        self.assertGreater(self.value(m, "process_max_fds"), 0)
        self.assertGreaterEqual(self.value(m, "process_threads"), 3)  # 2 shards + control
        start = self.value(m, "process_start_time_seconds")
        self.assertLess(abs(start - time.time()), 3600)
        for shard in ("0", "1"):
            last = self.value(m, "icaht_shard_last_loop_timestamp_seconds", shard=shard)
            self.assertLess(abs(time.time() - last), 5, "shard %s loop looks stuck" % shard)
            self.assertGreater(self.value(m, "icaht_shard_ring_completions_total", shard=shard), 0)

    def test_text_format_passes_promtool(self):
        promtool = shutil.which("promtool")
        if promtool is None:
            self.skipTest("promtool is not installed (Debian: prometheus)")
        self.get(self.plain)
        ctype, text = self.scrape()
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        self.assertNotIn("# EOF", text)
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_openmetrics_when_asked(self):
        self.get(self.plain)
        ctype, text = self.scrape("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        self.assertEqual(ctype, "application/openmetrics-text; version=1.0.0; charset=utf-8")
        self.assertTrue(text.endswith("# EOF\n"))
        self.assertIn("# TYPE icaht_requests counter\n", text)
        self.assertIn('icaht_requests_total{service="plain",code="200"}', text)
        self.assertIn('le="1.0"', text)
        self.assertNotIn("# TYPE icaht_requests_total", text)

    def test_prometheus_scrapes_and_answers_a_query(self):
        prometheus = shutil.which("prometheus")
        if prometheus is None:
            self.skipTest("prometheus is not installed")
        for _ in range(3):
            self.assertEqual(self.get(self.plain, path=b"/prom").status, 200)
        # A sampled trace leaves an exemplar on its latency bucket (OpenMetrics, which
        # Prometheus asks for when it stores exemplars).
        trace = os.urandom(16).hex()
        self.assertEqual(self.get(self.traced, headers=b"traceparent: 00-%s-%s-01\r\n" % (
            trace.encode(), os.urandom(8).hex().encode())).status, 200)
        web = harness.free_port()
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: icaht\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % self.d.ops_port)
        log = open(os.path.join(self.dir, "prometheus.log"), "w")
        proc = subprocess.Popen(
            [prometheus, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(
                self.dir, "tsdb"), "--web.listen-address=127.0.0.1:%d" % web,
             "--enable-feature=exemplar-storage", "--log.level=warn"], stdout=log, stderr=log)

        def stop():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        self.addCleanup(stop)
        expected = self.value(self.metrics(), "icaht_requests_total", service="plain", code="200")

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (web, urllib.parse.urlencode({"query": q}))
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    body = json.load(resp)
            except OSError:
                return None
            result = body.get("data", {}).get("result", [])
            return float(result[0]["value"][1]) if result else None

        # The scrape succeeded (up 1: the page parsed) and the counter reads back at least
        # what this test saw (later tests of the file may add to it meanwhile).
        wait_until(lambda: query('up{job="icaht"}') == 1.0, 60, interval=0.25,
                   what="prometheus scraped the ops listener")
        wait_until(lambda: (query('icaht_requests_total{service="plain",code="200"}') or 0)
                   >= expected, 30, interval=0.25, what="the counter in prometheus")

        def exemplar_traces():
            q = urllib.parse.urlencode({
                "query": 'icaht_request_duration_seconds_bucket{service="traced"}',
                "start": time.time() - 600, "end": time.time() + 60})
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query_exemplars?%s" % (
                        web, q), timeout=2) as resp:
                    body = json.load(resp)
            except OSError:
                return set()
            return {e["labels"].get("trace_id") for series in body.get("data") or []
                    for e in series["exemplars"]}
        wait_until(lambda: trace in exemplar_traces(), 30, interval=0.25,
                   what="the trace's exemplar in prometheus")


if __name__ == "__main__":
    harness.main()
