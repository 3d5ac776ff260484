#!/usr/bin/env python3
"""Outlier detection (issue 12) through the real daemon to loopback upstreams: an instance that
answers 503 in a row is ejected (traffic goes to the others, /ready, GET and the metrics say so,
the log names it) and returns after its ejection time; below the panic threshold every
instance is used again; a bad outlier_detection is refused naming the field."""

import http.client
import json

import harness
from harness import ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from test_retries import Instance, call

FAST = {"consecutive_5xx": 3, "interval_s": 0.2, "base_ejection_s": 0.8,
        "max_ejection_percent": 50, "success_rate_min_hosts": 0}


class OutlierDetectionTest(SharedDaemonTestCase):
    shards = 1  # consecutive failures are counted per shard

    def instance(self, status=200):
        inst = Instance(status)
        self.addCleanup(inst.stop)
        return inst

    def register(self, name, instances, outlier):
        r = record(name, [i.address for i in instances], outlier_detection=outlier)
        return self.d.register(r)["port"]

    def metrics(self):
        status, body = ops_get(self.d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode())

    def ready_states(self, port):
        conn = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=5)
        try:
            conn.request("GET", "/ready")
            return {i["address"]: i["state"]
                    for i in json.loads(conn.getresponse().read())["instances"]}
        finally:
            conn.close()

    def test_failing_instance_is_ejected_and_returns(self):
        bad, a, b = self.instance(503), self.instance(), self.instance()
        port = self.register("ej", [bad, a, b], FAST)
        # Round robin: every third request meets the failing instance; three in a row trip it.
        statuses = [call(port)[0] for _ in range(9)]
        self.assertEqual(statuses.count(503), 3)
        wait_until(lambda: self.ready_states(port)[bad.address] == "ejected", 5,
                   what="the failing instance ejected")
        self.assertEqual(self.d.admin("GET", "/v1/services/ej").json["ejected"], [bad.address])
        m = self.metrics()
        self.assertEqual(m[("icaht_upstream_ejected",
                            frozenset({("service", "ej"), ("upstream", bad.address)}))], 1)
        self.assertEqual(m[("icaht_outlier_ejections_total",
                            frozenset({("service", "ej"), ("reason", "consecutive_5xx")}))], 1)
        self.assertIn("ejected for 800 ms (consecutive_5xx)", self.d.stderr())
        before = bad.count()
        self.assertEqual([call(port)[0] for _ in range(10)], [200] * 10)
        self.assertEqual(bad.count(), before)  # out of the rotation
        # Back after its ejection time, and asked again.
        wait_until(lambda: self.ready_states(port)[bad.address] == "up", 5,
                   what="the instance back")
        self.assertEqual(self.d.admin("GET", "/v1/services/ej").json["ejected"], [])
        for _ in range(6):
            call(port)
        self.assertGreater(bad.count(), before)

    def test_below_the_panic_threshold_every_instance_is_used(self):
        x, y = self.instance(503), self.instance(503)
        port = self.register("panic", [x, y], dict(FAST, max_ejection_percent=100,
                                                   base_ejection_s=30))
        for _ in range(12):
            call(port)
        wait_until(lambda: set(self.ready_states(port).values()) == {"ejected"}, 5,
                   what="both ejected")
        counts = (x.count(), y.count())
        # Nothing left in the rotation is below 50 %: both are asked again.
        self.assertEqual([call(port)[0] for _ in range(4)], [503] * 4)
        self.assertEqual(x.count() + y.count(), sum(counts) + 4)

    def test_without_panic_nothing_is_left(self):
        x, y = self.instance(503), self.instance(503)
        port = self.register("nopanic", [x, y], dict(FAST, max_ejection_percent=100,
                                                     base_ejection_s=30,
                                                     panic_threshold_percent=0))
        for _ in range(12):
            call(port)
        wait_until(lambda: set(self.ready_states(port).values()) == {"ejected"}, 5,
                   what="both ejected")
        status, body = call(port)
        self.assertEqual(status, 503)
        self.assertIn(b"no healthy instance", body)

    def test_dropping_outlier_detection_brings_every_instance_back(self):
        bad, good = self.instance(503), self.instance()
        port = self.register("dropped", [bad, good], dict(FAST, base_ejection_s=30))
        for _ in range(8):
            call(port)
        wait_until(lambda: self.ready_states(port)[bad.address] == "ejected", 5, what="ejected")
        r = self.d.admin("PUT", "/v1/services/dropped",
                         dict(record("dropped", [bad.address, good.address]), port=port))
        self.assertEqual(r.status, 200)
        self.assertNotIn("ejected", r.json)
        self.assertEqual(self.ready_states(port)[bad.address], "up")  # in the rotation again
        before = bad.count()
        for _ in range(4):
            call(port)
        self.assertEqual(bad.count(), before + 2)

    def test_a_lone_ejected_instance_still_serves_and_is_ready(self):
        only = self.instance(503)
        port = self.register("lone", [only], dict(FAST, base_ejection_s=30))
        for _ in range(3):
            call(port)
        wait_until(lambda: self.ready_states(port)[only.address] == "ejected", 5, what="ejected")
        # Panic: nothing else is left, so it is used (and /ready says so: 200).
        conn = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=5)
        conn.request("GET", "/ready")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        before = only.count()
        self.assertEqual(call(port)[0], 503)
        self.assertEqual(only.count(), before + 1)

    def test_a_bad_outlier_detection_is_refused(self):
        good = self.instance()
        r = self.d.admin("POST", "/v1/services", record(
            "badod", [good.address], outlier_detection={"base_ejection_s": 0}))
        self.assertEqual(r.status, 400)
        self.assertIn("outlier_detection.base_ejection_s", r.json["error"]["message"])
        self.assertEqual(self.d.admin("GET", "/v1/services/badod").status, 404)


if __name__ == "__main__":
    harness.main()
