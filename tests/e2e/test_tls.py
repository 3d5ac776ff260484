#!/usr/bin/env python3
"""TLS on service ports (issue 13), through the real daemon, with certificates made at test
time by openssl (tls_peers.Pki): curl and openssl s_client against a TLS port (TLS 1.2 and
1.3, SNI choosing the certificate, resumption by ticket), X-Forwarded-Proto https upstream,
plain HTTP to a TLS port answered 400 and closed, client certificates required, refused and
forwarded (peer_header, allow_peers), registrations with missing or mismatched files refused
naming the field, certificate rotation while requests run (none fails), large bodies both ways,
80 large downloads at once arriving intact, WebSocket over TLS, and a set of malformed
ClientHellos that cost nothing but the connection."""

import base64
import hashlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import harness
from harness import LOOPBACK, ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream, dispatch
from http_wire import PatternData, SockReader, read_response
from peers import Upstream, curl
from tls_peers import (OPENSSL, Pki, client_context, https_get, negotiated_protocol,
                       openssl_s_client,
                       peer_subject, s_client_reconnect)
from ws_peers import OP_BINARY, websocket_echo, ws_frame, ws_read_message


class TlsTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="icaht-tls-e2e-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.pki = Pki(cls.tmp)
        cls.server_cert, cls.server_key = cls.pki.server(
            "localhost", sans=("DNS:localhost", "IP:127.0.0.1"))
        cls.up = Upstream("plain")
        cls.addClassCleanup(cls.up.stop)
        cls.ws_up = cls.class_upstream(cls._http_upstream, "ws")

    @staticmethod
    def _http_upstream(name):
        return HttpUpstream(name, handler=dispatch({"ws": websocket_echo}))

    def metrics(self):
        return parse_metrics(ops_get(self.d.ops_port, "/metrics")[1].decode())

    def register_tls(self, name, tls=None, upstream=None, **fields):
        spec = {"cert_file": self.server_cert, "key_file": self.server_key}
        spec.update(tls or {})
        return self.d.register(record(name, [upstream or self.up.address], tls=spec,
                                      **fields))["port"]

    def curl_tls(self, port, path, *extra, **kw):
        return curl("https://localhost:%d%s" % (port, path), "--cacert", self.pki.ca_cert,
                    "--resolve", "localhost:%d:127.0.0.1" % port, *extra, **kw)

    # ------------------------------------------------------------------ terminating

    def test_curl_over_tls_12_and_13_and_x_forwarded_proto(self):
        port = self.register_tls("tls-basic")
        for extra, version in ((("--tlsv1.3",), "TLSv1.3"),
                               (("--tlsv1.2", "--tls-max", "1.2"), "TLSv1.2")):
            r = curl("https://localhost:%d/tls-basic/x" % port, "--cacert", self.pki.ca_cert,
                     "--resolve", "localhost:%d:127.0.0.1" % port, *extra)
            self.assertEqual(r.status, 200, r)
            seen = r.json
            self.assertEqual(seen["headers"].get("x-forwarded-proto"), "https", seen)
            self.assertEqual(seen["path"], "/tls-basic/x")
            rc, out, err = openssl_s_client(port, *{"TLSv1.3": ["-tls1_3"],
                                                    "TLSv1.2": ["-tls1_2"]}[version],
                                            "-CAfile", self.pki.ca_cert, "-ign_eof",
                                            input=b"GET / HTTP/1.1\r\nHost: x\r\n"
                                                  b"Connection: close\r\n\r\n")
            self.assertEqual(negotiated_protocol(out), version, out + err)
            self.assertIn("HTTP/1.1 ", out)
        # A client's own X-Forwarded-Proto (a trusted edge in front) is kept.
        r = self.curl_tls(port, "/tls-basic/y", headers=["X-Forwarded-Proto: http"])
        self.assertEqual(r.json["headers"]["x-forwarded-proto"], "http")
        # ALPN: http/1.1 is chosen; a client offering h2 as well gets http/1.1.
        rc, out, err = openssl_s_client(port, "-alpn", "h2,http/1.1", input=b"")
        self.assertIn("ALPN protocol: http/1.1", out, out)

    def test_minimum_version_13_refuses_12(self):
        port = self.register_tls("tls-min13", {"min_version": "1.3"})
        rc, out, err = openssl_s_client(port, "-tls1_2", input=b"")
        self.assertIsNone(negotiated_protocol(out), out)
        self.assertEqual(self.curl_tls(port, "/tls-min13/", "--tlsv1.3").status, 200)

    def test_sni_chooses_the_certificate(self):
        other_cert, other_key = self.pki.server("api.other.test",
                                                sans=("DNS:api.other.test", "DNS:*.other.test"))
        port = self.register_tls("tls-sni", {"certificates": [
            {"server_names": ["*.other.test"], "cert_file": other_cert, "key_file": other_key}]})
        _, out, _ = openssl_s_client(port, servername="x.other.test", input=b"")
        self.assertEqual(peer_subject(out), "CN=api.other.test", out)
        _, out, _ = openssl_s_client(port, servername="localhost", input=b"")
        self.assertEqual(peer_subject(out), "CN=localhost", out)
        _, out, _ = openssl_s_client(port, input=b"")  # no SNI: the default
        self.assertEqual(peer_subject(out), "CN=localhost", out)
        r = curl("https://x.other.test:%d/tls-sni/" % port, "--cacert", self.pki.ca_cert,
                 "--resolve", "x.other.test:%d:127.0.0.1" % port)
        self.assertEqual(r.status, 200, r)

    def test_sessions_resume_by_ticket_on_12_and_13(self):
        port = self.register_tls("tls-resume")
        self.assertTrue(s_client_reconnect(port, path="/tls-resume/"))
        self.assertTrue(s_client_reconnect(port, "-tls1_2", path="/tls-resume/"))
        metrics = self.metrics()
        resumed = metrics.get(("icaht_tls_handshakes_total",
                               frozenset({("resumed", "true"), ("service", "tls-resume")})), 0)
        self.assertGreaterEqual(resumed, 2, metrics)
        # Tickets off: no resumption.
        port = self.register_tls("tls-noticket", {"session_tickets": False})
        self.assertFalse(s_client_reconnect(port, path="/tls-noticket/"))

    def test_plain_http_to_a_tls_port_gets_400_and_close(self):
        port = self.register_tls("tls-plain")
        for method in (b"GET", b"DELETE", b"OPTIONS", b"PATCH"):
            s = socket.create_connection((LOOPBACK, port), timeout=5)
            self.addCleanup(s.close)
            s.sendall(b"%s /tls-plain/ HTTP/1.1\r\nHost: x\r\n\r\n" % method)
            reader = SockReader(s, time.monotonic() + 5)
            r = read_response(reader)
            self.assertEqual(r.status, 400, (method, r))
            self.assertIn(b"TLS", r.body)
            self.assertClosed(reader)
        metrics = self.metrics()
        self.assertGreaterEqual(metrics.get(("icaht_tls_handshake_errors_total",
                                             frozenset({("service", "tls-plain")})), 0), 1,
                                metrics)

    def test_malformed_client_hellos_cost_only_the_connection(self):
        port = self.register_tls("tls-garbage")
        hello_header = b"\x16\x03\x01"
        cases = [
            b"\x00" * 64,                                        # not TLS at all
            hello_header + b"\xff\xff" + os.urandom(200),        # record longer than sent
            hello_header + b"\x00\x05\x01\x00\x00\xff\xff",      # handshake length past record
            hello_header + b"\x00\x04\x01\x00\x00\x00",          # empty ClientHello
            b"\x16\x03\x03\x48\x01" + os.urandom(0x4801),        # record over 16 KiB + 2048
            b"\x80\x2e\x01\x00\x02" + os.urandom(0x2e - 3),      # SSLv2-style hello
            hello_header + b"\x00\x30\x01\x00\x00\x2c\x03\x03" + os.urandom(40),  # random body
            b"\x15\x03\x03\x00\x02\x02\x28",                     # an alert instead of a hello
            os.urandom(1),
        ]
        for case in cases:
            s = socket.create_connection((LOOPBACK, port), timeout=5)
            try:
                s.sendall(case)
                s.shutdown(socket.SHUT_WR)
                reader = SockReader(s, time.monotonic() + 5)
                self.assertClosed(reader, what="connection after %r" % case[:16])
            finally:
                s.close()
        self.assertTrue(self.d.alive())
        self.assertEqual(self.curl_tls(port, "/tls-garbage/").status, 200)

    # ------------------------------------------------------------------ refusals

    def test_bad_files_are_refused_naming_the_field(self):
        missing = os.path.join(self.tmp, "missing.pem")
        cases = [
            ({"cert_file": missing, "key_file": self.server_key}, "tls.cert_file", "missing.pem"),
            ({"cert_file": self.server_cert, "key_file": missing}, "tls.key_file", "missing.pem"),
            (dict(zip(("cert_file", "key_file"), self.pki.mismatched_pair())), "tls.key_file",
             "does not match"),
            ({"cert_file": self.server_cert, "key_file": self.server_key,
              "client_ca_file": missing}, "tls.client_ca_file", "missing.pem"),
        ]
        before = self.d.services()
        for tls, field, words in cases:
            r = self.d.admin("POST", "/v1/services", record("tls-bad", [self.up.address],
                                                            tls=tls))
            self.assertApiError(r, 400, "invalid_argument", ("field '%s'" % field, words))
        self.assertEqual(self.d.services(), before)
        # A PUT with a bad pair leaves the good service as it was.
        port = self.register_tls("tls-put")
        bad = record("tls-put", [self.up.address], port=port,
                     tls={"cert_file": self.server_cert, "key_file": missing})
        r = self.d.admin("PUT", "/v1/services/tls-put", bad)
        self.assertApiError(r, 400, "invalid_argument", "tls.key_file")
        self.assertEqual(self.curl_tls(port, "/tls-put/").status, 200)

    def test_a_refused_change_leaves_tls_and_its_reload_alone(self):
        cert = os.path.join(self.tmp, "refused.pem")
        key = os.path.join(self.tmp, "refused.key")
        first = self.pki.server("ref-one", sans=("DNS:localhost", "IP:127.0.0.1"))
        second = self.pki.server("ref-two", sans=("DNS:localhost", "IP:127.0.0.1"))
        shutil.copy(first[0], cert)
        shutil.copy(first[1], key)
        port = self.register_tls("tls-refused", {"cert_file": cert, "key_file": key})
        # The same name again, without tls: refused (already registered)...
        r = self.d.admin("POST", "/v1/services", record("tls-refused", [self.up.address]))
        self.assertEqual(r.status, 409, r)
        # ... a PUT that names another port: refused too.
        r = self.d.admin("PUT", "/v1/services/tls-refused",
                         record("tls-refused", [self.up.address], port=port + 1))
        self.assertGreaterEqual(r.status, 400, r)
        # The service still speaks TLS, and still follows its files.
        for src, dst in ((second[1], key), (second[0], cert)):
            shutil.copy(src, dst + ".new")
            os.rename(dst + ".new", dst)
        wait_until(lambda: peer_subject(openssl_s_client(port, input=b"")[1]) == "CN=ref-two",
                   10, interval=0.2, what="the rotated certificate served")
        self.assertEqual(self.curl_tls(port, "/tls-refused/").status, 200)

    # ------------------------------------------------------------------ client certificates

    def test_client_certificate_required_refused_and_forwarded(self):
        alice = self.pki.client("alice", uri_san="spiffe://test/alice")
        bob = self.pki.client("bob", uri_san="spiffe://test/bob")
        stranger = self.pki.client("stranger", uri_san="spiffe://test/alice", wrong_ca=True)
        port = self.register_tls("tls-mtls", {"client_ca_file": self.pki.ca_cert,
                                              "require_client_cert": True,
                                              "peer_header": "X-Client-Cert"})
        status, _, body = https_get(port, "/tls-mtls/", self.pki.ca_cert, cert=alice[0],
                                    key=alice[1], headers={"X-Client-Cert": "forged"})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)["headers"]
        self.assertEqual(seen["x-client-cert"], 'Subject="CN=alice";URI=spiffe://test/alice')
        for cert in (None, stranger):
            with self.assertRaises(OSError):
                https_get(port, "/tls-mtls/", self.pki.ca_cert,
                          cert=cert and cert[0], key=cert and cert[1])
        # allow_peers: only listed identities get through (403 for the others).
        port = self.register_tls("tls-peers", {"client_ca_file": self.pki.ca_cert,
                                               "allow_peers": ["spiffe://test/al*"]})
        self.assertEqual(https_get(port, "/tls-peers/", self.pki.ca_cert, cert=alice[0],
                                   key=alice[1])[0], 200)
        status, _, body = https_get(port, "/tls-peers/", self.pki.ca_cert, cert=bob[0],
                                    key=bob[1])
        self.assertEqual(status, 403, body)
        # Optional client certificates: both kinds of caller get in.
        port = self.register_tls("tls-optional", {"client_ca_file": self.pki.ca_cert,
                                                  "peer_header": "X-Peer"})
        status, _, body = https_get(port, "/tls-optional/", self.pki.ca_cert,
                                    headers={"X-Peer": "forged"})
        self.assertEqual(status, 200)
        self.assertNotIn("x-peer", json.loads(body)["headers"])

    def test_endpoint_rules_on_the_peer_certificate(self):
        alice = self.pki.client("alice", uri_san="spiffe://test/alice")
        bob = self.pki.client("bob", uri_san="spiffe://test/bob")
        port = self.register_tls("tls-peer-rules", {"client_ca_file": self.pki.ca_cert},
                                 endpoints=[{"path_prefix": "/tls-peer-rules/admin", "auth": {
                                     "claims": {"peer.uri_san": ["spiffe://test/alice"]}}}])
        get = lambda path, who: https_get(port, path, self.pki.ca_cert, cert=who and who[0],
                                          key=who and who[1])
        self.assertEqual(get("/tls-peer-rules/admin/x", alice)[0], 200)
        status, _, body = get("/tls-peer-rules/admin/x", bob)
        self.assertEqual(status, 403, body)
        self.assertIn(b"client certificate", body)
        self.assertEqual(get("/tls-peer-rules/admin/x", None)[0], 403)
        self.assertEqual(get("/tls-peer-rules/other", bob)[0], 200)

    # ------------------------------------------------------------------ bodies, upgrade

    def test_large_bodies_both_ways(self):
        port = self.register_tls("tls-bodies")
        body = os.urandom(8 * 1024 * 1024 + 17)
        path = os.path.join(self.tmp, "upload.bin")
        with open(path, "wb") as f:
            f.write(body)
        r = self.curl_tls(port, "/tls-bodies/up", data_file=path, method="POST", timeout=30)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["body_sha256"], hashlib.sha256(body).hexdigest())
        size = 16 * 1024 * 1024 + 5
        status, _, data = https_get(port, "/tls-bodies/down?size=%d" % size, self.pki.ca_cert,
                                    timeout=30)
        self.assertEqual((status, len(data)), (200, size))
        self.assertEqual(data, b"x" * size)
        # Chunked upload, keep-alive: two requests on one connection.
        ctx = client_context(self.pki.ca_cert)
        s = ctx.wrap_socket(socket.create_connection((LOOPBACK, port), timeout=10),
                            server_hostname=LOOPBACK)
        self.addCleanup(s.close)
        reader = SockReader(s, time.monotonic() + 20)
        for i in range(2):
            s.sendall(b"POST /tls-bodies/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                      b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            r = read_response(reader)
            self.assertEqual(r.status, 200, r)

    def test_many_concurrent_large_downloads_arrive_intact(self):
        # More TLS clients at once than the shard's ring for their upstream connections has
        # buffers (64): receives that find it empty wait for one and lose nothing.
        port = self.register_tls("tls-many", upstream=self.ws_up.address)
        size, clients = 768 * 1024 + 7, 80
        results = [None] * clients

        def fetch(i):
            try:
                status, _, data = https_get(
                    port, "/tls-many/d?download=%d&seed=%d" % (size, i + 1), self.pki.ca_cert,
                    timeout=60)
                results[i] = (status, hashlib.sha256(data).hexdigest())
            except OSError as e:
                results[i] = ("error", repr(e))

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        for i, result in enumerate(results):
            expected = hashlib.sha256()
            for piece in PatternData(size, i + 1).pieces():
                expected.update(piece)
            self.assertEqual(result, (200, expected.hexdigest()), "client %d" % i)

    def test_key_updates_asked_by_the_client_rekey_the_answers(self):
        # openssl s_client's "K" command sends a TLS 1.3 KeyUpdate asking for ours: the
        # daemon's next answer starts with its own KeyUpdate, and everything after it is
        # sealed under the next key (src/net/tls_tx.h), else s_client cannot open it.
        port = self.register_tls("tls-keyupdate", upstream=self.ws_up.address)
        p = subprocess.Popen([OPENSSL, "s_client", "-connect", "%s:%d" % (LOOPBACK, port),
                              "-tls1_3", "-CAfile", self.pki.ca_cert],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(p.kill)
        out = bytearray()
        deadline = time.monotonic() + 20

        def answer(seed, size):
            # Asks for PatternData(size, seed), returns the body of the answer.
            p.stdin.write(b"GET /tls-keyupdate/d?download=%d&seed=%d HTTP/1.1\r\n"
                          b"Host: x\r\n\r\n" % (size, seed))
            p.stdin.flush()
            while time.monotonic() < deadline:
                start = out.find(b"HTTP/1.1 ")
                end = out.find(b"\r\n\r\n", start) if start >= 0 else -1
                if end >= 0:
                    head = out[start:end].decode()
                    length = int(re.search(r"(?im)^content-length: *(\d+)", head).group(1))
                    if len(out) >= end + 4 + length:
                        body = bytes(out[end + 4:end + 4 + length])
                        del out[:end + 4 + length]
                        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
                        return body
                ready, _, _ = select.select([p.stdout], [], [], 0.5)
                if ready:
                    chunk = os.read(p.stdout.fileno(), 65536)
                    if not chunk:
                        self.fail("s_client ended: %s" % p.communicate(timeout=5)[1])
                    out.extend(chunk)
            self.fail("no answer for seed %d" % seed)

        def expected(seed, size):
            return hashlib.sha256(b"".join(PatternData(size, seed).pieces())).hexdigest()

        size = 200 * 1024 + 3
        self.assertEqual(hashlib.sha256(answer(1, size)).hexdigest(), expected(1, size))
        err = bytearray()
        for seed in (2, 3):
            # A read of its own: s_client takes a read starting with "K" as its KeyUpdate
            # command (and drops the rest), so the request waits until it says KEYUPDATE.
            p.stdin.write(b"K\n")
            p.stdin.flush()
            while err.count(b"KEYUPDATE") < seed - 1 and time.monotonic() < deadline:
                if select.select([p.stderr], [], [], 0.5)[0]:
                    err.extend(os.read(p.stderr.fileno(), 65536))
            self.assertIn(b"KEYUPDATE", err)
            self.assertEqual(hashlib.sha256(answer(seed, size)).hexdigest(),
                             expected(seed, size), "after KeyUpdate %d" % (seed - 1))
        err.extend(p.communicate(timeout=10)[1])  # stdin's EOF ends s_client
        self.assertEqual(err.count(b"KEYUPDATE"), 2, err)
        self.assertNotIn(b"error", err.lower(), err)

    def test_websocket_over_tls(self):
        port = self.register_tls("tls-ws", upstream=self.ws_up.address)
        ctx = client_context(self.pki.ca_cert)
        s = ctx.wrap_socket(socket.create_connection((LOOPBACK, port), timeout=10),
                            server_hostname=LOOPBACK)
        self.addCleanup(s.close)
        reader = SockReader(s, time.monotonic() + 30)
        key = base64.b64encode(os.urandom(16))
        s.sendall(b"GET /tls-ws/ws HTTP/1.1\r\nHost: svc\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n" % key)
        self.assertEqual(read_response(reader).status, 101)
        ws_read_message(reader)  # the server's greeting
        for payload in (b"small", os.urandom(70000), os.urandom(1024 * 1024)):
            s.sendall(ws_frame(OP_BINARY, payload))
            op, got, _ = ws_read_message(reader)
            self.assertEqual((op, hashlib.sha256(got).digest()),
                             (OP_BINARY, hashlib.sha256(payload).digest()))

    # ------------------------------------------------------------------ rotation

    def test_rotation_under_load_fails_no_request(self):
        cert = os.path.join(self.tmp, "rotating.pem")
        key = os.path.join(self.tmp, "rotating.key")
        first = self.pki.server("rot-one", sans=("DNS:localhost", "IP:127.0.0.1"))
        second = self.pki.server("rot-two", sans=("DNS:localhost", "IP:127.0.0.1"))
        shutil.copy(first[0], cert)
        shutil.copy(first[1], key)
        port = self.register_tls("tls-rotate", {"cert_file": cert, "key_file": key})
        _, out, _ = openssl_s_client(port, input=b"")
        self.assertEqual(peer_subject(out), "CN=rot-one")
        failures, done = [], threading.Event()
        count = [0]

        def load():
            ctx = client_context(self.pki.ca_cert)
            deadline = time.monotonic() + 30
            while not done.is_set() and time.monotonic() < deadline:
                try:
                    status, _, _ = https_get(port, "/tls-rotate/", self.pki.ca_cert, context=ctx)
                    if status != 200:
                        failures.append(status)
                except OSError as exc:
                    failures.append(repr(exc))
                count[0] += 1

        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: count[0] >= 20, 10, what="requests before the rotation")
            # Rotate as deployment tools do: new files renamed over the old ones.
            for src, dst in ((second[1], key), (second[0], cert)):
                shutil.copy(src, dst + ".new")
                os.rename(dst + ".new", dst)

            def rotated():
                return peer_subject(openssl_s_client(port, input=b"")[1]) == "CN=rot-two"
            wait_until(rotated, 10, interval=0.2, what="the new certificate served")
            settled = count[0]
            wait_until(lambda: count[0] >= settled + 20, 10, what="requests after the rotation")
        finally:
            done.set()
            for t in threads:
                t.join(10)
        self.assertEqual(failures, [])


if __name__ == "__main__":
    harness.main()
