"""A loopback trace collector for the e2e tests: accepts OTLP/HTTP JSON (POST /v1/traces) and
Zipkin v2 JSON (POST /api/v2/spans), checks each body against its format, and keeps every span
in one normalised form:

    {"format", "trace_id", "span_id", "parent_id" (or None), "name", "kind",
     "start_ns", "end_ns", "error" (bool), "attributes" {key: str}}

Failures on demand: fail(n, status, retry_after) answers the next n posts with `status`."""

import http.server
import json
import threading

import harness


def _otlp_value(v):
    for key in ("stringValue", "intValue", "boolValue", "doubleValue"):
        if key in v:
            return str(v[key])
    raise AssertionError("OTLP attribute value of no known type: %r" % v)


def _from_otlp(doc):
    spans = []
    for rs in doc["resourceSpans"]:
        resource = {a["key"]: _otlp_value(a["value"]) for a in rs["resource"]["attributes"]}
        assert resource.get("service.name"), "OTLP resource without service.name"
        for ss in rs["scopeSpans"]:
            assert ss["scope"]["name"], "OTLP scope without a name"
            for s in ss["spans"]:
                assert isinstance(s["startTimeUnixNano"], str), "times are decimal strings"
                spans.append({
                    "format": "otlp",
                    "trace_id": s["traceId"],
                    "span_id": s["spanId"],
                    "parent_id": s.get("parentSpanId"),
                    "name": s["name"],
                    "kind": {2: "SERVER", 3: "CLIENT"}[s["kind"]],
                    "start_ns": int(s["startTimeUnixNano"]),
                    "end_ns": int(s["endTimeUnixNano"]),
                    "error": s["status"]["code"] == 2,
                    "attributes": {a["key"]: _otlp_value(a["value"]) for a in s["attributes"]},
                })
    return spans


def _from_zipkin(doc):
    assert isinstance(doc, list), "Zipkin v2 posts a JSON array"
    spans = []
    for s in doc:
        assert s["localEndpoint"]["serviceName"], "Zipkin span without localEndpoint"
        tags = dict(s.get("tags", {}))
        spans.append({
            "format": "zipkin",
            "trace_id": s["traceId"],
            "span_id": s["id"],
            "parent_id": s.get("parentId"),
            "name": s["name"],
            "kind": s["kind"],
            "start_ns": s["timestamp"] * 1000,
            "end_ns": (s["timestamp"] + s["duration"]) * 1000,
            "error": "error" in tags,
            "attributes": tags,
            "remote": s.get("remoteEndpoint"),
        })
    return spans


class TraceCollector:
    def __init__(self):
        self.spans = []
        self.posts = []  # (path, status answered)
        self._lock = threading.Lock()
        self._failures = []  # statuses (with Retry-After) for the next posts
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, retry_after = collector._answer(self.path, self.headers, body)
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = http.server.ThreadingHTTPServer((harness.LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="trace-collector")
        self.thread.start()

    def url(self, path):
        return "http://%s:%d%s" % (harness.LOOPBACK, self.port, path)

    def fail(self, n, status, retry_after=None):
        with self._lock:
            self._failures.extend([(status, retry_after)] * n)

    def _answer(self, path, headers, body):
        assert headers["Content-Type"] == "application/json", headers["Content-Type"]
        with self._lock:
            if self._failures:
                status, retry_after = self._failures.pop(0)
                self.posts.append((path, status))
                return status, retry_after
        doc = json.loads(body)
        if path == "/v1/traces":
            spans = _from_otlp(doc)
        elif path == "/api/v2/spans":
            spans = _from_zipkin(doc)
        else:
            with self._lock:
                self.posts.append((path, 404))
            return 404, None
        with self._lock:
            self.posts.append((path, 200))
            self.spans.extend(spans)
        return 200, None

    def find(self, trace_id):
        with self._lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def wait_for(self, trace_id, timeout=10):
        """The spans of `trace_id`, once at least one arrived."""
        found = []

        def check():
            found[:] = self.find(trace_id)
            return bool(found)
        harness.wait_until(check, timeout, interval=0.05, what="a span of trace " + trace_id)
        return found

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

