#!/usr/bin/env python3
"""etcd (issue 11): each sidecar publishes its services in Traefik's KV layout and the fleet's
records under its host id, through a real etcd's v3 JSON gateway on loopback. Two "hosts"
(sidecars with distinct --host-id and --advertise-address) serving one service both appear;
a host's keys hang on its lease (kill -9: gone within the TTL, others' stay; SIGTERM: revoked at
once); deregistration removes the host's server and, with the last host, the router; a sweep
removes the router of a service whose last host died; etcd restarted or wiped while the
sidecars run loses nothing once it is back, and etcd being away never holds up the admin API."""

import json
import time

import harness
from etcd_peer import Etcd
from harness import ops_get, parse_metrics, record

TTL = 2  # seconds: dead hosts' keys go within this
SERVICES = "traefik/http/services/"
ROUTERS = "traefik/http/routers/"


def server_key(name, host):
    return "%s%s/loadBalancer/servers/%d/url" % (SERVICES, name, host)


class EtcdTest(harness.E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd()
        cls.addClassCleanup(cls.etcd.cleanup)
        cls.etcd.start()
        cls.a = cls.host_daemon(1)
        cls.b = cls.host_daemon(2)

    @classmethod
    def host_daemon(cls, host_id, ttl=TTL, start=True, endpoints=None):
        d = harness.Daemon(shards=1, range_size=40, name="host%d" % host_id, extra_args=(
            "--etcd-endpoints", endpoints or cls.etcd.url, "--host-id", str(host_id),
            "--advertise-address", "10.0.0.%d" % host_id, "--etcd-lease-ttl-s", str(ttl)))
        cls.addClassCleanup(harness.stop_checked, d)
        if start:
            d.start()
        return d

    def keys(self, name, predicate, timeout=10.0, what="keys"):
        """Every key of service `name` (router, service, records, marker) once predicate holds."""
        def all_keys():
            out = {}
            for prefix in ("%s%s/" % (ROUTERS, name), "%s%s/" % (SERVICES, name),
                           "icaht/services/%s/" % name):
                out.update(self.etcd.get_prefix(prefix))
            out.update({k: v for k, v in self.etcd.get_prefix("icaht/shared/").items()
                        if k == "icaht/shared/" + name})
            return out
        last = {}

        def check():
            nonlocal last
            last = all_keys()
            return predicate(last)
        try:
            harness.wait_until(check, timeout, interval=0.05, what=what)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, json.dumps(last, indent=1)))
        return last

    def etcd_metric(self, name):
        """One of host 1's unlabelled icaht_etcd_* samples."""
        return self.metrics(self.a)[(name, frozenset())]

    def metrics(self, d):
        status, body = ops_get(d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode())

    def test_two_hosts_publish_one_service(self):
        port_a = self.a.register(record("orders", ["127.0.0.1:9"], route={
            "rule": "Host(`orders.example`)", "entry_points": ["web"], "priority": 5}))["port"]
        port_b = self.b.register(record("orders", ["127.0.0.1:9"], route={
            "rule": "Host(`orders.example`)", "entry_points": ["web"], "priority": 5}))["port"]
        keys = self.keys("orders", lambda k: server_key("orders", 1) in k and
                         server_key("orders", 2) in k, what="both hosts' servers")
        self.assertEqual(keys[server_key("orders", 1)], "http://10.0.0.1:%d" % port_a)
        self.assertEqual(keys[server_key("orders", 2)], "http://10.0.0.2:%d" % port_b)
        self.assertEqual(keys[ROUTERS + "orders/rule"], "Host(`orders.example`)")
        self.assertEqual(keys[ROUTERS + "orders/service"], "orders")
        self.assertEqual(keys[ROUTERS + "orders/entryPoints/0"], "web")
        self.assertEqual(keys[ROUTERS + "orders/priority"], "5")
        self.assertEqual(keys[SERVICES + "orders/loadBalancer/healthCheck/path"], "/ready")
        self.assertIn("icaht/shared/orders", keys)
        # The fleet's records: this host's id, URL and the whole record.
        rec = json.loads(keys["icaht/services/orders/2"])
        self.assertEqual(rec["host_id"], 2)
        self.assertEqual(rec["url"], "http://10.0.0.2:%d" % port_b)
        self.assertEqual(rec["record"]["name"], "orders")
        self.assertEqual(rec["record"]["port"], port_b)
        self.assertEqual(self.etcd_metric("icaht_etcd_up"), 1)
        self.assertGreaterEqual(self.etcd_metric("icaht_etcd_transactions_total"), 1)

    def test_update_replaces_stale_shared_keys(self):
        r = record("billing", ["127.0.0.1:9"], route={"entry_points": ["web", "websecure"]})
        r["port"] = self.a.register(r)["port"]
        self.keys("billing", lambda k: ROUTERS + "billing/entryPoints/1" in k,
                  what="two entry points")
        r["route"] = {"entry_points": ["web"], "rule": "PathPrefix(`/bill`)"}
        r["health"] = {"ready_path": ""}
        resp = self.a.admin("PUT", "/v1/services/billing", r)
        self.assertEqual(resp.status, 200, resp)
        keys = self.keys("billing", lambda k: ROUTERS + "billing/entryPoints/1" not in k and
                         k.get(ROUTERS + "billing/rule") == "PathPrefix(`/bill`)",
                         what="the update in etcd")
        self.assertEqual(keys[ROUTERS + "billing/entryPoints/0"], "web")
        self.assertFalse([k for k in keys if "/healthCheck/" in k], keys)  # no ready path now
        self.assertIn(server_key("billing", 1), keys)

    def test_deregistration_removes_the_router_with_the_last_host(self):
        for d in (self.a, self.b):
            d.register(record("pay", ["127.0.0.1:9"]))
        self.keys("pay", lambda k: server_key("pay", 1) in k and server_key("pay", 2) in k,
                  what="both servers")
        self.a.deregister("pay")
        keys = self.keys("pay", lambda k: server_key("pay", 1) not in k and
                         "icaht/services/pay/1" not in k, what="host 1's keys gone")
        self.assertIn(server_key("pay", 2), keys)
        self.assertIn(ROUTERS + "pay/rule", keys)  # host 2 still serves it
        self.b.deregister("pay")
        self.keys("pay", lambda k: not k, what="every key of the service gone")

    def test_killed_host_loses_only_its_server_after_the_ttl(self):
        c = self.host_daemon(3)
        self.a.register(record("inventory", ["127.0.0.1:9"]))
        c.register(record("inventory", ["127.0.0.1:9"]))
        self.keys("inventory", lambda k: server_key("inventory", 3) in k and
                  server_key("inventory", 1) in k, what="both servers")
        c.kill()
        killed = time.monotonic()
        keys = self.keys("inventory", lambda k: server_key("inventory", 3) not in k,
                         timeout=TTL + 8, what="the dead host's server gone")
        # Gone by its lease: not before the TTL could run out (one keepalive may have just
        # renewed it, so at least a third of it), and the survivor's keys all stay.
        self.assertGreater(time.monotonic() - killed, TTL / 3)
        self.assertNotIn("icaht/services/inventory/3", keys)
        self.assertIn(server_key("inventory", 1), keys)
        self.assertIn("icaht/services/inventory/1", keys)
        self.assertIn(ROUTERS + "inventory/rule", keys)

    def test_sweep_removes_the_router_of_a_dead_last_host(self):
        d = self.host_daemon(4)
        d.register(record("lonely", ["127.0.0.1:9"]))
        self.keys("lonely", lambda k: server_key("lonely", 4) in k, what="published")
        d.kill()
        # The lease lapses (TTL), then another host's sweep (every 3 TTLs) finds no server.
        self.keys("lonely", lambda k: not k, timeout=TTL + 3 * TTL * 1.1 + 8,
                  what="the router swept")

    def test_an_operators_router_is_never_touched(self):
        # A router of the same name that no sidecar wrote (no icaht/shared/ marker).
        self.etcd.put(ROUTERS + "legacy/rule", "Host(`legacy.example`)")
        self.etcd.put(ROUTERS + "legacy/tls/certResolver", "le")
        errors = self.etcd_metric("icaht_etcd_errors_total")
        self.a.register(record("legacy", ["127.0.0.1:9"]))
        harness.wait_until(
            lambda: self.etcd_metric("icaht_etcd_errors_total") > errors and
            self.etcd_metric("icaht_etcd_pending_services") == 0, 10,
            what="the conflict counted")
        self.a.deregister("legacy")
        harness.wait_until(
            lambda: self.etcd_metric("icaht_etcd_pending_services") == 0, 10,
            what="the deregistration handled")
        self.assertEqual(self.keys("legacy", bool), {
            ROUTERS + "legacy/rule": "Host(`legacy.example`)",
            ROUTERS + "legacy/tls/certResolver": "le"})
        self.assertIn("not publishing the service over it", self.a.stderr())

    def test_deregistration_while_etcd_is_down_lands_when_it_is_back(self):
        self.b.register(record("gone", ["127.0.0.1:9"]))
        self.keys("gone", lambda k: server_key("gone", 2) in k, what="published")
        self.etcd.stop()
        try:
            self.b.deregister("gone")
        finally:
            self.etcd.start()
        self.keys("gone", lambda k: not k, timeout=15, what="every key of the service gone")

    def test_the_next_endpoint_is_used_and_the_lease_revoked_through_it(self):
        dead = "http://127.0.0.1:%d" % self.refusing_port().port
        d = self.host_daemon(6, ttl=60, endpoints="%s,%s" % (dead, self.etcd.url))
        d.register(record("failover", ["127.0.0.1:9"]))
        self.keys("failover", lambda k: server_key("failover", 6) in k, what="published")
        self.assertEqual(d.stop(), 0)
        self.keys("failover", lambda k: server_key("failover", 6) not in k, timeout=5,
                  what="the lease revoked at shutdown")

    def test_sigterm_with_etcd_unreachable_exits_at_once(self):
        dead = "http://127.0.0.1:%d" % self.refusing_port().port
        d = self.host_daemon(7, endpoints=dead)
        d.register(record("alone", ["127.0.0.1:9"]))  # the admin API does not wait for etcd
        started = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - started, 5)

    def test_sigterm_revokes_the_lease_at_once(self):
        d = self.host_daemon(5, ttl=60)
        d.register(record("shipping", ["127.0.0.1:9"]))
        self.keys("shipping", lambda k: server_key("shipping", 5) in k, what="published")
        self.assertEqual(d.stop(), 0)
        # Well before the 60 s TTL. (The router stays until another host's sweep finds no
        # server of it: no assertion on it here.)
        self.keys("shipping", lambda k: server_key("shipping", 5) not in k, timeout=5,
                  what="the server gone at shutdown")

    def test_restarted_etcd_loses_nothing(self):
        self.a.register(record("catalog", ["127.0.0.1:9"]))
        self.keys("catalog", lambda k: server_key("catalog", 1) in k, what="published")
        self.etcd.stop()
        try:
            # The admin API does not wait for etcd.
            started = time.monotonic()
            late = self.a.register(record("late", ["127.0.0.1:9"]))
            self.assertLess(time.monotonic() - started, 2.0)
            harness.wait_until(
                lambda: self.etcd_metric("icaht_etcd_up") == 0 and
                self.etcd_metric("icaht_etcd_errors_total") > 0, 10,
                what="icaht_etcd_up 0 and errors counted")
            self.assertGreaterEqual(
                self.etcd_metric("icaht_etcd_pending_services"), 1)
        finally:
            self.etcd.start()
        keys = self.keys("late", lambda k: server_key("late", 1) in k, timeout=15,
                         what="the change made while etcd was down")
        self.assertEqual(keys[server_key("late", 1)], "http://10.0.0.1:%d" % late["port"])
        self.keys("catalog", lambda k: server_key("catalog", 1) in k, timeout=15,
                  what="the earlier service still (or again) published")
        harness.wait_until(lambda: self.etcd_metric("icaht_etcd_up") == 1, 10,
                           what="icaht_etcd_up 1 again")

    def test_wiped_etcd_gets_everything_again(self):
        self.a.register(record("search", ["127.0.0.1:9"]))
        self.b.register(record("search", ["127.0.0.1:9"]))
        self.keys("search", lambda k: server_key("search", 1) in k and
                  server_key("search", 2) in k, what="published")
        self.etcd.wipe()  # the leases are gone with the data
        self.etcd.start()
        keys = self.keys("search", lambda k: server_key("search", 1) in k and
                         server_key("search", 2) in k and ROUTERS + "search/rule" in k,
                         timeout=TTL + 15, what="both hosts' keys published again")
        self.assertIn("icaht/shared/search", keys)


if __name__ == "__main__":
    harness.main()
