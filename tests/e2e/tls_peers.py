"""TLS peers for the end-to-end tests: a throwaway PKI made with the openssl command line, an
HTTPS/1.1 origin server (Python ssl), and TLS clients (openssl s_client, Python ssl).

Certificates are generated at test time in a directory the test owns (nothing is cached across
processes); every key is ECDSA P-256 and made once per Pki. Everything is on 127.0.0.1 and
bounded: every subprocess has a timeout, every socket a deadline, and every server thread ends
when stop() closes its socket.
"""

import hashlib
import http.client
import http.server
import itertools
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import traceback
import urllib.parse

from http_wire import PEER_WAIT, Headers, PatternData, read_request_body
from peers import LOOPBACK

OPENSSL = shutil.which("openssl") or "openssl"
HANDSHAKE_TIMEOUT = 10.0  # a TLS handshake on loopback never takes longer

# Extensions come only from the command line, never from the system openssl.cnf.
_REQ_CNF = "[req]\ndistinguished_name = dn\n[dn]\n"
_CA_CNF = ("[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = {db}/index.txt\n"
           "new_certs_dir = {db}\ndefault_md = sha256\npolicy = policy_any\n"
           "copy_extensions = copy\nunique_subject = no\nrand_serial = yes\n"
           "[policy_any]\ncommonName = supplied\n")
_P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"]  # key, unencrypted
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def openssl(*args, timeout=30.0):
    """Runs `openssl ARGS`; returns its stdout (bytes). RuntimeError naming stderr on failure."""
    p = subprocess.run([OPENSSL] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("openssl %s -> %d\n%s" % (" ".join(args), p.returncode,
                                                     p.stderr.decode(errors="replace")))
    return p.stdout


def _utc(offset_s):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.time() + offset_s))


# --------------------------------------------------------------------------- PKI

