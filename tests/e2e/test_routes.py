#!/usr/bin/env python3
"""Traffic splitting (issue 19) through the real daemon (2 shards) to loopback instances labelled
v1 and v2: a header match sends `x-canary: 1` to v2 only; a path route goes to v1 with its
prefix rewritten; a direct response answers without an instance; a 90/10 split holds over
2,000 requests; a live change to 50/50 is seen on the next requests with none failing; a
sticky split (hash_on) keeps each client on one side; a route's own timeout applies; an
absolute-form target is routed on its path; local callers through the egress listener take the
routes; the access log names the route and the subset and icaht_requests_total counts by
subset; a subset whose
instances all fail is ejected by outlier detection without touching the other; records with an
unknown subset, zero weights, an empty subset or a bad regex are refused naming the field;
icahtctl route shows and sets a split."""

import http.client
import json
import os
import shutil
import tempfile
import threading

import harness
from harness import LOOPBACK, icahtctl, ops_get, parse_metrics, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream
from test_outlier_detection import FAST
from test_retries import Instance

LOG_DIR = tempfile.mkdtemp(prefix="icaht-routes-")
LOG = os.path.join(LOG_DIR, "access.log")

SUBSETS = [{"name": "v1", "labels": {"version": "v1"}},
           {"name": "v2", "labels": {"version": "v2"}}]


def labelled(address, version):
    return {"address": address, "labels": {"version": version}}


def split(v1, v2):
    return [{"subset": "v1", "weight": v1}, {"subset": "v2", "weight": v2}]


