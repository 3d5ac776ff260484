#!/usr/bin/env python3
"""Refused admin calls answer with the right JSON error and leave the registry unchanged."""

import socket

import harness
from harness import E2ETestCase, LOOPBACK, curl, record, url


class BadRegistrationsTest(E2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=2)
        self.up = self.start_upstream("up")
        # A registry that is not empty, so "unchanged" means something.
        self.existing = self.d.register(record("existing", [self.up.address]))

    def assertRefused(self, method, path, body, status, code, mentions=()):
        before = self.d.services()
        r = self.d.admin(method, path, body)
        self.assertApiError(r, status, code, mentions)
        self.assertEqual(self.d.services(), before, "registry changed after a refused call")
        return r

    def test_malformed_json(self):
        for body in (b'{"name": "x", "upstreams": [', b"not json", b"", b"[]", b'"x"',
                     b'{"name": "x"} trailing'):
            with self.subTest(body=body):
                self.assertRefused("POST", "/v1/services", body, 400, "invalid_argument")

    def test_missing_name(self):
        self.assertRefused("POST", "/v1/services", {"upstreams": [self.up.address]},
                           400, "invalid_argument", "name")

    def test_bad_field_types(self):
        cases = [
            ({"name": 5, "upstreams": [self.up.address]}, "name"),
            ({"name": "", "upstreams": [self.up.address]}, "name"),
            ({"name": "x", "upstreams": self.up.address}, "upstreams"),
            ({"name": "x", "upstreams": [self.up.address], "port": "7001"}, "port"),
            ({"name": "x", "upstreams": [self.up.address], "port": 70000}, "port"),
            ({"name": "x", "upstreams": [self.up.address], "timeouts": {"request_ms": -1}},
             "timeouts"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertRefused("POST", "/v1/services", body, 400, "invalid_argument", field)

    def test_missing_or_empty_upstreams(self):
        self.assertRefused("POST", "/v1/services", {"name": "x"}, 400, "invalid_argument",
                           "upstreams")
        self.assertRefused("POST", "/v1/services", {"name": "x", "upstreams": []}, 400,
                           "invalid_argument", "upstreams")

    def test_bad_upstream(self):
        for bad in ("not-an-address", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999",
                    {"address": "127.0.0.1:8080", "weight": "heavy"}, {"weight": 1}, 42):
            with self.subTest(upstream=bad):
                self.assertRefused("POST", "/v1/services", record("x", [bad]), 400,
                                   "invalid_argument", "upstreams[0]")
        # The index names the offending element.
        self.assertRefused("POST", "/v1/services", record("x", [self.up.address, "nope"]), 400,
                           "invalid_argument", "upstreams[1]")

    def test_unknown_field(self):
        self.assertRefused("POST", "/v1/services",
                           record("x", [self.up.address], bogus_field=1), 400,
                           "invalid_argument", "bogus_field")

    def test_duplicate_name(self):
        self.assertRefused("POST", "/v1/services", record("existing", [self.up.address]),
                           409, "already_exists", "existing")

    def test_port_taken_by_another_process(self):
        port = self.d.range_end  # in the range, not yet allocated by the daemon
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, port))
            s.listen(1)
            self.assertRefused("POST", "/v1/services",
                               record("x", [self.up.address], port=port), 409,
                               "already_exists", "port")
        # Once the other process let go, the same registration succeeds.
        rec = self.d.register(record("x", [self.up.address], port=port))
        self.assertEqual(rec["port"], port)
        self.assertEqual(curl(url(port, "/x")).status, 200)

    def test_port_taken_by_our_other_service(self):
        self.assertRefused("POST", "/v1/services",
                           record("x", [self.up.address], port=self.existing["port"]), 409,
                           "already_exists", "port")
        # The existing service is untouched and still serves.
        self.assertEqual(curl(url(self.existing["port"], "/existing")).status, 200)

    def test_upstream_on_our_own_service_port_is_refused(self):
        # One request through such a record looped ~5,900 times through the proxy.
        port = self.existing["port"]
        for target in ("%s:%d" % (LOOPBACK, port), "0.0.0.0:%d" % port, "localhost:%d" % port):
            with self.subTest(target=target):
                self.assertRefused("POST", "/v1/services",
                                   record("loop", [self.up.address, target]), 400,
                                   "invalid_argument",
                                   ("upstreams[1]", target, "service 'existing'", "loop"))
        own = self.d.spare_ports[0]
        self.assertRefused("POST", "/v1/services",
                           record("self", ["%s:%d" % (LOOPBACK, own)], port=own), 400,
                           "invalid_argument", ("upstreams[0]", "this service's own port"))
        # The automatic choice passes over a port the record (or a registered service) sends
        # to: the range's next free port is known.
        free = self.d.register(record("probe", [self.up.address]))["port"]
        self.d.deregister("probe")
        rec = self.d.register(record("auto-self", ["%s:%d" % (LOOPBACK, free)]))
        self.assertNotEqual(rec["port"], free)
        other = self.d.register(record("after-auto-self", [self.up.address]))
        self.assertNotEqual(other["port"], free)
        # An explicit port a registered service sends to would take its requests: refused.
        self.assertRefused("POST", "/v1/services",
                           record("taker", [self.up.address], port=free), 400,
                           "invalid_argument", ("field 'port'", "auto-self", "loop"))
        for name in ("auto-self", "after-auto-self"):
            self.d.deregister(name)
        # Update: the same check, the record stays as it was.
        self.assertRefused("PUT", "/v1/services/existing",
                           record("existing", ["%s:%d" % (LOOPBACK, port)]), 400,
                           "invalid_argument", ("upstreams[0]", "own port"))
        self.assertEqual(curl(url(port, "/existing")).status, 200)

    def test_unknown_service(self):
        self.assertRefused("GET", "/v1/services/nope", None, 404, "not_found", "nope")
        self.assertRefused("PUT", "/v1/services/nope", record("nope", [self.up.address]), 404,
                           "not_found", "nope")
        self.assertRefused("DELETE", "/v1/services/nope", None, 404, "not_found", "nope")

    def test_wrong_method(self):
        for method, path in (("PATCH", "/v1/services/existing"), ("DELETE", "/v1/services"),
                             ("PUT", "/v1/services"), ("POST", "/v1/services/existing")):
            with self.subTest(method=method, path=path):
                self.assertRefused(method, path, record("existing", [self.up.address]), 405,
                                   "method_not_allowed")

    def test_bad_put(self):
        path = "/v1/services/existing"
        self.assertRefused("PUT", path, b"{", 400, "invalid_argument")
        self.assertRefused("PUT", path, {"name": "existing"}, 400, "invalid_argument",
                           "upstreams")
        self.assertRefused("PUT", path, record("existing", ["bad"]), 400, "invalid_argument",
                           "upstreams[0]")
        self.assertRefused("PUT", path, record("existing", [self.up.address],
                                               port=self.existing["port"] + 1), 400,
                           "invalid_argument", "port")
        # The service still serves with its original upstream.
        self.assertEqual(curl(url(self.existing["port"], "/existing")).json["upstream"], "up")


class PortRangeExhaustedTest(E2ETestCase):
    def test_small_range_exhausted(self):
        d = self.start_daemon(shards=2, range_size=3)
        up = self.start_upstream("up")
        ports = set()
        for i in range(3):
            ports.add(d.register(record("s%d" % i, [up.address]))["port"])
        self.assertEqual(ports, {d.range_start, d.range_start + 1, d.range_start + 2})
        before = d.services()
        r = d.admin("POST", "/v1/services", record("s3", [up.address]))
        self.assertApiError(r, 507, "resource_exhausted")
        self.assertEqual(d.services(), before)
        # Freeing one port makes room again, and the freed port is the one handed out.
        freed = before["services"][1]
        d.deregister(freed["name"])
        again = d.register(record("s3", [up.address]))
        self.assertEqual(again["port"], freed["port"])
        self.assertEqual(curl(url(again["port"], "/s3")).status, 200)


if __name__ == "__main__":
    harness.main()