class Pki:
    """A test CA (ca.pem, ca.key), an unrelated second CA (other_ca.pem, other_ca.key) and the
    leaf certificates asked for, all in `directory` (which the caller removes).

    A leaf named N is N.pem (the leaf alone) and N.key; asking again for the same name with the
    same parameters returns the same files, with other parameters raises ValueError. Each
    leaf costs one openssl process (two when expired), ~15 ms.
    """

    def __init__(self, directory):
        self.dir = directory
        self._req_cnf, self._ca_cnf = self.path("req.cnf"), self.path("ca_db.cnf")
        os.makedirs(self.path("ca_db"), exist_ok=True)  # and dir; `openssl ca` state (expired)
        for path, text in ((self._req_cnf, _REQ_CNF), (self.path("ca_db/index.txt"), ""),
                           (self._ca_cnf, _CA_CNF.format(db=self.path("ca_db")))):
            with open(path, "w") as f:
                f.write(text)
        self._leaves = {}   # name -> (params, cert, key)
        self._issuer = {}   # cert path -> issuing CA cert path
        self.ca_cert, self.ca_key = self._make_ca("ca", "icaht-e2e Test CA")
        self.other_ca_cert, self.other_ca_key = self._make_ca("other_ca", "icaht-e2e Other CA")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _make_ca(self, stem, cn):
        cert, key = self.path(stem + ".pem"), self.path(stem + ".key")
        openssl("req", "-config", self._req_cnf, "-x509", *_P256, "-keyout", key, "-out", cert,
                "-subj", "/CN=" + cn, "-days", "3650", "-addext", "keyUsage=critical,keyCertSign",
                "-addext", "basicConstraints=critical,CA:TRUE")
        self._issuer[cert] = cert
        return cert, key

    def _leaf(self, name, sans, eku, days, ca, wrong_ca, expired):
        if not _NAME.match(name) or name in ("ca", "other_ca", "req", "ca_db"):
            raise ValueError("bad leaf name %r" % name)
        ca_cert, ca_key = ((self.other_ca_cert, self.other_ca_key) if wrong_ca or ca == "other"
                           else (self.ca_cert, self.ca_key) if ca in (None, "ca") else ca)
        params = (tuple(sans), eku, days, ca_cert, bool(expired))
        if name in self._leaves:
            if self._leaves[name][0] != params:
                raise ValueError("leaf %r already made with other parameters" % name)
            return self._leaves[name][1:]
        cert, key = self.path(name + ".pem"), self.path(name + ".key")
        ext = ["-addext", "basicConstraints=critical,CA:FALSE",
               "-addext", "keyUsage=critical,digitalSignature",
               "-addext", "extendedKeyUsage=" + eku]
        if sans:
            ext += ["-addext", "subjectAltName=" + ",".join(sans)]
        key_args = _P256 + ["-keyout", key, "-subj", "/CN=" + name]
        if not expired:
            # One process: new key, and a certificate signed by the CA (OpenSSL 3 req -CA).
            openssl("req", "-config", self._req_cnf, "-x509", *key_args, "-out", cert,
                    "-days", str(days), "-CA", ca_cert, "-CAkey", ca_key, *ext)
        else:
            # OpenSSL 3.0 x509/req have no -not_before/-not_after (3.4 has); `openssl ca` sets
            # both dates, so the certificate was valid for a day that ended a day ago.
            csr = self.path(name + ".csr")
            openssl("req", "-config", self._req_cnf, "-new", *key_args, "-out", csr, *ext)
            openssl("ca", "-batch", "-config", self._ca_cnf, "-notext", "-cert", ca_cert,
                    "-keyfile", ca_key, "-in", csr, "-out", cert,
                    "-startdate", _utc(-2 * 86400), "-enddate", _utc(-86400))
        self._leaves[name] = (params, cert, key)
        self._issuer[cert] = ca_cert
        return cert, key

    def server(self, name, sans=("DNS:localhost", "IP:127.0.0.1"), days=30, ca=None,
               expired=False, wrong_ca=False):
        """(cert path, key path) of a leaf with CN=name and the given subjectAltNames
        ("DNS:x", "IP:1.2.3.4", "URI:spiffe://..."), extendedKeyUsage serverAuth,clientAuth.
        ca: None (ca.pem), "other" (other_ca.pem, as wrong_ca=True) or a (cert, key) pair.
        expired: notBefore two days ago, notAfter one day ago."""
        return self._leaf(name, sans, "serverAuth,clientAuth", days, ca, wrong_ca, expired)

    def client(self, name, uri_san=None, days=30, ca=None, expired=False, wrong_ca=False):
        """(cert path, key path) of a client certificate: CN=name, an optional URI SAN,
        extendedKeyUsage clientAuth."""
        sans = ("URI:" + uri_san,) if uri_san else ()
        return self._leaf(name, sans, "clientAuth", days, ca, wrong_ca, expired)

    def chain_file(self, cert):
        """Writes <cert stem>-chain.pem: the leaf, then the CA that signed it. Returns it."""
        out = os.path.splitext(cert)[0] + "-chain.pem"
        with open(out, "wb") as f:
            for part in (cert, self._issuer[cert]):
                with open(part, "rb") as src:
                    f.write(src.read())
        return out

    def mismatched_pair(self, name="mismatch"):
        """(cert path, key path) where the key is NOT the certificate's: a valid server leaf
        `name` and a fresh, unrelated P-256 key (<name>-other.key)."""
        cert, _ = self.server(name)
        key = self.path(name + "-other.key")
        if not os.path.exists(key):
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", key)
        return cert, key

    def usual(self):
        """The set most TLS tests need: server "localhost", client "alice" (URI SAN
        spiffe://test/alice), expired "expired", wrong-CA "wrong". Returns self."""
        self.server("localhost")
        self.client("alice", uri_san="spiffe://test/alice")
        self.server("expired", expired=True)
        self.server("wrong", wrong_ca=True)
        return self


# --------------------------------------------------------------------------- HTTPS origin

_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}


def describe_peer_cert(cert):
    """{"subject": "CN=x,O=y", "cn": "x", "san": ["URI:...", "DNS:..."]} of a getpeercert()
    dict, or None when there is none."""
    if not cert:
        return None
    rdns = [(k, v) for rdn in cert.get("subject", ()) for k, v in rdn]
    return {"subject": ",".join("%s=%s" % (_SHORT.get(k, k), v) for k, v in rdns),
            "cn": next((v for k, v in rdns if k == "commonName"), None),
            "san": ["%s:%s" % (k if k != "IP Address" else "IP", v)
                    for k, v in cert.get("subjectAltName", ())]}


