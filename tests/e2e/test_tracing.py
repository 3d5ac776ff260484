#!/usr/bin/env python3
"""Distributed tracing through the real daemon with 2 shards (issue 10): W3C Trace Context
continued or started per the processing model (tracestate kept or dropped, the sampled flag
honoured, the sample ratio applied to new traces), B3 single and multi headers, a server span
per sampled exchange exported to a loopback collector as OTLP/HTTP JSON and as Zipkin v2 JSON
with ids that match the propagated headers and the access log, failed exchanges marked as
errors, exemplars on the latency histograms, export retried after a collector failure, and
the last spans sent at shutdown."""

import json
import os
import re
import secrets
import shutil
import tempfile
import urllib.request

import harness
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream
from http_wire import read_response
from trace_collector import TraceCollector

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$")


def new_ids():
    return secrets.token_hex(16), secrets.token_hex(8)


class TracingTestCase(SharedDaemonTestCase):
    collector_path = "/v1/traces"

    @classmethod
    def daemon_args(cls):
        return ("--trace-endpoint", cls.collector.url(cls.collector_path),
                "--access-log", cls.log_path)

    @classmethod
    def setUpClass(cls):
        cls.collector = TraceCollector()
        cls.log_dir = tempfile.mkdtemp(prefix="icaht-trace-")
        cls.log_path = os.path.join(cls.log_dir, "access.log")
        try:
            super().setUpClass()
        finally:
            cls.addClassCleanup(cls.collector.stop)
            cls.addClassCleanup(shutil.rmtree, cls.log_dir, True)
        cls.up = cls.class_upstream(HttpUpstream, "up")

    def send(self, port, target=b"/x", headers=()):
        """One request; returns (response, the headers the upstream saw as a dict of lists)."""
        s, reader = self.connect(port, timeout=10)
        extra = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in headers)
        s.sendall(b"GET %s HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n%s\r\n" % (target, extra))
        r = read_response(reader)
        seen = {}
        if r.headers.get("X-Upstream"):
            for k, v in r.json["header_list"]:
                seen.setdefault(k.lower(), []).append(v)
        return r, seen

    def log_line(self, trace_id):
        found = []

        def check():
            if os.path.exists(self.log_path):
                with open(self.log_path) as f:
                    found[:] = [e for e in map(json.loads, f.read().splitlines())
                                if e.get("trace_id") == trace_id]
            return bool(found)
        wait_until(check, 5, what="the access log line of trace " + trace_id)
        return found[0]

    def scrape(self, accept="text/plain"):
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.d.ops_port,
                                     headers={"Accept": accept})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.read().decode()