class Client:
    """A keep-alive client: get() returns (status, x-upstream, body)."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)

    def get(self, target="/", headers=None):
        self.conn.request("GET", target, headers=headers or {})
        resp = self.conn.getresponse()
        body = resp.read()
        return resp.status, resp.getheader("X-Upstream"), body

    def close(self):
        self.conn.close()


class RoutesTest(SharedDaemonTestCase):
    shards = 2

    @classmethod
    def daemon_args(cls):
        return ("--access-log", LOG)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(shutil.rmtree, LOG_DIR, True)
        cls.v1a = cls.class_upstream(HttpUpstream, "v1a")
        cls.v1b = cls.class_upstream(HttpUpstream, "v1b")
        cls.v2 = cls.class_upstream(HttpUpstream, "v2")
        cls.record = cls.routed_record(90, 10)
        cls.port = cls.d.register(cls.record)["port"]

    @classmethod
    def routed_record(cls, w1, w2):
        return {
            "name": "orders",
            "upstreams": [labelled(cls.v1a.address, "v1"), labelled(cls.v1b.address, "v1"),
                          labelled(cls.v2.address, "v2")],
            "subsets": SUBSETS,
            "routes": [
                {"name": "canary", "match": {"headers": [{"name": "X-Canary", "exact": "1"}]},
                 "to": {"subset": "v2"}},
                {"name": "api", "match": {"path_prefix": "/api/", "methods": ["GET"]},
                 "to": {"subset": "v1"}, "rewrite": {"path_prefix": "/v1/"}},
                {"name": "slow", "match": {"path_exact": "/slow", "query": [
                    {"name": "delay_ms", "present": True}]},
                 "to": {"subset": "v1"}, "timeouts": {"request_ms": 300}},
                {"match": {"path_regex": "/maint(enance)?"},
                 "direct_response": {"status": 503, "body": "down for maintenance\n"}},
                {"name": "split", "to": split(w1, w2)},
            ]}

    def update(self, record):
        r = self.d.admin("PUT", "/v1/services/orders", dict(record, port=self.port))
        self.assertEqual(r.status, 200, r.json)

    def client(self):
        c = Client(self.port)
        self.addCleanup(c.close)
        return c

    def spread(self, n, headers=None, clients=4):
        """n requests over `clients` keep-alive connections: {upstream name: count}."""
        seen = {}
        conns = [self.client() for _ in range(clients)]
        for i in range(n):
            status, upstream, _ = conns[i % clients].get("/", headers)
            self.assertEqual(status, 200)
            seen[upstream] = seen.get(upstream, 0) + 1
        return seen

    def test_header_match_sends_canaries_to_v2_only(self):
        seen = self.spread(60, {"x-canary": "1"})
        self.assertEqual(seen, {"v2": 60})
        # Another value is not a canary: the split (mostly v1).
        seen = self.spread(60, {"x-canary": "2"})
        self.assertGreater(seen.get("v1a", 0) + seen.get("v1b", 0), 40)

    def test_path_route_rewrites_to_v1(self):
        c = self.client()
        for _ in range(10):
            status, upstream, body = c.get("/api/items?x=1")
            self.assertEqual(status, 200)
            self.assertIn(upstream, ("v1a", "v1b"))
            self.assertEqual(json.loads(body)["target"], "/v1/items?x=1")
        # The route takes GET only: a POST goes to the split, unrewritten.
        c.conn.request("POST", "/api/items", body=b"x")
        resp = c.conn.getresponse()
        self.assertEqual(json.loads(resp.read())["target"], "/api/items")

    def test_direct_response_answers_without_an_instance(self):
        before = sum(u.count for u in (self.v1a, self.v1b, self.v2))
        c = self.client()
        for target in ("/maint", "/maintenance"):
            status, upstream, body = c.get(target)
            self.assertEqual((status, upstream, body), (503, None, b"down for maintenance\n"))
        self.assertEqual(c.get("/maintenance/x")[0], 200)  # the regex matches the whole path
        self.assertEqual(sum(u.count for u in (self.v1a, self.v1b, self.v2)), before + 1)

    def test_absolute_form_is_routed_on_its_path(self):
        c = self.client()
        self.assertEqual(c.get("http://orders/maint")[0], 503)
        status, upstream, body = c.get("http://orders/api/items")
        self.assertIn(upstream, ("v1a", "v1b"))
        self.assertEqual(json.loads(body)["target"], "/v1/items")

    def test_local_callers_through_egress_take_the_routes(self):
        c = Client(self.d.egress_port)
        self.addCleanup(c.close)
        for _ in range(10):
            self.assertEqual(c.get("/x", {"Host": "orders", "x-canary": "1"})[1], "v2")
        status, upstream, body = c.get("/api/items", {"Host": "orders"})
        self.assertIn(upstream, ("v1a", "v1b"))
        self.assertEqual(json.loads(body)["target"], "/v1/items")
        self.assertEqual(c.get("/maint", {"Host": "orders"})[0], 503)

    def test_route_timeout_applies(self):
        c = self.client()
        self.assertEqual(c.get("/slow?delay_ms=1")[0], 200)
        self.assertEqual(c.get("/slow?delay_ms=1500")[0], 504)  # the route's 300 ms
        c = self.client()
        self.assertEqual(c.get("/other?delay_ms=600")[0], 200)  # the record's 15 s

    def test_weighted_split_and_live_change(self):
        seen = self.spread(2000)
        v2 = seen.get("v2", 0) / 2000
        self.assertAlmostEqual(v2, 0.10, delta=0.025, msg=seen)
        self.assertGreater(seen.get("v1a", 0), 500)  # balanced within v1
        self.assertGreater(seen.get("v1b", 0), 500)

        # Requests keep flowing while the weights change; none fails.
        failures, stop = [], threading.Event()

        def load():
            c = Client(self.port)
            try:
                while not stop.is_set():
                    status = c.get("/")[0]
                    if status != 200:
                        failures.append(status)
            finally:
                c.close()
        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            self.update(self.routed_record(50, 50))
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertEqual(failures, [])
        try:
            # Over many connections (both shards): each took the new weights.
            seen = self.spread(1000, clients=24)
            self.assertAlmostEqual(seen.get("v2", 0) / 1000, 0.5, delta=0.06, msg=seen)
        finally:
            self.update(self.routed_record(90, 10))

    def test_access_log_and_metrics_name_route_and_subset(self):
        c = self.client()
        c.get("/logged-canary", {"x-canary": "1"})
        c.get("/maint")

        def entries():
            if not os.path.exists(LOG):
                return {}
            with open(LOG) as f:
                lines = [json.loads(line) for line in f.read().splitlines()]
            return {e["path"]: e for e in lines if e["path"] in ("/logged-canary", "/maint")}
        wait_until(lambda: len(entries()) == 2, 5, what="both requests logged")
        e = entries()
        self.assertEqual((e["/logged-canary"]["route_name"], e["/logged-canary"]["subset"]),
                         ("canary", "v2"))
        self.assertEqual(e["/maint"]["route_name"], "routes[3]")
        self.assertNotIn("subset", e["/maint"])

        status, page = ops_get(self.d.ops_port, "/metrics")
        m = parse_metrics(page.decode())

        def count(**labels):
            return m.get(("icaht_requests_total", frozenset(dict(labels, service="orders").items())),
                         0)
        self.assertGreaterEqual(count(code="200", subset="v2"), 1)
        self.assertGreaterEqual(count(code="503"), 1)  # the direct response: no subset

    def test_sticky_split_keeps_each_client_on_one_side(self):
        r = dict(self.record, name="sticky", hash_on="header:x-user")
        r["routes"] = [{"to": split(1, 1)}]
        port = self.d.register(r)["port"]
        self.addCleanup(self.d.deregister, "sticky")
        c = Client(port)
        self.addCleanup(c.close)
        sides = {}
        for user in range(40):
            got = {c.get("/", {"x-user": "u%d" % user})[1] == "v2" for _ in range(5)}
            self.assertEqual(len(got), 1, "user %d moved between subsets" % user)
            sides[user] = got.pop()
        self.assertTrue(any(sides.values()) and not all(sides.values()), sides)

    def test_failing_subset_is_ejected_without_touching_the_other(self):
        good = Instance(200)
        bad1, bad2 = Instance(503), Instance(503)
        for inst in (good, bad1, bad2):
            self.addCleanup(inst.stop)
        r = {"name": "ejecting", "outlier_detection": dict(FAST, max_ejection_percent=100),
             "upstreams": [labelled(good.address, "v1"), labelled(bad1.address, "v2"),
                           labelled(bad2.address, "v2")],
             "subsets": SUBSETS,
             "routes": [{"match": {"headers": [{"name": "x-canary", "present": True}]},
                         "to": {"subset": "v2"}},
                        {"to": {"subset": "v1"}}]}
        port = self.d.register(r)["port"]
        self.addCleanup(self.d.deregister, "ejecting")
        c = Client(port)
        self.addCleanup(c.close)

        def ejected():
            c.get("/", {"x-canary": "1"})
            return sorted(self.d.admin("GET", "/v1/services/ejecting").json.get("ejected", []))
        wait_until(lambda: ejected() == sorted([bad1.address, bad2.address]), 10,
                   what="both v2 instances ejected")
        # v1 was never touched: every plain request is served by it.
        self.assertEqual([c.get("/")[0] for _ in range(20)], [200] * 20)

    def test_bad_routes_are_refused_naming_the_field(self):
        base = dict(self.record, name="refused")
        cases = [
            ({"routes": [{"to": {"subset": "v3"}}]}, "routes[0].to[0].subset"),
            ({"routes": [{"to": split(0, 0)}]}, "routes[0].to"),
            ({"subsets": SUBSETS + [{"name": "v9", "labels": {"version": "v9"}}]}, "subsets[2]"),
            ({"routes": [{"match": {"path_regex": "(unclosed"}, "to": {"subset": "v1"}}]},
             "routes[0].match.path_regex"),
        ]
        for change, field in cases:
            with self.subTest(field=field):
                r = self.d.admin("POST", "/v1/services", dict(base, **change))
                self.assertEqual(r.status, 400, r.json)
                self.assertIn(field, r.json["error"]["message"])
        self.assertEqual(self.d.admin("GET", "/v1/services/refused").status, 404)

    def test_icahtctl_route_shows_and_sets_a_split(self):
        r = dict(self.record, name="ctl")
        r["routes"] = [r["routes"][0]]  # the canary route only
        self.d.register(r)
        self.addCleanup(self.d.deregister, "ctl")
        out = icahtctl("route", "ctl", "--split", "v1=70,v2=30", socket_path=self.d.admin_socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        routes = self.d.admin("GET", "/v1/services/ctl").json["routes"]
        self.assertEqual(routes[0]["name"], "canary")  # kept
        self.assertEqual(routes[-1], {"match": {}, "to": split(70, 30)})
        out = icahtctl("route", "ctl", socket_path=self.d.admin_socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("v1=70,v2=30", out.stdout)
        self.assertIn("canary", out.stdout)
        # A subset the record does not have: refused, record unchanged.
        out = icahtctl("route", "ctl", "--split", "v1=50,v7=50", socket_path=self.d.admin_socket)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("v7", out.stderr)
        self.assertEqual(self.d.admin("GET", "/v1/services/ctl").json["routes"], routes)


if __name__ == "__main__":
    harness.main()