class _HttpsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "icaht-e2e-https"
    disable_nagle_algorithm = True
    timeout = PEER_WAIT  # an idle keep-alive connection ends after this

    def log_message(self, fmt, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        self.conn_id = next(self.server.upstream._conn_ids)  # atomic under the GIL
        self.conn_requests = 0

    def _handle(self):
        up, tls = self.server.upstream, self.connection
        body = read_request_body(self)
        self.conn_requests += 1
        record = {"method": self.command, "path": self.path,
                  "headers": Headers(self.headers.items()).as_dict(),
                  "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                  "tls_version": tls.version(), "session_reused": tls.session_reused,
                  "cipher": tls.cipher()[0], "alpn": tls.selected_alpn_protocol(),
                  "sni": getattr(tls, "icaht_sni", None),
                  "client_cert": describe_peer_cert(tls.getpeercert()),
                  "conn_id": self.conn_id, "conn_request": self.conn_requests}
        up._note("_requests", record)
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        m = re.match(r"^/bytes/(\d+)$", parts.path)
        data = PatternData(int(m.group(1)), int(query.get("seed", ["1"])[0])) if m else None
        payload = json.dumps(record).encode()
        chunked = data is not None and "chunked" in query
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream" if data else "application/json")
        if "close" in query:  # ?close=1: this answer ends the connection
            self.send_header("Connection", "close"); self.close_connection = True  # noqa: E702
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(data.size if data else len(payload)))
        self.end_headers()
        for piece in [] if self.command == "HEAD" else data.pieces() if data else [payload]:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked and self.command != "HEAD":
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class _TlsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def process_request(self, request, client_address):
        # Our own thread per connection so stop() can join it with a deadline.
        t = threading.Thread(target=self.process_request_thread,
                             args=(request, client_address), daemon=True,
                             name="https-upstream-%s-conn" % self.upstream.name)
        self.upstream._track_thread(t)
        t.start()

    def finish_request(self, request, client_address):
        # In the connection's thread: the handshake, bounded, then HTTP until the peer is done.
        up = self.upstream
        request.settimeout(HANDSHAKE_TIMEOUT)
        tls = up.context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            if not up._track_sock(tls):
                return  # stop() has begun
            try:
                tls.do_handshake()
            except OSError as exc:
                return up._note("_failures", repr(exc))
            up._note_handshake(tls)
            self.RequestHandlerClass(tls, client_address, self)
            # close_notify, so that a client like s_client sees a clean end rather than an
            # "unexpected eof"; the wait for the client's own is short.
            tls.settimeout(1.0)
            tls.unwrap()
        except OSError:
            pass  # the client went away (or stop() shut the socket); other errors: errors
        finally:
            up._track_sock(tls, add=False)
            tls.close()

    def handle_error(self, request, client_address):
        if not self.upstream._stopping.is_set():
            self.upstream._note("_errors", traceback.format_exc(limit=5))


class HttpsUpstream:
    """A threaded HTTPS/1.1 keep-alive origin on 127.0.0.1:0 (Python ssl, TLS 1.2 and 1.3).

    Every request gets 200 and a JSON description of it: method, path, headers (lower-case
    names), body_len and body_sha256 (Content-Length or chunked bodies), tls_version,
    session_reused, cipher, alpn, sni, client_cert (describe_peer_cert(); None without one),
    conn_id and conn_request (the n-th on that connection). But GET /bytes/N[?seed=S][&chunked=1]
    answers with the N bytes of http_wire.PatternData(N, S); ?close=1 ends the connection after
    the answer (Connection: close).
    client_ca: client certificates are asked for and verified against it (optional unless
    require_client_cert). alpn: protocols offered (e.g. ["http/1.1"]). num_tickets: TLS 1.3
    tickets per handshake (0: no TLS 1.3 resumption). min_version/max_version: ssl.TLSVersion.
    Thread-safe counters: handshakes (completed), resumed (of those, with a reused session),
    handshake_failures (error strings), requests (records), errors (its own bugs: keep empty).
    """

    def __init__(self, cert, key, client_ca=None, require_client_cert=False, name="tls",
                 alpn=None, num_tickets=None, min_version=None, max_version=None):
        self.name = name
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if client_ca is not None:
            ctx.load_verify_locations(client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        elif require_client_cert:
            raise ValueError("require_client_cert needs client_ca")
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        for attr, value in (("num_tickets", num_tickets), ("minimum_version", min_version),
                            ("maximum_version", max_version)):
            if value is not None:
                setattr(ctx, attr, value)
        ctx.sni_callback = self._on_sni
        self.context = ctx
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._handshakes = self._resumed = 0
        self._conn_ids = itertools.count(1)
        self._failures, self._requests, self._errors, self._threads = [], [], [], []
        self._socks = set()
        self.server = _TlsServer((LOOPBACK, 0), _HttpsHandler)
        self.server.upstream = self
        self.port = self.server.server_address[1]
        self.address = "%s:%d" % (LOOPBACK, self.port)
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="https-upstream-" + name)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # bookkeeping (connection threads) -------------------------------------------

    @staticmethod
    def _on_sni(sock, server_name, ctx):
        sock.icaht_sni = server_name  # the SSLSocket being handshaken
        return None

    def _track_thread(self, t):
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _track_sock(self, sock, add=True):
        """Adds (or removes) a connection stop() must shut; False once stop() has begun."""
        with self._lock:
            (self._socks.add if add else self._socks.discard)(sock)
            return not self._stopping.is_set()

    def _note_handshake(self, tls):
        with self._lock:
            self._handshakes += 1
            self._resumed += 1 if tls.session_reused else 0

    def _note(self, attr, item):
        with self._lock:
            getattr(self, attr).append(item)

    def _get(self, attr):
        with self._lock:
            value = getattr(self, attr)
            return list(value) if isinstance(value, list) else value

    # counters (thread-safe, copies) ----------------------------------------------
    handshakes = property(lambda self: self._get("_handshakes"))
    resumed = property(lambda self: self._get("_resumed"))
    handshake_failures = property(lambda self: self._get("_failures"))
    requests = property(lambda self: self._get("_requests"))
    errors = property(lambda self: self._get("_errors"))
    count = property(lambda self: len(self._get("_requests")))

    def stop(self, timeout=5.0):
        """Stops accepting, shuts every open connection and joins every thread (each bounded
        by `timeout`). Returns the names of threads still alive (empty when clean)."""
        if self._stopping.is_set():
            return []
        self._stopping.set()
        self.server.shutdown()  # serve_forever polls every 50 ms
        self.server.server_close()
        self._thread.join(timeout=timeout)
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for s in socks:
            try:
                socket.socket.shutdown(s, socket.SHUT_RDWR)  # under the TLS layer
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(timeout=max(0.01, deadline - time.monotonic()))
        return [t.name for t in [self._thread] + threads if t.is_alive()]


