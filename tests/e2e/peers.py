"""Real peers for the end-to-end tests: upstream HTTP/1.1 servers, a refusing port, and
clients (real curl, raw sockets). Loopback only; every call has a timeout."""

import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

CURL = shutil.which("curl") or "curl"
LOOPBACK = "127.0.0.1"


class RefusingPort:
    """A loopback port that refuses connections: bound (so nobody else takes it) but never
    listening. Close it when done."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.address = "%s:%d" % (LOOPBACK, self.port)

    def close(self):
        self.sock.close()


def connect_refused(port, timeout=2.0):
    """True when a TCP connect to 127.0.0.1:port is refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((LOOPBACK, port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()


# --------------------------------------------------------------------------- upstreams

class _UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "icaht-e2e-upstream"
    # Head and body go out in two writes; without TCP_NODELAY the second waits for the
    # peer's delayed ACK (~40 ms per request on a kept-alive connection).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet
        pass

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self):
        up = self.server.upstream
        body = self._read_body()
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        record = {
            "upstream": up.name,
            "method": self.command,
            "path": self.path,
            "headers": {},
            "header_list": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "client_port": self.client_address[1],
        }
        for k, v in self.headers.items():
            k = k.lower()
            record["headers"][k] = record["headers"][k] + ", " + v if k in record["headers"] else v
        up._note_request(record)
        delay = up.delay
        if "delay_ms" in query:
            delay = int(query["delay_ms"][0]) / 1000.0
        try:
            if delay > 0:
                up._inflight_change(+1)
                try:
                    time.sleep(min(delay, 30.0))
                finally:
                    up._inflight_change(-1)
            status = int(query["status"][0]) if "status" in query else 200
            payload = json.dumps(record).encode()
            if "size" in query:  # a response body of exactly N bytes
                payload = b"x" * int(query["size"][0])
            bodyless = status in (204, 304) or self.command == "HEAD"
            chunked = "chunked" in query and not bodyless
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif status not in (204, 304):
                self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Upstream", up.name)
            if "close" in query:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if chunked:
                third = max(1, len(payload) // 3)
                for i in range(0, len(payload), third):
                    part = payload[i:i + third]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            elif not bodyless:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Upstream:
    """A threaded HTTP/1.1 keep-alive server on 127.0.0.1:0 that answers with a JSON
    description of the request, naming itself ("upstream": name).

    delay: seconds to wait before answering every request (a ?delay_ms=N query overrides it
    per request). Per-request query options: ?status=N answers with that status (204/304
    without a body); ?size=N answers with N body bytes ("x"); ?chunked=1 sends the body
    chunked; ?close=1 answers with Connection: close and closes.
    host/port: where it listens instead (another loopback address, a port taken elsewhere).
    """

    def __init__(self, name, delay=0.0, host=LOOPBACK, port=0):
        self.name = name
        self.delay = delay
        self._lock = threading.Lock()
        self.requests = []
        self.inflight = 0
        self.server = _ThreadingServer((host, port), _UpstreamHandler)
        self.server.upstream = self
        self.port = self.server.server_address[1]
        self.address = "%s:%d" % (host, self.port)
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="upstream-" + name, daemon=True)
        self._thread.start()

    def _note_request(self, record):
        with self._lock:
            self.requests.append(record)

    def _inflight_change(self, d):
        with self._lock:
            self.inflight += d

    @property
    def count(self):
        with self._lock:
            return len(self.requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- curl & raw

class CurlResult:
    def __init__(self, rc, status, body, headers, stderr, num_connects=None):
        self.rc = rc
        self.status = status
        self.body = body
        self.headers = headers  # lower-case name -> value (last wins)
        self.stderr = stderr
        self.num_connects = num_connects

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "CurlResult(rc=%d, status=%s, body=%r, stderr=%r)" % (
            self.rc, self.status, self.body[:300], self.stderr[-300:])


def _curl_env():
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del env[k]
    return env


def curl(url, *extra, timeout=10.0, headers=(), method=None, data_file=None, data=None):
    """One request with real curl. Returns CurlResult (status 0 when there was no response)."""
    with tempfile.TemporaryDirectory(prefix="icaht-curl-") as tmp:
        body_path = os.path.join(tmp, "body")
        head_path = os.path.join(tmp, "head")
        argv = [CURL, "-sS", "--noproxy", "*", "--max-time", str(timeout),
                "-o", body_path, "-D", head_path,
                "-w", "%{http_code} %{num_connects}"]
        for h in headers:
            argv += ["-H", h]
        if method:
            argv += ["-X", method]
        if data is not None:
            data_file = os.path.join(tmp, "data")
            with open(data_file, "wb") as f:
                f.write(data)
        if data_file is not None:
            argv += ["--data-binary", "@" + data_file]
        argv += list(extra) + [url]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout + 10, env=_curl_env())
        out = p.stdout.decode(errors="replace").split()
        status = int(out[0]) if out else 0
        connects = int(out[1]) if len(out) > 1 else None
        body = b""
        if os.path.exists(body_path):
            with open(body_path, "rb") as f:
                body = f.read()
        hdrs = {}
        if os.path.exists(head_path):
            with open(head_path, "rb") as f:
                for line in f.read().decode(errors="replace").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        hdrs[k.strip().lower()] = v.strip()
        return CurlResult(p.returncode, status, body, hdrs, p.stderr.decode(errors="replace"),
                          connects)


def curl_many(urls, *extra, timeout=20.0, headers=()):
    """Several URLs in ONE curl process (so curl reuses its connection when it may).
    Returns [(status, num_connects)], one per URL, and the process result."""
    argv = [CURL, "-sS", "--noproxy", "*", "--max-time", str(timeout)]
    for h in headers:
        argv += ["-H", h]
    argv += list(extra)
    for u in urls:
        argv += ["-o", "/dev/null", "-w", "%{http_code} %{num_connects}\\n", u]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + 10, env=_curl_env())
    rows = []
    for line in p.stdout.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            rows.append((int(parts[0]), int(parts[1])))
    return rows, p