class OtlpTracingTest(TracingTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reg = cls.d.register
        cls.port = reg(record("traced", [cls.up.address], request_id={},
                              tracing={"sample_ratio": 1}))["port"]
        cls.rare = reg(record("rare", [cls.up.address], tracing={"sample_ratio": 0}))["port"]
        cls.b3 = reg(record("b3", [cls.up.address],
                            tracing={"propagation": ["b3", "b3multi"]}))["port"]
        cls.plain = reg(record("plain", [cls.up.address]))["port"]
        cls.broken = reg(record("broken", ["127.0.0.1:%d" % harness.free_port()],
                                tracing={}))["port"]

    def test_valid_trace_is_continued_with_a_new_span(self):
        trace, parent = new_ids()
        r, seen = self.send(self.port, b"/orders/7?q=1", [
            ("traceparent", "00-%s-%s-01" % (trace, parent)),
            ("tracestate", "vendor=opaque,other=2"), ("User-Agent", "tracer/1")])
        self.assertEqual(r.status, 200)
        (tp,) = seen["traceparent"]
        m = TRACEPARENT.match(tp)
        self.assertIsNotNone(m, tp)
        self.assertEqual(m.group(1), trace)
        span_id = m.group(2)
        self.assertNotEqual(span_id, parent, "the proxy's own span is the upstream's parent")
        self.assertEqual(m.group(3), "01")
        self.assertEqual(seen["tracestate"], ["vendor=opaque,other=2"])

        (span,) = self.collector.wait_for(trace)
        self.assertEqual(span["format"], "otlp")
        self.assertEqual(span["span_id"], span_id)
        self.assertEqual(span["parent_id"], parent)
        self.assertEqual(span["kind"], "SERVER")
        self.assertEqual(span["name"], "GET")
        self.assertFalse(span["error"])
        self.assertLessEqual(span["start_ns"], span["end_ns"])
        a = span["attributes"]
        self.assertEqual(a["icaht.service"], "traced")
        self.assertEqual(a["http.request.method"], "GET")
        self.assertEqual(a["url.path"], "/orders/7")
        self.assertEqual(a["http.response.status_code"], "200")
        self.assertEqual(a["icaht.upstream.address"], self.up.address)
        self.assertEqual(a["user_agent.original"], "tracer/1")
        self.assertEqual(a["client.address"], "127.0.0.1")

        line = self.log_line(trace)
        self.assertEqual(line["span_id"], span_id)
        self.assertEqual(line["service"], "traced")
        self.assertEqual(r.headers.get("X-Request-Id"), line["request_id"])

    def test_missing_or_invalid_trace_starts_a_new_one_without_tracestate(self):
        for sent in ([], [("traceparent", "00-%s-%s-01" % ("0" * 32, "1" * 16)),
                          ("tracestate", "a=1")],
                     [("traceparent", "garbage"), ("tracestate", "a=1")]):
            r, seen = self.send(self.port, headers=sent)
            self.assertEqual(r.status, 200)
            self.assertEqual(len(seen["traceparent"]), 1, seen)
            m = TRACEPARENT.match(seen["traceparent"][0])
            self.assertIsNotNone(m, seen)
            self.assertNotEqual(m.group(1), "0" * 32)
            self.assertEqual(m.group(3), "01")  # sample_ratio 1
            self.assertNotIn("tracestate", seen)
            (span,) = self.collector.wait_for(m.group(1))
            self.assertIsNone(span["parent_id"], "a new trace's span is a root")
            self.assertEqual(span["span_id"], m.group(2))

    def test_unsampled_flag_is_honoured(self):
        quiet, parent = new_ids()
        r, seen = self.send(self.port, headers=[("traceparent", "00-%s-%s-00" % (quiet, parent))])
        self.assertEqual(r.status, 200)
        self.assertTrue(seen["traceparent"][0].startswith("00-%s-" % quiet))
        self.assertTrue(seen["traceparent"][0].endswith("-00"))
        # A sampled request sent after it: once its span is in, the unsampled one would be too.
        loud, parent = new_ids()
        self.send(self.port, headers=[("traceparent", "00-%s-%s-01" % (loud, parent))])
        self.collector.wait_for(loud)
        self.assertEqual(self.collector.find(quiet), [])
        self.assertEqual(self.log_line(quiet)["service"], "traced")  # still logged with its id

    def test_ratio_zero_samples_no_new_trace_but_an_incoming_sampled_flag_wins(self):
        r, seen = self.send(self.rare)
        m = TRACEPARENT.match(seen["traceparent"][0])
        self.assertEqual(m.group(3), "00")
        fresh = m.group(1)
        trace, parent = new_ids()
        r, seen = self.send(self.rare, headers=[("traceparent", "00-%s-%s-01" % (trace, parent))])
        self.assertTrue(seen["traceparent"][0].endswith("-01"))
        (span,) = self.collector.wait_for(trace)
        self.assertEqual(span["attributes"]["icaht.service"], "rare")
        self.assertEqual(self.collector.find(fresh), [])

    def test_b3_single_and_multi(self):
        trace, parent = new_ids()
        r, seen = self.send(self.b3, headers=[("b3", "%s-%s-1" % (trace, parent))])
        self.assertEqual(r.status, 200)
        (b3,) = seen["b3"]
        t, span_id, sampled, parent_id = b3.split("-")
        self.assertEqual((t, sampled, parent_id), (trace, "1", parent))
        self.assertEqual(seen["x-b3-traceid"], [trace])
        self.assertEqual(seen["x-b3-spanid"], [span_id])
        self.assertEqual(seen["x-b3-parentspanid"], [parent])
        self.assertEqual(seen["x-b3-sampled"], ["1"])
        self.assertNotIn("traceparent", seen, "w3c is not in this service's propagation")
        (span,) = self.collector.wait_for(trace)
        self.assertEqual((span["span_id"], span["parent_id"]), (span_id, parent))
        # Multi-header in, and a 64-bit trace id (B3 allows it): kept as its low half.
        short = secrets.token_hex(8)
        r, seen = self.send(self.b3, headers=[("X-B3-TraceId", short), ("X-B3-SpanId", parent),
                                              ("X-B3-Sampled", "1")])
        self.assertEqual(seen["x-b3-traceid"], ["0" * 16 + short])
        self.assertTrue(seen["b3"][0].startswith("0" * 16 + short + "-"))

    def test_service_without_tracing_passes_headers_untouched(self):
        sent = "00-%s-%s-01" % new_ids()
        r, seen = self.send(self.plain, headers=[("traceparent", sent), ("tracestate", "x=1")])
        self.assertEqual(seen["traceparent"], [sent])
        self.assertEqual(seen["tracestate"], ["x=1"])
        self.assertEqual(self.collector.find(sent[3:35]), [])

    def test_failed_exchange_is_an_error_span(self):
        trace, parent = new_ids()
        r, _ = self.send(self.broken, headers=[("traceparent", "00-%s-%s-01" % (trace, parent))])
        self.assertEqual(r.status, 502)
        (span,) = self.collector.wait_for(trace)
        self.assertTrue(span["error"])
        self.assertEqual(span["attributes"]["http.response.status_code"], "502")
        self.assertEqual(span["attributes"]["error.type"], "connect_refused")
        self.assertEqual(self.log_line(trace)["error"], "connect_refused")

    def test_exemplars_and_span_counters(self):
        trace, parent = new_ids()
        self.send(self.port, headers=[("traceparent", "00-%s-%s-01" % (trace, parent))])
        self.collector.wait_for(trace)
        text = self.scrape("application/openmetrics-text;version=1.0.0")
        exemplars = [line for line in text.splitlines()
                     if line.startswith("icaht_request_duration_seconds_bucket{service=\"traced\"")
                     and " # {trace_id=\"" in line]
        self.assertTrue(exemplars, "no exemplar on the traced service's latency buckets")
        ids = {re.search(r'trace_id="([0-9a-f]{32})"', line).group(1) for line in exemplars}
        self.assertTrue(ids <= {s["trace_id"] for s in self.collector.spans}, ids)
        m = harness.parse_metrics(self.scrape())
        self.assertGreaterEqual(m[("icaht_spans_exported_total", frozenset())], 1)
        self.assertEqual(m[("icaht_spans_dropped_total", frozenset())], 0)


class ZipkinTracingTest(TracingTestCase):
    collector_path = "/api/v2/spans"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = cls.d.register(record("zipped", [cls.up.address], tracing={}))["port"]

    def test_zipkin_spans_after_a_collector_failure(self):
        self.collector.fail(1, 503, retry_after=0)
        trace, parent = new_ids()
        r, seen = self.send(self.port, headers=[("traceparent", "00-%s-%s-01" % (trace, parent))])
        self.assertEqual(r.status, 200)
        span_id = TRACEPARENT.match(seen["traceparent"][0]).group(2)
        (span,) = self.collector.wait_for(trace, timeout=15)
        self.assertEqual(span["format"], "zipkin")
        self.assertEqual((span["span_id"], span["parent_id"]), (span_id, parent))
        self.assertEqual(span["kind"], "SERVER")
        self.assertEqual(span["attributes"]["icaht.service"], "zipped")
        self.assertEqual(span["remote"], {"ipv4": "127.0.0.1"})
        self.assertEqual(self.collector.posts[0], ("/api/v2/spans", 503))
        m = harness.parse_metrics(self.scrape())
        self.assertGreaterEqual(m[("icaht_span_export_retries_total", frozenset())], 1)
        self.assertEqual(m[("icaht_spans_dropped_total", frozenset())], 0)


class ShutdownFlushTest(harness.E2ETestCase):
    def test_last_spans_are_sent_at_shutdown(self):
        collector = TraceCollector()
        self.addCleanup(collector.stop)
        up = HttpUpstream("up")
        self.addCleanup(up.stop)
        d = self.start_daemon(extra_args=("--trace-endpoint", collector.url("/")))
        port = d.register(record("last", [up.address], tracing={}))["port"]
        trace, parent = new_ids()
        r = harness.curl("http://127.0.0.1:%d/x" % port,
                         headers=["traceparent: 00-%s-%s-01" % (trace, parent)])
        self.assertEqual(r.status, 200)
        self.assertEqual(d.stop(), 0)  # before the shards' spans were collected (every second)
        (span,) = collector.find(trace)
        self.assertEqual(span["format"], "otlp")  # "/" means /v1/traces
        self.assertEqual(span["parent_id"], parent)


if __name__ == "__main__":
    harness.main()