# --------------------------------------------------------------------------- clients

def openssl_s_client(port, *args, servername=None, input=b"", timeout=10):
    """Runs `openssl s_client -connect 127.0.0.1:PORT [-servername S] ARGS` with `input` on its
    stdin, then EOF. Returns (returncode, stdout, stderr) as text; returncode None when it
    was killed at `timeout`. Without -ign_eof (or -quiet) s_client quits at stdin EOF, maybe
    before the answer (or TLS 1.3 tickets) arrive: pass "-ign_eof" with a request that ends
    in Connection: close to read the whole answer. OpenSSL 3.0 sends no SNI for an IP
    address, so without `servername` there is none."""
    argv = [OPENSSL, "s_client", "-connect", "%s:%d" % (LOOPBACK, port)] + (
        [] if servername is None else ["-servername", servername]) + list(args)
    if isinstance(input, str):
        input = input.encode()
    try:
        p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return (None, (exc.stdout or b"").decode(errors="replace"),
                (exc.stderr or b"").decode(errors="replace") + "\n[killed after %ss]" % timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def negotiated_protocol(out):
    """"TLSv1.3", "TLSv1.2"... from s_client output, None when no handshake completed."""
    # (The SSL-Session block's "Protocol :" names the version tried even when it failed.)
    m = re.search(r"^(?:New|Reused), (TLSv[\d.]+|SSLv3)", out, re.M)
    return m.group(1) if m else None


def peer_subject(out):
    """The server certificate's subject as "CN=x,O=y" (3.0 prints "CN = x, O = y"), or None."""
    m = re.search(r"^subject=(.*)$", out, re.M)
    if not m:
        return None
    return ",".join(re.sub(r"\s*=\s*", "=", p.strip(), count=1) for p in m.group(1).split(","))


def reused(out):
    """True when s_client reports a resumed session ("Reused, TLSv1.x, ...")."""
    return re.search(r"^Reused, ", out, re.M) is not None


def verify_code(out):
    """The "Verify return code: N (...)" number (0: the chain verified), or None."""
    m = re.search(r"Verify return code: (\d+)", out)
    return int(m.group(1)) if m else None


def s_client_reconnect(port, *args, servername=None, path="/", timeout=10):
    """Two s_client runs, the second resuming the first's session (-sess_out, -sess_in): True
    when it says "Reused" (False when the first had no session to save: no TLS 1.3 ticket).
    Each run sends GET `path` with Connection: close and -ign_eof, so it stays until the answer
    (and, in TLS 1.3, the tickets sent before it) is in. AssertionError if the first fails."""
    host = servername or LOOPBACK
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode()
    with tempfile.TemporaryDirectory(prefix="icaht-sess-") as tmp:
        sess = os.path.join(tmp, "session.pem")
        rc, out, err = openssl_s_client(port, "-ign_eof", "-sess_out", sess, *args,
                                        servername=servername, input=req, timeout=timeout)
        if rc != 0:
            raise AssertionError("first s_client run failed (rc=%s)\n%s\n%s" % (rc, out, err))
        if not os.path.exists(sess) or os.path.getsize(sess) == 0:
            return False  # no session (TLS 1.3: no ticket) to resume
        rc, out, err = openssl_s_client(port, "-ign_eof", "-sess_in", sess, *args,
                                        servername=servername, input=req, timeout=timeout)
        return rc == 0 and reused(out)


def client_context(ca, cert=None, key=None, alpn=None):
    """An SSLContext for a client trusting `ca` (a PEM file), with an optional client cert and
    ALPN protocols."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def https_get(port, path, ca, servername=None, cert=None, key=None, timeout=10,
              method="GET", body=None, headers=None, context=None):
    """One request over a fresh TLS connection to 127.0.0.1:port, verifying the server against
    `ca` and the name `servername` (default: the IP 127.0.0.1, sent as no SNI). Returns
    (status, {lower-case name: value}, body). A failed handshake, a rejected client certificate
    (TLS 1.3 reports it on the first read) or a closed connection raise OSError (ssl.SSLError
    and ConnectionError are subclasses)."""
    ctx = context or client_context(ca, cert, key)
    host = servername or LOOPBACK
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    # (a failed handshake closes the socket: wrap_socket has taken it over)
    conn.sock = ctx.wrap_socket(socket.create_connection((LOOPBACK, port), timeout=timeout),
                                server_hostname=host)
    try:
        conn.request(method, path, body=body,
                     headers=dict({"Connection": "close"}, **(headers or {})))
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


# --------------------------------------------------------------------------- self-test

def _self_test():
    """Checks the module against itself, one printed line per check; returns the failures."""
    fails = []

    def check(what, ok, got=""):
        print(("ok    " if ok else "FAIL  ") + what + (" %r" % (got,) if got != "" else ""))
        fails.extend([] if ok else [what])

    def raises(fn):
        try:
            return fn() and False
        except OSError:  # ssl.SSLError, ConnectionError
            return True
    rc = lambda *argv: subprocess.run([OPENSSL] + list(argv), capture_output=True,  # noqa: E731
                                      timeout=10).returncode
    get = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with tempfile.TemporaryDirectory(prefix="icaht-tls-") as tmp:
        t0 = time.monotonic()
        pki = Pki(tmp).usual()
        check("Pki(...).usual() in < 1 s:", time.monotonic() - t0 < 1.0, time.monotonic() - t0)
        srv, cli = pki.server("localhost"), pki.client("alice", uri_san="spiffe://test/alice")
        exp, wrong = pki.server("expired", expired=True), pki.server("wrong", wrong_ca=True)
        with open(srv[0]) as f, open(pki.chain_file(srv[0])) as g:
            n = (f.read().count("BEGIN CERTIFICATE"), g.read().count("BEGIN CERTIFICATE"))
        check("same leaf twice: same files; leaf file 1 cert, chain file 2:",
              pki.server("localhost") == srv and n == (1, 2), n)
        n = (rc("x509", "-in", exp[0], "-noout", "-checkend", "0"),
             rc("x509", "-in", srv[0], "-noout", "-checkend", "86400"))
        check("x509 -checkend 0 fails for expired, 86400 passes for a fresh one:", n == (1, 0), n)
        n = [rc("verify", "-CAfile", pki.ca_cert, c) for c in (srv[0], exp[0], wrong[0])]
        check("verify -CAfile ca.pem: localhost ok, expired/wrong-CA fail:", n == [0, 2, 2], n)
        check("mismatched pair refused by load_cert_chain", raises(lambda: ssl.SSLContext(
            ssl.PROTOCOL_TLS_SERVER).load_cert_chain(*pki.mismatched_pair())))
        with HttpsUpstream(*srv, client_ca=pki.ca_cert, require_client_cert=True,
                           alpn=["http/1.1"]) as up:
            st, _, body = https_get(up.port, "/a?b=1", pki.ca_cert, "localhost", *cli,
                                    method="POST", body=b"abc")
            r = json.loads(body)
            n = (st, r["client_cert"], r["sni"], r["path"], r["body_len"])
            check("https_get with a client cert: status, client cert, SNI, path, body:", n == (
                200, {"subject": "CN=alice", "cn": "alice", "san": ["URI:spiffe://test/alice"]},
                "localhost", "/a?b=1", 3), n)
            check("IP SAN verified, no SNI", https_get(up.port, "/", pki.ca_cert, None, *cli)[0]
                  == 200 and up.requests[-1]["sni"] is None)
            check("fail (and count as failed handshakes): no client cert, wrong-CA client cert,"
                  " other CA trusted, wrong name",
                  raises(lambda: https_get(up.port, "/", pki.ca_cert, "localhost"))
                  and raises(lambda: https_get(up.port, "/", pki.ca_cert, None, *wrong))
                  and raises(lambda: https_get(up.port, "/", pki.other_ca_cert, None, *cli))
                  and raises(lambda: https_get(up.port, "/", pki.ca_cert, "nothere", *cli))
                  and len(up.handshake_failures) >= 3)
            ctx = client_context(pki.ca_cert, *cli, alpn=["http/1.1"])
            r = json.loads(https_get(up.port, "/up", None, "localhost", method="PUT",
                                     body=iter([b"x" * 1000, b"y" * 5]), context=ctx)[2])
            n = (r["body_len"], r["headers"]["transfer-encoding"], r["alpn"], r["tls_version"])
            check("chunked upload, ALPN, TLSv1.3:", n == (1005, "chunked", "http/1.1",
                                                         "TLSv1.3"), n)
            n = [hashlib.sha256(https_get(up.port, t, None, "localhost", context=ctx)[2])
                 .hexdigest() for t in ("/bytes/3000000?seed=7", "/bytes/70000?chunked=1")]
            check("/bytes/N = PatternData(N, seed)", n == [PatternData(3000000, 7).sha256(),
                                                             PatternData(70000).sha256()])
            cli_args = ("-cert", cli[0], "-key", cli[1], "-CAfile", pki.ca_cert)
            code, out, _ = openssl_s_client(up.port, "-ign_eof", *cli_args, servername="localhost",
                                            input=get.replace("close", "keep-alive") + get)
            n = (code, negotiated_protocol(out), verify_code(out), peer_subject(out),
                 reused(out), out.count('"cn": "alice"'), '"conn_request": 2' in out)
            check("s_client, 2 requests on 1 connection:",
                  n == (0, "TLSv1.3", 0, "CN=localhost", False, 2, True), n)
            n = (negotiated_protocol(openssl_s_client(up.port, "-tls1_2", *cli_args)[1]),
                 '"method"' in openssl_s_client(up.port, "-ign_eof", input=get)[1])
            check("s_client -tls1_2; s_client without a client cert gets no answer:",
                  n == ("TLSv1.2", False), n)
            before = up.resumed
            for what, args in (("TLS 1.3", ()), ("TLS 1.2", ("-tls1_2",))):
                for sni in ("localhost", None):
                    check("s_client %s resumption (SNI %s): Reused" % (what, sni),
                          s_client_reconnect(up.port, *args, *cli_args, servername=sni))
            check("upstream counted 4 resumptions:", up.resumed - before == 4
                  and up.requests[-1]["session_reused"], up.resumed - before)
            idle = socket.create_connection((LOOPBACK, up.port), timeout=5)  # no handshake
            kept = ctx.wrap_socket(socket.create_connection((LOOPBACK, up.port), timeout=5),
                                   server_hostname="localhost")  # idle after its handshake
            check("no server-side errors", not up.errors, up.errors)
            t0 = time.monotonic()
            left = up.stop()
            check("stop() with idle connections: quick, no threads left:",
                  not left and time.monotonic() - t0 < 2, (time.monotonic() - t0, left))
            for sock in (idle, kept):
                sock.close()
        with HttpsUpstream(*srv, num_tickets=0) as up:
            check("num_tickets=0: no TLS 1.3 resumption; no client_ca: no client cert asked",
                  not s_client_reconnect(up.port) and json.loads(https_get(
                      up.port, "/", pki.ca_cert, "localhost", *cli)[2])["client_cert"] is None)
        with HttpsUpstream(*exp) as up:
            check("expired server cert refused", raises(
                lambda: https_get(up.port, "/", pki.ca_cert, "localhost")))
    left = [t.name for t in threading.enumerate() if t.name.startswith("https-upstream")]
    check("no upstream threads left", not left, left)
    return fails


if __name__ == "__main__":
    raise SystemExit(1 if _self_test() else 0)
