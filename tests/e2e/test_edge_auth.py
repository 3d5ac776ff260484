#!/usr/bin/env python3
"""Edge policy through the real daemon with 2 shards (issue 9): JWT authentication with keys
from a JWKS file (reloaded when it changes) and from a jwks_url on a loopback server, tokens
made at test time by PyJWT (python3-jwt); the refusals and their WWW-Authenticate challenges;
endpoints (public, scopes, claims, longest prefix); forward_claims (and their removal from what
the client sent); API keys from a keys file; CORS preflights and actual requests; bad key
files refused at registration with the field named."""

import hashlib
import http.server
import json
import os
import ssl
import threading
import time

import harness
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_upstream import HttpUpstream
from http_wire import read_response
from tls_peers import Pki

try:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm
except ImportError:  # pragma: no cover - CI installs python3-jwt
    pyjwt = None

ISSUER = "https://id.example"
AUDIENCE = "orders"


def jwk(alg_class, key, kid, alg):
    d = json.loads(alg_class.to_jwk(key.public_key()))
    d.update({"kid": kid, "alg": alg, "use": "sig"})
    return d


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self, rotated=False):
        keys = [jwk(ECAlgorithm, self.ec, "ec-1", "ES256")]
        keys.append(jwk(RSAAlgorithm, self.rsa2 if rotated else self.rsa, "rsa-1", "RS256"))
        return json.dumps({"keys": keys})

    def token(self, key="rsa", kid=None, alg=None, **claims):
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        private = {"rsa": self.rsa, "ec": self.ec, "rsa2": self.rsa2}[key]
        alg = alg or ("ES256" if key == "ec" else "RS256")
        kid = kid or ("ec-1" if key == "ec" else "rsa-1")
        return pyjwt.encode(body, private, algorithm=alg, headers={"kid": kid})


class EdgeAuthTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        if pyjwt is None:
            raise harness.unittest.SkipTest("python3-jwt is not installed")
        super().setUpClass()
        cls.keys = Keys()
        cls.dir = harness.tempfile.mkdtemp(prefix="icaht-auth-")
        cls.jwks_path = os.path.join(cls.dir, "jwks.json")
        with open(cls.jwks_path, "w") as f:
            f.write(cls.keys.jwks())
        cls.keys_path = os.path.join(cls.dir, "keys")
        with open(cls.keys_path, "w") as f:
            f.write("# name:sha256(key)\nbilling:%s\n" % hashlib.sha256(b"s3cret-key").hexdigest())
        cls.up = cls.class_upstream(HttpUpstream, "up")
        jwt_spec = {"issuer": ISSUER, "audiences": [AUDIENCE], "jwks_file": cls.jwks_path,
                    "algorithms": ["RS256", "ES256"], "forward_claims": {"sub": "X-User-Id"}}
        endpoints = [
            {"path_prefix": "/", "auth": {"required": True}},
            {"path_prefix": "/pub", "public": True},
            {"path_prefix": "/admin", "methods": ["POST"],
             "auth": {"scopes": ["orders:write"], "claims": {"role": ["admin"]}}},
            {"path_prefix": "/opt", "auth": {"required": False}},
        ]
        cls.port = cls.d.register(record("jwt", [cls.up.address], auth={"jwt": jwt_spec},
                                         endpoints=endpoints))["port"]
        cls.key_port = cls.d.register(record(
            "keyed", [cls.up.address], auth={"api_key": {"keys_file": cls.keys_path}}))["port"]
        cls.cors_port = cls.d.register(record("cors", [cls.up.address], cors={
            "allow_origins": ["https://app.example", "https://*.corp.example"],
            "allow_methods": ["GET", "PUT"], "allow_headers": ["Authorization"],
            "allow_credentials": True, "max_age_s": 120}))["port"]

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        harness.shutil.rmtree(cls.dir, True)

    def send(self, port, method, target, headers=()):
        s, reader = self.connect(port, timeout=10)
        head = b"%s %s HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n" % (method, target)
        for name, value in headers:
            head += b"%s: %s\r\n" % (name.encode(), value.encode())
        s.sendall(head + b"\r\n")
        return read_response(reader, method=method.decode())

    def get(self, target, token=None, method=b"GET", headers=(), port=None):
        hs = list(headers)
        if token is not None:
            hs.append(("Authorization", "Bearer " + token))
        return self.send(port or self.port, method, target, hs)

    def upstream_headers(self, r):
        self.assertEqual(r.status, 200, r)
        return {k.lower(): v for k, v in r.json["header_list"]}

    def assertRefused(self, r, status, error, description=None):
        self.assertEqual(r.status, status, r)
        challenge = r.headers.get("WWW-Authenticate")
        self.assertIsNotNone(challenge, r)
        self.assertIn('error="%s"' % error, challenge)
        if description:
            self.assertIn(description, challenge)
        self.assertEqual(r.json["error"], error)

    # JWT ---------------------------------------------------------------------

    def test_valid_tokens_pass_with_identity_forwarded(self):
        for key in ("rsa", "ec"):
            h = self.upstream_headers(self.get(b"/orders/1", self.keys.token(key)))
            self.assertEqual(h.get("x-user-id"), "alice")

    def test_forged_claim_header_is_removed_even_without_token(self):
        r = self.get(b"/pub/x", headers=[("X-User-Id", "mallory")])
        self.assertNotIn("x-user-id", self.upstream_headers(r))
        r = self.get(b"/orders", self.keys.token(), headers=[("X-User-Id", "mallory")])
        self.assertEqual(self.upstream_headers(r)["x-user-id"], "alice")

    def test_missing_token_is_401(self):
        self.assertRefused(self.get(b"/orders"), 401, "invalid_token")
        self.assertEqual(self.up_count_after(lambda: self.get(b"/orders")), 0)

    def up_count_after(self, fn):
        before = len(self.up.requests)
        fn()
        return len(self.up.requests) - before

    def test_refusals_each_with_its_reason(self):
        k = self.keys
        cases = {
            "expired": k.token(exp=int(time.time()) - 3600),
            "not yet valid": k.token(nbf=int(time.time()) + 3600),
            "issuer": k.token(iss="https://evil.example"),
            "audience": k.token(aud="other"),
            "signature": k.token()[:-4] + ("AAAA" if not k.token().endswith("AAAA") else "BBBB"),
            "key": k.token(kid="nope"),
        }
        for what, token in cases.items():
            with self.subTest(what=what):
                r = self.get(b"/orders", token)
                self.assertRefused(r, 401, "invalid_token")
        # alg none and an algorithm outside the allowed list
        none = pyjwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, None, algorithm="none")
        self.assertRefused(self.get(b"/orders", none), 401, "invalid_token")
        hs = pyjwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, "secret-secret-secret",
                          algorithm="HS256", headers={"kid": "rsa-1"})
        self.assertRefused(self.get(b"/orders", hs), 401, "invalid_token")
        self.assertRefused(self.get(b"/orders", "not.a.token"), 401, "invalid_token")

    def test_invalid_token_refused_even_where_optional(self):
        self.assertEqual(self.get(b"/opt/x").status, 200)
        self.assertRefused(self.get(b"/opt/x", "garbage.garbage.garbage"), 401, "invalid_token")

    def test_endpoint_scopes_and_claims(self):
        k = self.keys
        good = k.token(scope="orders:read orders:write", role="admin")
        self.assertEqual(self.get(b"/admin/x", good, method=b"POST").status, 200)
        self.assertRefused(self.get(b"/admin/x", k.token(scope="orders:read", role="admin"),
                                    method=b"POST"), 403, "insufficient_scope")
        self.assertRefused(self.get(b"/admin/x", k.token(scp=["orders:write"], role="user"),
                                    method=b"POST"), 403, "insufficient_scope")
        # scp array works too; GET on /admin falls to the "/" endpoint (method not listed)
        self.assertEqual(self.get(b"/admin/x", k.token(scp=["orders:write"], role="admin"),
                                  method=b"POST").status, 200)
        self.assertEqual(self.get(b"/admin/x", k.token()).status, 200)

    def test_public_endpoint_and_ambiguous_paths(self):
        self.assertEqual(self.get(b"/pub/page").status, 200)
        self.assertEqual(self.get(b"/pub/../orders").status, 400)
        self.assertEqual(self.get(b"/pub/%2e%2e/orders").status, 400)
        self.assertRefused(self.get(b"/public"), 401, "invalid_token")  # not a /pub segment

    def test_jwks_file_reload(self):
        # A second service naming the same file (its keys are read once for both).
        twin = self.d.register(record("jwt-twin", [self.up.address], auth={"jwt": {
            "issuer": ISSUER, "audiences": [AUDIENCE], "jwks_file": self.jwks_path}}))["port"]
        self.addCleanup(self.d.deregister, "jwt-twin")
        self.assertEqual(self.get(b"/x", self.keys.token(), port=twin).status, 200)
        with open(self.jwks_path, "w") as f:
            f.write(self.keys.jwks(rotated=True))
        try:
            new = self.keys.token(key="rsa2")
            for port in (self.port, twin):
                wait_until(lambda: self.get(b"/orders", new, port=port).status == 200, 10,
                           interval=0.1, what="the rotated key accepted on port %d" % port)
            self.assertRefused(self.get(b"/orders", self.keys.token()), 401, "invalid_token")
        finally:
            with open(self.jwks_path, "w") as f:
                f.write(self.keys.jwks())
            wait_until(lambda: self.get(b"/orders", self.keys.token()).status == 200, 10,
                       interval=0.1, what="the original key back")

    def test_jwks_url(self):
        body = self.keys.jwks().encode()
        server = self.start_http_upstream("idp", canned={"jwks": (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"\r\n%s" % (len(body), body))})
        port = self.d.register(record("jwks-url", [self.up.address], auth={"jwt": {
            "jwks_url": "http://%s/keys?raw=jwks" % server.address}}))["port"]
        self.addCleanup(self.d.deregister, "jwks-url")
        wait_until(lambda: self.get(b"/x", self.keys.token(), port=port).status == 200, 10,
                   interval=0.1, what="keys fetched from jwks_url")
        self.assertGreaterEqual(len(server.requests), 1)
        self.assertRefused(self.get(b"/x", port=port), 401, "invalid_token")

    def test_jwks_url_over_https(self):
        pki = Pki(self.dir)
        cert, key = pki.server("idp", sans=("IP:127.0.0.1",))
        body = self.keys.jwks().encode()

        class Jwks(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer((harness.LOOPBACK, 0), Jwks)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        url = "https://127.0.0.1:%d/keys" % server.server_address[1]
        # An unknown CA file is refused naming the field.
        r = self.d.admin("POST", "/v1/services", record("jwks-https", [self.up.address], auth={
            "jwt": {"jwks_url": url, "jwks_ca_file": os.path.join(self.dir, "none.pem")}}))
        self.assertApiError(r, 400, "invalid_argument", "auth.jwt.jwks_ca_file")
        # Trusting the system's CAs only, the test CA's certificate does not verify: no keys.
        port = self.d.register(record("jwks-https-untrusted", [self.up.address],
                                      auth={"jwt": {"jwks_url": url}}))["port"]
        self.addCleanup(self.d.deregister, "jwks-https-untrusted")
        wait_until(lambda: "certificate verify failed" in self.d.stderr(), 10,
                   what="the failed fetch logged")
        self.assertRefused(self.get(b"/x", self.keys.token(), port=port), 401, "invalid_token")
        port = self.d.register(record("jwks-https", [self.up.address], auth={"jwt": {
            "jwks_url": url, "jwks_ca_file": pki.ca_cert}}))["port"]
        self.addCleanup(self.d.deregister, "jwks-https")
        wait_until(lambda: self.get(b"/x", self.keys.token(), port=port).status == 200, 10,
                   interval=0.1, what="keys fetched from the https jwks_url")

    def test_jwks_url_fetched_again_for_an_unknown_kid(self):
        def canned(keys):
            body = json.dumps({"keys": keys}).encode()
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        first = [jwk(RSAAlgorithm, self.keys.rsa, "rsa-1", "RS256")]
        server = self.start_http_upstream("idp2", canned={"jwks": canned(first)})
        port = self.d.register(record("jwks-kid", [self.up.address], auth={"jwt": {
            "jwks_url": "http://%s/keys?raw=jwks" % server.address,
            "jwks_refresh_s": 3600}}))["port"]
        self.addCleanup(self.d.deregister, "jwks-kid")
        wait_until(lambda: self.get(b"/x", self.keys.token(), port=port).status == 200, 10,
                   interval=0.1, what="keys fetched from jwks_url")
        fetches = len(server.requests)
        # The issuer rotates a key in: the first token naming it is refused and
        # makes the daemon fetch again (long before jwks_refresh_s).
        server.canned["jwks"] = canned(first + [jwk(RSAAlgorithm, self.keys.rsa2, "rsa-2",
                                                    "RS256")])
        rotated = self.keys.token(key="rsa2", kid="rsa-2")
        wait_until(lambda: self.get(b"/x", rotated, port=port).status == 200, 10,
                   interval=0.1, what="the key rotated in accepted after a fetch")
        self.assertEqual(len(server.requests), fetches + 1)
        # Another unknown kid within 30 s: refused, and no fetch (at most one
        # per 30 s, so tokens with made-up kids cannot drive the issuer).
        unknown = self.keys.token(kid="rsa-9")
        deadline = time.monotonic() + 2.5  # more than two of the daemon's 1 s key checks
        while time.monotonic() < deadline:
            self.assertRefused(self.get(b"/x", unknown, port=port), 401, "invalid_token")
            time.sleep(0.1)
        self.assertEqual(len(server.requests), fetches + 1)

    def test_bad_key_files_refused_at_registration(self):
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]}')
        for field, auth in (
                ("auth.jwt.jwks_file", {"jwt": {"jwks_file": "/nonexistent/jwks.json"}}),
                ("auth.jwt.jwks_file", {"jwt": {"jwks_file": bad}}),
                ("auth.api_key.keys_file", {"api_key": {"keys_file": "/nonexistent/keys"}})):
            r = self.d.admin("POST", "/v1/services", record("bad-keys", [self.up.address],
                                                           auth=auth))
            self.assertEqual(r.status, 400, r.body)
            self.assertIn(field, r.json["error"]["message"])
        self.assertEqual(self.d.admin("GET", "/v1/services/bad-keys").status, 404)

    # API keys ----------------------------------------------------------------

    def test_api_keys(self):
        r = self.send(self.key_port, b"GET", b"/k", [("X-API-Key", "s3cret-key")])
        self.assertEqual(r.status, 200, r)
        self.assertRefused(self.send(self.key_port, b"GET", b"/k", [("X-API-Key", "wrong")]),
                           401, "invalid_token")
        self.assertEqual(self.send(self.key_port, b"GET", b"/k").status, 401)

    # CORS --------------------------------------------------------------------

    def test_cors_preflight_and_actual_requests(self):
        before = len(self.up.requests)
        r = self.send(self.cors_port, b"OPTIONS", b"/c", [
            ("Origin", "https://app.example"), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "authorization")])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "https://app.example")
        self.assertEqual(r.headers.get("Access-Control-Allow-Credentials"), "true")
        self.assertEqual(r.headers.get("Access-Control-Max-Age"), "120")
        refused = self.send(self.cors_port, b"OPTIONS", b"/c", [
            ("Origin", "https://evil.example"), ("Access-Control-Request-Method", "PUT")])
        self.assertEqual(refused.status, 403)
        self.assertIsNone(refused.headers.get("Access-Control-Allow-Origin"))
        self.assertEqual(len(self.up.requests), before, "a preflight went upstream")
        r = self.send(self.cors_port, b"GET", b"/c", [("Origin", "https://a.corp.example")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), "https://a.corp.example")
        self.assertIn("Origin", r.headers.get("Vary"))
        r = self.send(self.cors_port, b"GET", b"/c", [("Origin", "https://corp.example")])
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))


if __name__ == "__main__":
    harness.main()
