#!/usr/bin/env python3
"""The first filters of the request pipeline through the real daemon (issue 8): request IDs
(generated UUIDv4, a valid incoming one kept, an invalid one replaced, forwarded upstream and
echoed to the client, also on local answers and on 400/408/502/504), the local /health and
/ready endpoints of a service port (answered without the upstream, readiness following the
passive health of the instances, either turned off with ""), and the Via header."""

import json
import re
import time

import harness
from harness import curl, record, url
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream, LateUpstream
from http_wire import Truncated, read_response

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REQUEST_MS = 600
# Slack for a loaded 2-core machine (and ASan): timers fire late, never early.
SLACK = 3.0




def head_request(method, target, host=b"svc", extra=b""):
    return b"%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (method, target, host, extra)


# --------------------------------------------------------------------------- request IDs

class RequestIdTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.up = cls.class_upstream(HttpUpstream, "up", canned={
            "own_id": b"HTTP/1.1 200 OK\r\nX-Request-Id: chosen-by-upstream\r\n"
                      b"X-Trace-Ref: chosen-by-upstream\r\nContent-Length: 2\r\n"
                      b"Connection: close\r\n\r\nok"})
        cls.refused = harness.RefusingPort()
        cls.addClassCleanup(cls.refused.close)
        timeouts = {"connect_ms": 1000, "request_ms": REQUEST_MS, "idle_ms": 20000}
        reg = cls.d.register
        cls.port = reg(record("rid", [cls.up.address], request_id={}, timeouts=timeouts))["port"]
        cls.custom_port = reg(record("custom", [cls.up.address],
                                     request_id={"header": "X-Trace-Ref"}))["port"]
        cls.distrust_port = reg(record("distrust", [cls.up.address],
                                       request_id={"trust_incoming": False}))["port"]
        cls.plain_port = reg(record("plain", [cls.up.address]))["port"]
        cls.refused_port = reg(record("refused", [cls.refused.address], request_id={}))["port"]

    def exchange(self, port, data, method="GET", timeout=10.0):
        """Sends `data` on a fresh connection; returns the response (fails on no answer)."""
        s, reader = self.connect(port, timeout=timeout)
        s.sendall(data)
        try:
            return read_response(reader, method=method)
        except (Truncated, OSError) as exc:
            self.fail("no response to %r: %r" % (data[:80], exc))

    def get(self, port, target, extra=b""):
        return self.exchange(port, head_request(b"GET", target, extra=extra))

    def echoed(self, r, name="X-Request-Id"):
        values = r.headers.get_all(name)
        self.assertEqual(len(values), 1, "%s on the response: %r (%r)" % (name, values, r))
        return values[0]

    def forwarded(self, r, name="X-Request-Id"):
        """The values of `name` the upstream received (from its JSON description)."""
        self.assertEqual(r.status, 200, r)
        return [v for k, v in r.json["header_list"] if k.lower() == name.lower()]

    def assertUuid4(self, value):
        self.assertRegex(value, UUID4, "not a lower-case UUIDv4")

    # generated, forwarded, echoed ---------------------------------------------

    def test_generated_id_is_a_uuid4_forwarded_once_and_echoed(self):
        r = self.get(self.port, b"/rid/gen")
        sent = self.forwarded(r)
        self.assertEqual(len(sent), 1, "upstream got %r" % sent)
        self.assertUuid4(sent[0])
        self.assertEqual(self.echoed(r), sent[0])

    def test_ids_differ_between_requests(self):
        s, reader = self.connect(self.port)
        ids = []
        for i in range(20):
            s.sendall(head_request(b"GET", b"/rid/many%d" % i))
            r = read_response(reader)
            self.assertEqual(r.status, 200, r)
            ids.append(self.echoed(r))
            self.assertEqual(self.forwarded(r), [ids[-1]])
        for i in ids:
            self.assertUuid4(i)
        self.assertEqual(len(set(ids)), len(ids), "repeated IDs: %r" % ids)
        # And between connections (which may land on the other shard).
        more = {self.echoed(self.get(self.port, b"/rid/conn%d" % i)) for i in range(6)}
        self.assertEqual(len(more | set(ids)), len(ids) + 6)

    def test_valid_incoming_ids_are_kept(self):
        for incoming in (b"a", b"abc-123_XYZ.~!#$%&'*+^`|", b"\"<>{}[]\\/?=@:;,", b"k" * 200):
            with self.subTest(incoming=incoming[:40]):
                r = self.get(self.port, b"/rid/keep", b"X-Request-Id: %s\r\n" % incoming)
                self.assertEqual(self.forwarded(r), [incoming.decode()])
                self.assertEqual(self.echoed(r), incoming.decode())

    def test_incoming_header_name_is_case_insensitive(self):
        r = self.get(self.port, b"/rid/case", b"x-REQUEST-id: lower-case-name-7\r\n")
        self.assertEqual(self.forwarded(r), ["lower-case-name-7"])
        self.assertEqual(self.echoed(r), "lower-case-name-7")

    def test_invalid_incoming_ids_are_replaced_not_duplicated(self):
        cases = [
            ("201 characters", b"k" * 201),
            ("a space inside", b"abc def"),
            ("a tab inside", b"abc\tdef"),
            ("non-ASCII bytes", b"caf\xc3\xa9-id"),
            ("a byte 0x80", b"id\x80"),
        ]
        for name, incoming in cases:
            with self.subTest(name):
                r = self.get(self.port, b"/rid/bad", b"X-Request-Id: %s\r\n" % incoming)
                sent = self.forwarded(r)
                self.assertEqual(len(sent), 1, "upstream got %r" % sent)
                self.assertUuid4(sent[0])
                self.assertEqual(self.echoed(r), sent[0])

    def test_empty_incoming_id_is_replaced(self):
        r = self.get(self.port, b"/rid/empty", b"X-Request-Id: \r\n")
        sent = self.forwarded(r)
        self.assertEqual(len(sent), 1, "upstream got %r" % sent)
        self.assertUuid4(sent[0])
        self.assertEqual(self.echoed(r), sent[0])

    def test_trust_incoming_false_replaces_a_valid_id(self):
        r = self.get(self.distrust_port, b"/distrust/x", b"X-Request-Id: client-chosen-1\r\n")
        sent = self.forwarded(r)
        self.assertEqual(len(sent), 1, "upstream got %r" % sent)
        self.assertUuid4(sent[0])
        self.assertEqual(self.echoed(r), sent[0])

    def test_id_sent_by_the_upstream_is_replaced_on_the_response(self):
        r = self.get(self.port, b"/rid/own?raw=own_id", b"X-Request-Id: client-chosen-2\r\n")
        self.assertEqual((r.status, r.body), (200, b"ok"), r)
        self.assertEqual(self.echoed(r), "client-chosen-2")
        seen = [q for q in self.up.requests if q.target == "/rid/own?raw=own_id"]
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0].headers.get_all("X-Request-Id"), ["client-chosen-2"])

    def test_custom_header_name(self):
        r = self.get(self.custom_port, b"/custom/x")
        sent = self.forwarded(r, "X-Trace-Ref")
        self.assertEqual(len(sent), 1, "upstream got %r" % sent)
        self.assertUuid4(sent[0])
        self.assertEqual(self.echoed(r, "X-Trace-Ref"), sent[0])
        self.assertEqual(self.forwarded(r, "X-Request-Id"), [])
        self.assertEqual(r.headers.get_all("X-Request-Id"), [])
        # A valid incoming one in the custom header is kept; the upstream's is replaced.
        r = self.get(self.custom_port, b"/custom/own?raw=own_id", b"X-Trace-Ref: trace-77\r\n")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.echoed(r, "X-Trace-Ref"), "trace-77")

    def test_service_without_request_id_adds_none(self):
        r = self.get(self.plain_port, b"/plain/x")
        self.assertEqual(self.forwarded(r), [])
        self.assertEqual(r.headers.get_all("X-Request-Id"), [])
        r = self.get(self.plain_port, b"/plain/own?raw=own_id")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get_all("X-Request-Id"), ["chosen-by-upstream"],
                         "a service without request_id changed the upstream's header")

    # on errors and local answers -------------------------------------------------

    def test_id_on_502_when_the_upstream_refuses(self):
        r = self.get(self.refused_port, b"/refused/x")
        self.assertEqual(r.status, 502, r)
        self.assertUuid4(self.echoed(r))
        r = self.get(self.refused_port, b"/refused/y", b"X-Request-Id: kept-on-502\r\n")
        self.assertEqual(r.status, 502, r)
        self.assertEqual(self.echoed(r), "kept-on-502")

    def test_id_on_504_when_the_upstream_is_too_slow(self):
        t0 = time.monotonic()
        r = self.get(self.port, b"/rid/late?delay_ms=5000", b"X-Request-Id: kept-on-504\r\n")
        self.assertEqual(r.status, 504, r)
        self.assertLess(time.monotonic() - t0, REQUEST_MS / 1000.0 + SLACK)
        self.assertEqual(self.echoed(r), "kept-on-504")
        r = self.get(self.port, b"/rid/late?delay_ms=5000")
        self.assertEqual(r.status, 504, r)
        self.assertUuid4(self.echoed(r))

    def test_id_on_408_when_the_client_stops_sending_its_body(self):
        s, reader = self.connect(self.port)
        s.sendall(head_request(b"POST", b"/rid/upload",
                               extra=b"X-Request-Id: kept-on-408\r\nContent-Length: 100000\r\n")
                  + b"x" * 10)
        t0 = time.monotonic()
        reader.deadline = t0 + REQUEST_MS / 1000.0 + 2 * SLACK
        try:
            r = read_response(reader)
        except (Truncated, OSError) as exc:
            self.fail("no 408 for a stalled request body (%r)" % exc)
        self.assertEqual(r.status, 408, r)
        self.assertEqual(self.echoed(r), "kept-on-408")

    def test_id_on_400_for_a_malformed_request(self):
        for name, data in (
                ("duplicate Host", b"GET /rid/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                ("obs-fold", b"GET /rid/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n"),
                ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")):
            with self.subTest(name):
                r = self.exchange(self.port, data)
                self.assertEqual(r.status, 400, r)
                self.assertUuid4(self.echoed(r))

    def test_id_on_health_answers(self):
        r = self.get(self.port, b"/health")
        self.assertEqual(r.status, 200, r)
        self.assertUuid4(self.echoed(r))
        r = self.get(self.port, b"/ready", b"X-Request-Id: kept-on-ready\r\n")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.echoed(r), "kept-on-ready")

    def test_curl_sees_the_id(self):
        r = curl(url(self.port, "/rid/curl"))
        self.assertEqual(r.status, 200, r)
        self.assertUuid4(r.headers.get("x-request-id", ""))
        self.assertEqual(r.json["headers"]["x-request-id"], r.headers["x-request-id"])


# --------------------------------------------------------------------------- health, ready

class HealthTest(SharedDaemonTestCase):
    shards = 1  # passive health is per shard: one shard makes "down" deterministic

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        up = lambda name: cls.class_upstream(HttpUpstream, name)  # noqa: E731
        cls.up1, cls.up2, cls.up_off, cls.up_roff = up("up1"), up("up2"), up("off"), up("roff")
        reg = cls.d.register
        cls.port = reg(record("hs", [cls.up1.address, cls.up2.address]))["port"]
        cls.off_port = reg(record("hoff", [cls.up_off.address], health={"path": ""}))["port"]
        cls.roff_port = reg(record("roff", [cls.up_roff.address],
                                   health={"ready_path": ""}))["port"]

    def counts(self):
        return (self.up1.count, self.up2.count)

    def call(self, port, method, target, extra=b""):
        s, reader = self.connect(port)
        s.sendall(head_request(method, target, extra=extra))
        return read_response(reader, method=method.decode())

    def instances(self, *ups, state="up"):
        return [{"address": u.address, "state": state} for u in ups]

    def assertJson(self, r):
        self.assertTrue((r.headers.get("Content-Type") or "").startswith("application/json"), r)
        self.assertEqual(r.headers.get("X-Upstream"), None, "answered by the upstream: %r" % r)
        return json.loads(r.body)

    def test_health_is_answered_locally(self):
        before = self.counts()
        r = self.call(self.port, b"GET", b"/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.assertJson(r), {
            "service": "hs", "status": "serving",
            "instances": self.instances(self.up1, self.up2)})
        self.assertEqual(self.counts(), before, "the upstream saw /health")

    def test_health_head_has_no_body(self):
        before = self.counts()
        s, reader = self.connect(self.port)
        s.sendall(head_request(b"HEAD", b"/health") + head_request(b"GET", b"/hs/after"))
        r = read_response(reader, method="HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("X-Upstream"), None)
        # The next response starts right after the head: no body bytes in between.
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/hs/after"), r)
        self.assertEqual(sum(self.counts()) - sum(before), 1)

    def test_health_with_a_query_is_answered_locally(self):
        before = self.counts()
        r = self.call(self.port, b"GET", b"/health?x=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.assertJson(r)["status"], "serving")
        self.assertEqual(self.counts(), before, "the upstream saw /health?x=1")

    def test_post_health_goes_upstream(self):
        before = self.counts()
        r = self.call(self.port, b"POST", b"/health", b"Content-Length: 0\r\n")
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.headers.get("X-Upstream"), ("up1", "up2"), r)
        self.assertEqual((r.json["method"], r.json["target"]), ("POST", "/health"))
        self.assertEqual(sum(self.counts()) - sum(before), 1)

    def test_other_paths_go_upstream(self):
        for target in (b"/healthz", b"/health/x", b"/readyz", b"/hs/health"):
            with self.subTest(target=target):
                r = self.call(self.port, b"GET", target)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["target"], target.decode())

    def test_ready_is_answered_locally(self):
        before = self.counts()
        r = self.call(self.port, b"GET", b"/ready")
        self.assertEqual(r.status, 200, r)
        body = self.assertJson(r)
        self.assertEqual(body["service"], "hs")
        self.assertIs(body["ready"], True, body)
        self.assertEqual(body["instances"], self.instances(self.up1, self.up2))
        self.assertEqual(self.counts(), before, "the upstream saw /ready")

    def test_health_path_turned_off_goes_upstream(self):
        r = self.call(self.off_port, b"GET", b"/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("X-Upstream"), "off", r)
        self.assertEqual(r.json["target"], "/health")
        self.assertEqual(self.up_off.requests[-1].target, "/health")
        count = self.up_off.count
        r = self.call(self.off_port, b"GET", b"/ready")  # still local
        self.assertEqual(r.status, 200, r)
        self.assertIs(self.assertJson(r)["ready"], True)
        self.assertEqual(self.up_off.count, count)

    def test_ready_path_turned_off_goes_upstream(self):
        r = self.call(self.roff_port, b"GET", b"/ready")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("X-Upstream"), "roff", r)
        self.assertEqual(r.json["target"], "/ready")
        count = self.up_roff.count
        r = self.call(self.roff_port, b"GET", b"/health")  # still local
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.assertJson(r)["status"], "serving")
        self.assertEqual(self.up_roff.count, count)

    def test_ready_follows_passive_health(self):
        late = LateUpstream("late")  # refuses connections until open()
        self.addCleanup(late.stop)
        port = self.d.register(record("flip", [late.address]))["port"]
        r = self.call(port, b"GET", b"/ready")
        self.assertEqual(r.status, 200, "nothing failed yet: %r" % r)
        # A request finds the only instance refusing: 502, and the instance is down.
        r = self.call(port, b"GET", b"/flip/x")
        self.assertEqual(r.status, 502, r)
        r = self.call(port, b"GET", b"/ready")
        self.assertEqual(r.status, 503, r)
        body = self.assertJson(r)
        self.assertEqual(body, {"service": "flip", "ready": False,
                                "instances": self.instances(late, state="down")})
        r = self.call(port, b"HEAD", b"/ready")
        self.assertEqual(r.status, 503, r)
        r = self.call(port, b"GET", b"/health")  # the proxy itself still serves
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.assertJson(r)["instances"], self.instances(late, state="down"))
        # The instance comes back; once a request succeeds, the service is ready again.
        late.open()
        harness.wait_until(lambda: self.call(port, b"GET", b"/flip/back").status == 200, 10,
                           interval=0.1, what="a request to the instance that came back")
        r = self.call(port, b"GET", b"/ready")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.assertJson(r), {"service": "flip", "ready": True,
                                              "instances": self.instances(late)})

    def test_ready_while_one_of_two_instances_is_usable(self):
        late = LateUpstream("late2")  # never opened: refuses
        self.addCleanup(late.stop)
        good = HttpUpstream("good")
        self.addCleanup(good.stop)
        port = self.d.register(record("half", [late.address, good.address]))["port"]

        def refused_instance_down():
            self.call(port, b"GET", b"/half/x")
            r = self.call(port, b"GET", b"/health")
            return r.status == 200 and json.loads(r.body)["instances"][0]["state"] == "down"
        harness.wait_until(refused_instance_down, 10, interval=0.01,
                           what="the refusing instance to be marked down")
        r = self.call(port, b"GET", b"/ready")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.assertJson(r), {
            "service": "half", "ready": True,
            "instances": [{"address": late.address, "state": "down"},
                          {"address": good.address, "state": "up"}]})

    # Via -----------------------------------------------------------------------

    def test_via_on_forwarded_requests_and_responses(self):
        r = self.call(self.port, b"GET", b"/hs/via", b"Via: 1.0 edge\r\n")
        self.assertEqual(r.status, 200, r)
        upstream_via = [v for k, v in r.json["header_list"] if k.lower() == "via"]
        self.assertIn("1.1 icaht", ", ".join(upstream_via), "upstream got Via %r" % upstream_via)
        self.assertIn("1.0 edge", ", ".join(upstream_via), "the client's Via entry was lost")
        client_via = ", ".join(r.headers.get_all("Via"))
        self.assertIn("1.1 icaht", client_via, r)


if __name__ == "__main__":
    harness.main()