def url(port, path="/"):
    return "http://%s:%d%s" % (LOOPBACK, port, path)


class RawResponse:
    def __init__(self, status, headers, body, raw, rest=b""):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self.raw = raw
        self.rest = rest  # bytes read past this response (the next pipelined one)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def _read_chunked(sock, buf, deadline):
    """Decodes a chunked body from buf + further reads; returns (body, leftover bytes)."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed inside a chunked body")
            buf += chunk

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            need(len(buf) + 1)
        out, _, buf = buf.partition(b"\r\n")
        return out

    body = b""
    while True:
        size = int(line().split(b";")[0].strip(), 16)
        if size == 0:
            while line():  # trailers up to the empty line
                pass
            return body, buf
        need(size + 2)
        body += buf[:size]
        buf = buf[size + 2:]


def read_response(sock, deadline, head_only=False, leftover=b"", skip_interim=True):
    """Reads one HTTP/1.1 response (Content-Length, chunked, or to EOF) from a socket,
    skipping interim 1xx responses (100 Continue) unless skip_interim is False.
    `leftover` is what a previous read_response returned in .rest (pipelining)."""
    while True:
        r = _read_one_response(sock, deadline, head_only, leftover)
        if not skip_interim or not 100 <= r.status < 200 or r.status == 101:
            return r
        leftover = r.rest


def _read_one_response(sock, deadline, head_only, leftover):
    buf = leftover
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before response headers (%r)" % buf[:200])
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    length = None
    chunked = False
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
        elif k.lower() == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    if head_only or status in (204, 304) or 100 <= status < 200:
        length, chunked = 0, False
    if chunked:
        body, rest = _read_chunked(sock, rest, deadline)
        return RawResponse(status, headers, body, buf, rest)
    if length is None:
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        body = rest
    else:
        while len(rest) < length:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed mid-body (%d of %d)" % (len(rest), length))
            rest += chunk
        body, rest = rest[:length], rest[length:]
    return RawResponse(status, headers, body, buf, rest)


def raw_request(port, data, timeout=10.0):
    """Sends raw bytes on a fresh connection and reads one response."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s, deadline)


def simple_get(port, path="/", host=None, timeout=10.0):
    """GET on a fresh connection with Connection: close; returns RawResponse."""
    req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
        path, host or "%s:%d" % (LOOPBACK, port))
    return raw_request(port, req.encode(), timeout)


def wait_closed(sock, timeout):
    """True when the peer closes `sock` (EOF or reset) within `timeout` seconds; data that
    arrives meanwhile is discarded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False
