#!/usr/bin/env python3
"""Sidecar-to-sidecar identity (issue 13) with three real daemons as three hosts of one
fleet, each with its own --tls-cert / --tls-key (a URI SAN naming the host) and the fleet's
--tls-ca: host B serves `billing` with its host certificate and lets only host A's identity
call it (allow_peers); host A reaches it through an upstream marked `fleet` (verified with the
fleet CA, shown A's certificate); host C, with a valid identity that is not allowed, gets 403;
a record that needs the host identity on a daemon without one is refused naming the field; a
bad --tls-cert stops start-up naming the flag."""

import os
import shutil
import tempfile

import harness
from harness import E2ETestCase, record
from peers import curl
from tls_peers import Pki


class FleetTlsTest(E2ETestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="icaht-fleet-e2e-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pki = Pki(self.tmp)
        self.backend = self.start_upstream("billing-backend")

    def host(self, name):
        cert, key = self.pki.server("host-" + name, sans=(
            "DNS:host-%s" % name, "IP:127.0.0.1", "URI:spiffe://fleet/host/%s" % name))
        return self.start_daemon(shards=1, extra_args=[
            "--tls-cert", cert, "--tls-key", key, "--tls-ca", self.pki.ca_cert])

    def test_hosts_call_each_other_with_their_identities(self):
        a, b, c = self.host("a"), self.host("b"), self.host("c")
        billing = b.register(record("billing", [self.backend.address], tls={
            "allow_peers": ["spiffe://fleet/host/a"], "peer_header": "X-Peer"}))["port"]
        upstream = {"address": "127.0.0.1:%d" % billing,
                    "tls": {"fleet": True, "server_name": "host-b"}}
        via_a = a.register(record("billing-remote", [upstream]))["port"]
        r = curl("http://127.0.0.1:%d/billing/invoices" % via_a)
        self.assertEqual(r.status, 200, (r, b.stderr()))
        seen = r.json["headers"]
        self.assertEqual(seen["x-peer"], 'Subject="CN=host-a";URI=spiffe://fleet/host/a')
        # (X-Forwarded-Proto says "http": what A's client spoke, kept by B as from an edge.)
        self.assertEqual(seen["x-forwarded-proto"], "http")
        # Host C has a good certificate from the same CA, but is not on the list.
        via_c = c.register(record("billing-remote", [upstream]))["port"]
        r = curl("http://127.0.0.1:%d/billing/invoices" % via_c)
        self.assertEqual(r.status, 403, r)
        # A stranger without a certificate never completes the handshake with B.
        r = curl("https://host-b:%d/billing/" % billing, "--cacert", self.pki.ca_cert,
                 "--resolve", "host-b:%d:127.0.0.1" % billing)
        self.assertEqual(r.status, 0, r)
        # A fleet upstream verifies B's certificate name: the wrong one is 502.
        wrong = {"address": "127.0.0.1:%d" % billing,
                 "tls": {"fleet": True, "server_name": "host-x"}}
        port = a.register(record("billing-wrongname", [wrong]))["port"]
        self.assertEqual(curl("http://127.0.0.1:%d/billing/" % port).status, 502)

    def test_records_needing_a_host_identity_are_refused_without_one(self):
        d = self.start_daemon(shards=1)
        cases = [
            ({"tls": {}}, "tls.cert_file"),
            ({"tls": {"cert_file": self.pki.server("x")[0], "key_file": self.pki.server("x")[1],
                      "require_client_cert": True}}, "tls.client_ca_file"),
        ]
        for fields, field in cases:
            r = d.admin("POST", "/v1/services", record("needs-host", [self.backend.address],
                                                       **fields))
            self.assertApiError(r, 400, "invalid_argument", ("field '%s'" % field, "--tls"))
        r = d.admin("POST", "/v1/services", record("needs-host", [
            {"address": self.backend.address, "tls": {"fleet": True}}]))
        self.assertApiError(r, 400, "invalid_argument", "upstreams[0].tls.ca_file")

    def test_bad_host_identity_stops_start_up(self):
        cert, key = self.pki.server("lonely")
        missing = os.path.join(self.tmp, "missing.pem")
        for extra, needle in (
                (["--tls-cert", missing, "--tls-key", key], "--tls-cert"),
                (["--tls-cert", cert, "--tls-key", self.pki.mismatched_pair()[1]], "--tls-key"),
                (["--tls-cert", cert], "--tls-cert: needs --tls-key"),
                (["--tls-ca", missing], "--tls-ca")):
            d = harness.Daemon(shards=1, extra_args=extra)
            self.addCleanup(d.cleanup)
            with self.assertRaises(harness.DaemonStartError):
                d.start()
            self.assertIn(needle, d.stderr())


if __name__ == "__main__":
    harness.main()
