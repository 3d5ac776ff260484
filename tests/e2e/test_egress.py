#!/usr/bin/env python3
"""The egress listener (issue 14), one host: a local application calls services by name with
real curl and raw sockets, in the three naming styles (absolute-form through HTTP_PROXY, Host,
the target + internal headers); unknown names answer 502 JSON, hosts not allowed 403, CONNECT is
refused; the routing headers are removed, the request ID kept; edge policy applies to local
callers only with egress.via_ingress; metrics count {service=caller, destination}."""

import json
import socket

import harness
from harness import LOOPBACK, ops_get, parse_metrics, record
from http_peers import SharedDaemonTestCase
from peers import Upstream, curl


class EgressTest(SharedDaemonTestCase):

    @classmethod
    def daemon_args(cls):
        return ("--egress-allow", "*.allowed.test")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.billing = cls.upstream("billing")
        cls.guarded = cls.upstream("guarded")
        cls.d.register(record("billing", [cls.billing.address], request_id={}))
        cls.d.register(record("orders", [cls.billing.address]))
        # Its edge answers every caller 418; local callers pass by it unless via_ingress.
        fault = {"abort_status": 418, "abort_percent": 100}
        cls.d.register(record("guarded", [cls.guarded.address], fault=fault))
        cls.d.register(record("strict", [cls.guarded.address], fault=fault,
                              egress={"via_ingress": True}))
        cls.egress = "http://%s:%d" % (LOOPBACK, cls.d.egress_port)

    @classmethod
    def upstream(cls, name):
        up = Upstream(name)
        cls.addClassCleanup(up.stop)
        return up

    def proxied(self, url, *extra, **kwargs):
        """curl through the egress listener as its HTTP proxy (curl -x, as HTTP_PROXY does)."""
        return curl(url, "--noproxy", "", "-x", self.egress, *extra, **kwargs)

    def test_absolute_form_through_http_proxy(self):
        r = self.proxied("http://billing/invoices?page=2")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["upstream"], "billing")
        self.assertEqual(r.json["path"], "/invoices?page=2")
        self.assertEqual(r.json["headers"]["host"], "billing")

    def test_host_header_with_and_without_suffix(self):
        for host in ("billing", "billing.icaht", "BILLING.icaht:7000"):
            r = curl(self.egress + "/by-host", headers=["Host: " + host])
            self.assertEqual(r.status, 200, (host, r))
            self.assertEqual(r.json["path"], "/by-host")

    def test_target_and_internal_headers_are_routed_and_removed(self):
        r = curl(self.egress + "/ignored", headers=["target: http://billing/t?x=1",
                                                     "internal: true"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["path"], "/t?x=1")
        self.assertNotIn("target", r.json["headers"])
        self.assertNotIn("internal", r.json["headers"])
        # internal defaults to true.
        r = curl(self.egress + "/", headers=["target: http://billing.icaht/u"])
        self.assertEqual((r.status, r.json["path"]), (200, "/u"))

    def test_unknown_service_is_502_json_naming_it(self):
        for args in ((["--noproxy", "", "-x", self.egress], "http://nosuch/"),
                     (["-H", "Host: nosuch.icaht"], self.egress + "/"),
                     (["-H", "target: http://nosuch/"], self.egress + "/")):
            r = curl(args[1], *args[0])
            self.assertEqual(r.status, 502, r)
            error = json.loads(r.body)["error"]
            self.assertEqual(error["code"], "unknown_service")
            self.assertEqual(error["destination"], "nosuch")
            self.assertIn("nosuch", error["message"])

    def test_no_open_proxy(self):
        # An absolute URI or target to a host not allowed, and CONNECT, are refused.
        r = self.proxied("http://example.com/")
        self.assertEqual(r.status, 403, r)
        self.assertEqual(json.loads(r.body)["error"]["code"], "destination_not_allowed")
        r = curl(self.egress + "/", headers=["target: http://127.0.0.1:1/", "internal: false"])
        self.assertEqual(r.status, 403, r)
        with socket.create_connection((LOOPBACK, self.d.egress_port), timeout=5) as s:
            s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            answer = s.recv(65536)
        self.assertTrue(answer.startswith(b"HTTP/1.1 403 "), answer)
        self.assertIn(b"connect_refused", answer)

    def test_request_id_kept_and_proxy_authorization_dropped(self):
        r = self.proxied("http://billing/rid",
                 headers=["X-Request-Id: caller-trace-1", "Proxy-Authorization: Basic eDp5"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["headers"]["x-request-id"], "caller-trace-1")
        self.assertNotIn("proxy-authorization", r.json["headers"])
        r = self.proxied("http://billing/rid")
        self.assertTrue(r.json["headers"].get("x-request-id"), r.json)  # one is made

    def test_edge_policy_for_local_callers_only_with_via_ingress(self):
        port = [s for s in self.d.services()["services"] if s["name"] == "guarded"][0]["port"]
        self.assertEqual(curl("http://%s:%d/" % (LOOPBACK, port)).status, 418)
        self.assertEqual(self.proxied("http://guarded/").status, 200)
        self.assertEqual(self.proxied("http://strict/").status, 418)

    def test_keep_alive_across_destinations(self):
        with socket.create_connection((LOOPBACK, self.d.egress_port), timeout=5) as s:
            for name in ("billing", "guarded", "billing"):
                s.sendall(b"GET http://%s/ka HTTP/1.1\r\nHost: %s\r\n\r\n" % (
                    name.encode(), name.encode()))
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(65536)
                head, _, body = head.partition(b"\r\n\r\n")
                length = int([line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")][0])
                while len(body) < length:
                    body += s.recv(65536)
                self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
                self.assertEqual(json.loads(body)["upstream"], name)

    def test_metrics_by_caller_and_destination(self):
        self.proxied("http://billing/m", headers=["x-icaht-caller: orders"])
        self.proxied("http://billing/m", headers=["x-icaht-caller: not-a-service"])
        self.proxied("http://gone/", headers=["x-icaht-caller: orders"])
        samples = parse_metrics(ops_get(self.d.ops_port, "/metrics")[1].decode())

        def value(name, **labels):
            return samples.get((name, frozenset(labels.items())), 0)
        self.assertGreaterEqual(value("icaht_egress_requests_total", service="orders",
                                      destination="billing", code="200"), 1)
        self.assertGreaterEqual(value("icaht_egress_requests_total", service="unknown",
                                      destination="billing", code="200"), 1)
        self.assertGreaterEqual(value("icaht_egress_requests_total", service="orders",
                                      destination="unknown", code="502"), 1)
        self.assertGreaterEqual(value("icaht_egress_request_duration_seconds_count",
                                      service="orders", destination="billing"), 1)

    def test_deregistered_service_is_unknown(self):
        up = self.upstream("brief")
        self.d.register(record("brief", [up.address]))
        self.assertEqual(self.proxied("http://brief/").status, 200)
        self.d.deregister("brief")
        r = self.proxied("http://brief/")
        self.assertEqual(r.status, 502, r)


if __name__ == "__main__":
    harness.main()
