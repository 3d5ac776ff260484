#!/usr/bin/env python3
"""TLS from the proxy to its upstreams (issue 13), through the real daemon to Python ssl
origins with certificates made at test time: verification on by default (a good chain, and
502 upstream_tls for a wrong CA, a wrong name or an expired certificate; verify false lets
them through), SNI from server_name, a client certificate for an upstream that requires one,
sessions resumed across pooled connections, large bodies both ways, and active health checks
that speak TLS to a TLS instance."""

import hashlib
import json
import os
import shutil
import subprocess
import socket
import tempfile
import time

import harness
from harness import ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from http_wire import PatternData
from peers import curl
from tls_peers import HttpsUpstream, Pki


class UpstreamTlsTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="icaht-tls-up-e2e-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.pki = Pki(cls.tmp)
        cert, key = cls.pki.server("localhost", sans=("DNS:localhost", "IP:127.0.0.1"))
        cls.good = cls.https(cert, key, name="good", alpn=["http/1.1"])
        cls.expired = cls.https(*cls.pki.server("old", sans=("DNS:localhost", "IP:127.0.0.1"),
                                                expired=True), name="expired")
        cls.mtls = cls.https(cert, key, client_ca=cls.pki.ca_cert, require_client_cert=True,
                             name="mtls")

    @classmethod
    def https(cls, cert, key, **kw):
        up = HttpsUpstream(cert, key, **kw)

        def stop():
            up.stop()
            if up.errors:
                raise AssertionError("upstream %s failed: %r" % (up.name, up.errors))
        cls.addClassCleanup(stop)
        return up

    def register(self, name, upstream, tls, **fields):
        entry = {"address": upstream.address, "tls": tls}
        return self.d.register(record(name, [entry], **fields))["port"]

    def get(self, port, path, **kw):
        return curl("http://127.0.0.1:%d%s" % (port, path), **kw)

    def upstream_errors(self, service):
        metrics = parse_metrics(ops_get(self.d.ops_port, "/metrics")[1].decode())
        return metrics.get(("icaht_upstream_errors_total",
                            frozenset({("service", service), ("kind", "upstream_tls")})), 0)

    def test_verified_upstream_with_sni(self):
        port = self.register("up-good", self.good, {"ca_file": self.pki.ca_cert})
        r = self.get(port, "/up-good/x")
        self.assertEqual(r.status, 200, r)
        seen = r.json
        self.assertEqual(seen["tls_version"], "TLSv1.3")
        self.assertIsNone(seen["sni"])  # an IP address is verified, never sent as SNI
        self.assertEqual(seen["alpn"], "http/1.1")
        port = self.register("up-named", self.good, {"ca_file": self.pki.ca_cert,
                                                     "server_name": "localhost"})
        r = self.get(port, "/up-named/x")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["sni"], "localhost")

    def test_verification_failures_are_502_upstream_tls(self):
        cases = [
            ("up-wrongca", self.good, {"ca_file": self.pki.other_ca_cert}),
            ("up-wrongname", self.good, {"ca_file": self.pki.ca_cert,
                                          "server_name": "wrong.test"}),
            ("up-expired", self.expired, {"ca_file": self.pki.ca_cert}),
        ]
        for name, upstream, tls in cases:
            port = self.register(name, upstream, tls)
            r = self.get(port, "/%s/" % name)
            self.assertEqual(r.status, 502, (name, r))
            self.assertGreaterEqual(self.upstream_errors(name), 1, name)
            self.assertIn("TLS handshake with upstream", self.d.stderr())
        # verify: false lets every one of them through.
        for name, upstream, tls in cases:
            tls = dict(tls, verify=False)
            port = self.register(name + "-nv", upstream, tls)
            self.assertEqual(self.get(port, "/%s-nv/" % name).status, 200, name)

    def test_client_certificate_to_an_upstream_that_requires_one(self):
        cert, key = self.pki.client("sidecar", uri_san="spiffe://test/sidecar")
        port = self.register("up-mtls", self.mtls, {"ca_file": self.pki.ca_cert,
                                                    "cert_file": cert, "key_file": key})
        r = self.get(port, "/up-mtls/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["client_cert"]["cn"], "sidecar")
        port = self.register("up-nocert", self.mtls, {"ca_file": self.pki.ca_cert})
        self.assertEqual(self.get(port, "/up-nocert/").status, 502)
        # (TLS 1.3: the refusal comes after the client's handshake, still a TLS failure.)
        self.assertGreaterEqual(self.upstream_errors("up-nocert"), 1)
        # A pair that does not match is refused at registration, naming the field.
        bad_cert, bad_key = self.pki.mismatched_pair()
        r = self.d.admin("POST", "/v1/services", record(
            "up-badpair", [{"address": self.mtls.address,
                            "tls": {"cert_file": bad_cert, "key_file": bad_key}}]))
        self.assertApiError(r, 400, "invalid_argument", "upstreams[0].tls.key_file")

    def test_sessions_resume_across_pooled_connections(self):
        up = self.https(*self.pki.server("resume", sans=("IP:127.0.0.1",)), name="resume")
        port = self.register("up-resume", up, {"ca_file": self.pki.ca_cert})
        # Every answer closes its connection, so each request needs a new one: after the
        # first on each shard (2), they offer the session the previous connection left.
        for _ in range(8):
            self.assertEqual(self.get(port, "/up-resume/?close=1").status, 200)
        self.assertEqual(up.handshakes, 8)
        self.assertGreaterEqual(up.resumed, 6, "resumed %d of 8" % up.resumed)

    def test_a_handshake_that_never_ends_is_a_connect_timeout(self):
        # Accepts, reads, never answers: the TLS handshake stalls.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        self.addCleanup(silent.close)
        address = "127.0.0.1:%d" % silent.getsockname()[1]
        port = self.d.register(record("up-silent", [{"address": address, "tls": {}}],
                                      timeouts={"connect_ms": 300}))["port"]
        t0 = time.monotonic()
        r = self.get(port, "/up-silent/")
        self.assertEqual(r.status, 504, r)
        self.assertLess(time.monotonic() - t0, 5, "the handshake was bounded by connect_ms")

    def test_large_bodies_both_ways(self):
        port = self.register("up-bodies", self.good, {"ca_file": self.pki.ca_cert})
        body = os.urandom(8 * 1024 * 1024 + 3)
        path = os.path.join(self.tmp, "up-body.bin")
        with open(path, "wb") as f:
            f.write(body)
        r = self.get(port, "/up-bodies/post", data_file=path, method="POST", timeout=30)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["body_sha256"], hashlib.sha256(body).hexdigest())
        size = 12 * 1024 * 1024 + 1
        out = os.path.join(self.tmp, "down.bin")
        p = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", out, "-w", "%{http_code}",
                            "http://127.0.0.1:%d/bytes/%d" % (port, size)],
                           capture_output=True, timeout=60)
        # (the service's route is its prefix; /bytes is the origin's own path)
        self.assertEqual(p.stdout, b"200", p.stderr)
        digest = hashlib.sha256()
        for piece in PatternData(size).pieces():
            digest.update(piece)
        with open(out, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest.hexdigest())

    def test_health_checks_speak_tls(self):
        self.register("up-health", self.good, {"ca_file": self.pki.ca_cert},
                      health={"check": {"path": "/healthz", "interval_ms": 100}})
        wait_until(lambda: any(r["path"] == "/healthz" and r["tls_version"]
                               for r in list(self.good.requests)), 10,
                   what="a health check over TLS")
        service = self.d.admin("GET", "/v1/services/up-health").json
        self.assertTrue(service.get("serving", True), service)
        status, body = ops_get(self.d.ops_port, "/metrics")
        metrics = parse_metrics(body.decode())
        ups = [v for (name, labels), v in metrics.items()
               if name == "icaht_upstream_up" and ("service", "up-health") in labels]
        self.assertEqual(ups, [1.0], json.dumps(sorted(map(str, metrics.items()))[:5]))


if __name__ == "__main__":
    harness.main()
