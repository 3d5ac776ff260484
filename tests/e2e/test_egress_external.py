#!/usr/bin/env python3
"""The egress to external hosts (issue 14): a name that --egress-allow allows is resolved on the
shard (c-ares, against a real DNS server on loopback given with --egress-dns) and called over
http or https (verified against --egress-ca, SNI and name checked); a name that is not allowed
is refused without a lookup; a name that does not resolve answers 502; answers are cached and
a changed answer is followed; requests keep flowing from the last answer while a refresh runs."""

import shutil
import tempfile
import threading

import harness
from dns_peer import DnsServer
from harness import LOOPBACK
from http_peers import SharedDaemonTestCase
from peers import Upstream, curl
from tls_peers import HttpsUpstream, Pki


class EgressExternalTest(SharedDaemonTestCase):
    shards = 1

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="icaht-egress-ext-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.pki = Pki(cls.tmp)
        cls.dns = DnsServer({"api.allowed.test": [LOOPBACK], "moving.allowed.test": [LOOPBACK],
                             "secure.allowed.test": [LOOPBACK], "wrong.allowed.test": [LOOPBACK],
                             "blocked.example": [LOOPBACK]}, ttl=1)
        cls.addClassCleanup(cls.dns.stop)
        super().setUpClass()
        cls.egress = "http://%s:%d" % (LOOPBACK, cls.d.egress_port)
        cls.api = cls.upstream(Upstream("api"))
        cert, key = cls.pki.server("secure", sans=("DNS:secure.allowed.test",))
        cls.secure = cls.upstream(HttpsUpstream(cert, key, name="secure"))

    @classmethod
    def daemon_args(cls):
        return ("--egress-allow", "*.allowed.test", "--egress-dns", cls.dns.address,
                "--egress-ca", cls.pki.ca_cert)

    @classmethod
    def upstream(cls, up):
        cls.addClassCleanup(up.stop)
        return up

    def via(self, url, *extra, **kwargs):
        return curl(url, "--noproxy", "", "-x", self.egress, *extra, **kwargs)

    def test_allowed_name_is_resolved_and_called(self):
        r = self.via("http://api.allowed.test:%d/items?x=1" % self.api.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["upstream"], "api")
        self.assertEqual(r.json["path"], "/items?x=1")
        self.assertEqual(r.json["headers"]["host"], "api.allowed.test:%d" % self.api.port)
        self.assertIn("x-request-id", r.json["headers"])
        # The target + internal: false headers name it too, and are removed.
        r = curl(self.egress + "/", headers=[
            "target: http://api.allowed.test:%d/by-header" % self.api.port, "internal: false"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["path"], "/by-header")
        self.assertNotIn("target", r.json["headers"])
        self.assertNotIn("internal", r.json["headers"])

    def test_answers_are_cached(self):
        url = "http://api.allowed.test:%d/cached" % self.api.port
        self.assertEqual(self.via(url).status, 200)
        before = self.dns.count("api.allowed.test")
        for _ in range(10):
            self.assertEqual(self.via(url).status, 200)
        # Ten requests within the answer's freshness ask nothing (a refresh at most once).
        self.assertLessEqual(self.dns.count("api.allowed.test") - before, 1)

    def test_a_changed_answer_is_followed(self):
        first = self.upstream(Upstream("moving-1"))
        # The same port on another loopback address: only the answer tells them apart.
        self.upstream(Upstream("moving-2", host="127.0.0.2", port=first.port))
        url = "http://moving.allowed.test:%d/" % first.port
        self.assertEqual(self.via(url).json["upstream"], "moving-1")
        self.dns.set("moving.allowed.test", ["127.0.0.2"])
        # The answer's TTL is 1 s: within a few, requests follow the new address.
        harness.wait_until(lambda: self.via(url).json["upstream"] == "moving-2", 10,
                           interval=0.1, what="the egress to follow the changed answer")

    def test_https_name_is_verified(self):
        # The application speaks plain HTTP to the egress; the egress speaks TLS to the host.
        r = curl(self.egress + "/", headers=[
            "target: https://secure.allowed.test:%d/s" % self.secure.port, "internal: false"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["sni"], "secure.allowed.test")
        self.assertEqual(r.json["path"], "/s")
        # The same server under a name its certificate does not carry: refused, 502.
        r = curl(self.egress + "/", headers=[
            "target: https://wrong.allowed.test:%d/s" % self.secure.port, "internal: false"])
        self.assertEqual(r.status, 502, r)

    def test_unresolvable_name_is_502(self):
        r = self.via("http://nowhere.allowed.test/")
        self.assertEqual(r.status, 502, r)
        self.assertEqual(r.json["error"]["code"], "destination_unresolved")
        self.assertIn("nowhere.allowed.test", r.json["error"]["message"])

    def test_name_not_allowed_is_refused_without_a_lookup(self):
        r = self.via("http://blocked.example:%d/" % self.api.port)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error"]["code"], "destination_not_allowed")
        self.assertEqual(self.dns.count("blocked.example"), 0)

    def test_concurrent_first_requests_share_one_lookup(self):
        name = "burst.allowed.test"
        self.dns.set(name, [LOOPBACK])
        urls = ["http://%s:%d/n%d" % (name, self.api.port, i) for i in range(8)]
        results = []
        threads = [threading.Thread(target=lambda u=u: results.append(self.via(u)))
                   for u in urls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        self.assertEqual([r.status for r in results], [200] * 8)
        self.assertEqual(self.dns.count(name), 1)


if __name__ == "__main__":
    harness.main()
