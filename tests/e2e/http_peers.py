"""Raw-socket peers for the HTTP/1.1 data-path end-to-end tests (test_http_*.py).

peers.Upstream (http.server) is a well-behaved upstream that holds whole bodies in memory.
The data-path tests need upstreams that stream and hash 64 MiB bodies, answer with exact
bytes (no length, a cut body, a reset, garbage, 1xx), speak WebSocket after a 101, or
half-close a tunnel; and clients that read responses incrementally. They live here.

Everything is on 127.0.0.1 and bounded: every socket read has a deadline, every loop a
count or a deadline, and every upstream thread ends when its socket is closed by stop().
"""

import base64
import hashlib
import http.client
import json
import os
import random
import shutil
import socket
import struct
import tempfile
import threading
import time
import urllib.parse

import harness
from peers import LOOPBACK

# A single read or wait on a peer never blocks longer than this; tests use shorter deadlines.
PEER_WAIT = 30.0


# --------------------------------------------------------------------------- data

def read_request_body(handler):
    """The body of the request an http.server handler is serving (Content-Length or chunked,
    decoded)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            chunk = handler.rfile.read(size + 2)[:size]
            if size == 0:
                return body
            body += chunk
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


class PatternData:
    """`size` deterministic pseudo-random bytes, produced piece by piece so that neither end
    holds a large body: the upstream sends it, the test hashes it, a file is written from it.
    Pieces are a random block of an odd size with an 8-byte counter in front, so a dropped,
    repeated or reordered piece changes the hash."""

    BLOCK = 256 * 1024 + 13

    def __init__(self, size, seed=1):
        self.size = size
        self._base = random.Random(seed).randbytes(self.BLOCK)

    def pieces(self):
        sent = 0
        i = 0
        while sent < self.size:
            block = i.to_bytes(8, "big") + self._base[8:]
            n = min(len(block), self.size - sent)
            yield block if n == len(block) else block[:n]
            sent += n
            i += 1

    def sha256(self):
        h = hashlib.sha256()
        for piece in self.pieces():
            h.update(piece)
        return h.hexdigest()

    def write_file(self, path):
        """Writes the bytes to `path`; returns their sha256."""
        h = hashlib.sha256()
        with open(path, "wb") as f:
            for piece in self.pieces():
                h.update(piece)
                f.write(piece)
        return h.hexdigest()


def rechunk(pieces, sizes):
    """Re-cuts a stream of byte pieces into pieces of the given sizes (cycled)."""
    buf = bytearray()
    i = 0
    for piece in pieces:
        buf += piece
        while len(buf) >= sizes[i % len(sizes)]:
            n = sizes[i % len(sizes)]
            yield bytes(buf[:n])
            del buf[:n]
            i += 1
    if buf:
        yield bytes(buf)


# Irregular chunk sizes: tiny, odd, around buffer and splice sizes.
CHUNK_SIZES = [1, 7, 4096, 65536 + 3, 13, 100000, 2, 262144 - 1, 999]


def chunk_frame(data, ext=b""):
    return b"%x%s\r\n%s\r\n" % (len(data), ext, data)


# --------------------------------------------------------------------------- reading

class Truncated(ConnectionError):
    """The peer closed (or reset) before a message was complete."""


class SockReader:
    """Buffered reads from a socket against a deadline. `counter(n)` is called with the size of
    every recv (the upstream counts what it received). EOF and resets read as b""."""

    def __init__(self, sock, deadline, counter=None):
        self.sock = sock
        self.deadline = deadline
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.counter = counter

    def _fill(self, want=262144):
        if self.eof:
            return False
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(min(remaining, PEER_WAIT))
        try:
            data = self.sock.recv(want)
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
            data = b""
        except OSError as exc:
            if isinstance(exc, socket.timeout):
                raise
            self.reset = True  # closed under us by stop()
            data = b""
        if not data:
            self.eof = True
            return False
        if self.counter is not None:
            self.counter(len(data))
        self.buf += data
        return True

    def read_until(self, delim, limit=1 << 20):
        """Bytes up to and including `delim`; Truncated at EOF, ValueError past `limit`."""
        start = 0
        while True:
            i = self.buf.find(delim, start)
            if i >= 0:
                out = bytes(self.buf[:i + len(delim)])
                del self.buf[:i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (delim, limit))
            start = max(0, len(self.buf) - len(delim) + 1)
            if not self._fill():
                raise Truncated("EOF before %r (have %r)" % (delim, bytes(self.buf[:200])))

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill(max(65536, n - len(self.buf))):
                raise Truncated("EOF after %d of %d bytes" % (len(self.buf), n))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_some(self, limit=262144):
        """Up to `limit` buffered or freshly received bytes; b"" at EOF."""
        if not self.buf and not self._fill(limit):
            return b""
        out = bytes(self.buf[:limit])
        del self.buf[:limit]
        return out

    def stream(self, n, sink):
        """Passes exactly n bytes to sink(bytes); returns how many arrived before EOF."""
        got = 0
        while got < n:
            if not self.buf and not self._fill(min(262144, max(65536, n - got))):
                return got
            take = min(len(self.buf), n - got)
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            got += take
        return got

    def read_to_eof(self, sink, limit=1 << 30):
        got = 0
        while got < limit:
            data = self.read_some()
            if not data:
                break
            sink(data)
            got += len(data)
        return got

    def at_eof(self, timeout):
        """True when the peer closes within `timeout` with nothing more sent (bytes that do
        arrive stay buffered and make this False)."""
        if self.buf:
            return False
        saved = self.deadline
        self.deadline = min(saved, time.monotonic() + timeout)
        try:
            return not self._fill()
        except socket.timeout:
            return False
        finally:
            self.deadline = saved


class Headers(list):
    """A list of (name, value) in arrival order, with case-insensitive lookups."""

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[-1] if values else default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self if k.lower() == name]

    def has_token(self, name, token):
        token = token.lower()
        return any(t.strip().lower() == token for v in self.get_all(name) for t in v.split(","))

    def as_dict(self):
        out = {}
        for k, v in self:
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out


def parse_head(raw):
    """(start line, Headers) of a head ending in CRLF CRLF (lenient: this is a test peer)."""
    lines = raw.decode("latin-1").split("\r\n")
    headers = Headers()
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.append((k, v.strip(" \t")))
    return lines[0], headers


def read_chunked(reader, sink):
    """Decodes a chunked body from reader into sink(bytes). Returns (size, extensions seen,
    trailer Headers). Raises Truncated when the stream ends before the last chunk."""
    total = 0
    exts = []
    while True:
        line = reader.read_until(b"\r\n", limit=4096)[:-2]
        size_text, _, ext = line.partition(b";")
        if ext:
            exts.append(ext.decode("latin-1"))
        size = int(size_text.strip(), 16)
        if size == 0:
            trailers = Headers()
            while True:
                t = reader.read_until(b"\r\n", limit=65536)
                if t == b"\r\n":
                    return total, exts, trailers
                k, _, v = t[:-2].decode("latin-1").partition(":")
                trailers.append((k, v.strip()))
        got = reader.stream(size, sink)
        total += got
        if got < size:
            raise Truncated("EOF inside a chunk after %d body bytes" % total)
        if reader.read_exact(2) != b"\r\n":
            raise ValueError("chunk data not followed by CRLF")


class Response:
    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.raw_head = raw_head
        self.body = b""          # kept when small (keep_body), else only hashed
        self.body_len = 0
        self.sha256 = None
        self.framing = None      # "none", "length", "chunked", "close"
        self.complete = False    # the body ended as its framing says it ends
        self.trailers = Headers()
        self.chunk_exts = []

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d %s, framing=%s, body_len=%d, complete=%s, head=%r, body=%r)" % (
            self.status, self.reason, self.framing, self.body_len, self.complete,
            self.raw_head[:400], self.body[:200])


def read_response(reader, method="GET", keep_body=1 << 20, allow_truncated=False):
    """Reads one response (an interim 1xx is returned as is; call again for the final one).
    The body is hashed as it streams in and kept in .body up to `keep_body` bytes. A body cut
    by EOF raises Truncated unless allow_truncated (then .complete is False)."""
    raw = reader.read_until(b"\r\n\r\n", limit=1 << 20)
    start, headers = parse_head(raw)
    parts = start.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise AssertionError("response does not start with a status line: %r" % raw[:120])
    version, status = parts[0], int(parts[1])
    r = Response(version, status, parts[2] if len(parts) > 2 else "", headers, raw)
    h = hashlib.sha256()
    kept = bytearray()

    def sink(data):
        h.update(data)
        r.body_len += len(data)
        if len(kept) < keep_body:
            kept.extend(data[:keep_body - len(kept)])

    te = headers.get("Transfer-Encoding")
    cl = headers.get("Content-Length")
    try:
        if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            r.framing = "none"
            r.complete = True
        elif te is not None and headers.has_token("Transfer-Encoding", "chunked"):
            r.framing = "chunked"
            _, r.chunk_exts, r.trailers = read_chunked(reader, sink)
            r.complete = True
        elif cl is not None:
            r.framing = "length"
            n = int(cl)
            r.complete = reader.stream(n, sink) == n
            if not r.complete:
                raise Truncated("EOF after %d of %d body bytes" % (r.body_len, n))
        else:
            r.framing = "close"
            reader.read_to_eof(sink)
            r.complete = not reader.reset
    except Truncated:
        if not allow_truncated:
            raise
        r.complete = False
    r.body = bytes(kept)
    r.sha256 = h.hexdigest()
    return r


def read_final_response(reader, method="GET", **kw):
    """Skips interim 1xx responses (not 101); returns (final, [interim...])."""
    interim = []
    for _ in range(20):
        r = read_response(reader, method, **kw)
        if 100 <= r.status < 200 and r.status != 101:
            interim.append(r)
            continue
        return r, interim
    raise AssertionError("more than 20 interim responses")


def client(port, timeout=20.0):
    """A connected client socket and a reader with `timeout` as its deadline."""
    s = socket.create_connection((LOOPBACK, port), timeout=min(timeout, PEER_WAIT))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, SockReader(s, time.monotonic() + timeout)


def get_on_new_connection(port, path="/", headers=None, timeout=10.0):
    """GET `path` on a connection of its own (so that requests spread over the daemon's
    shards), closed after: (status, {lower-case name: value}, body, seconds)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        started = time.monotonic()
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, \
            time.monotonic() - started
    finally:
        conn.close()


def linger_reset(sock):
    """Makes close() send an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# --------------------------------------------------------------------------- upstream

class Request:
    """What the upstream received: head, and the body's size and hash (not the body, unless
    small)."""

    def __init__(self, method, target, version, headers, raw_head):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.raw_head = raw_head
        self.path = urllib.parse.urlsplit(target).path
        self.query = {k: v[0] for k, v in
                      urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).items()}
        self.body = b""
        self.body_len = 0
        self.body_sha256 = hashlib.sha256(b"").hexdigest()
        self.chunked = False
        self.chunk_exts = []
        self.trailers = Headers()
        self.complete = False  # head and whole body arrived
        self.sent_continue = False

    def describe(self):
        return {"method": self.method, "target": self.target, "version": self.version,
                "headers": self.headers.as_dict(), "header_list": list(self.headers),
                "body_len": self.body_len, "body_sha256": self.body_sha256,
                "chunked": self.chunked, "chunk_exts": self.chunk_exts,
                "trailers": list(self.trailers), "sent_continue": self.sent_continue}

    def __repr__(self):
        return "Request(%s %s, body_len=%d, complete=%s)" % (
            self.method, self.target, self.body_len, self.complete)


class UpstreamConn:
    """One accepted connection, as the handler sees it."""

    def __init__(self, upstream, sock):
        self.upstream = upstream
        self.sock = sock
        self.reader = SockReader(sock, time.monotonic() + 120, counter=upstream._count_bytes)
        self.served = 0  # complete requests read on this connection, the current one included

    def send(self, data):
        self.sock.sendall(data)

    def reset(self):
        linger_reset(self.sock)
        self.sock.close()

    def wait(self, seconds):
        """Sleeps up to `seconds` (bounded by PEER_WAIT), returning early when the upstream
        stops."""
        self.upstream._stopping.wait(min(seconds, PEER_WAIT))


class HttpUpstream:
    """A threaded HTTP/1.1 upstream on 127.0.0.1:0 made of raw sockets.

    Request bodies (Content-Length or chunked) are streamed and hashed; `Expect: 100-continue`
    is answered with a 100 before the body is read (unless ?expect_status=N: then N is the
    final answer, sent without reading the body). Each complete request goes to
    handler(conn, request), which returns True to keep the connection open. The default
    handler, respond(), understands the query options it documents.

    Counters for the tests: .requests (complete ones, in order), .incomplete (heads whose body
    never completed), .bytes_received (every byte read, live) and .connections.
    """

    def __init__(self, name="up", handler=None, canned=None, start=True):
        """start=False: the port is bound but refuses connections until the subclass listens
        (LateUpstream)."""
        self.name = name
        self.handler = handler or respond
        self.canned = dict(canned or {})  # ?raw=NAME answers with these exact bytes
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests = []
        self.incomplete = []
        self.bytes_received = 0
        self.connections = 0
        self.errors = []  # handler exceptions, for test failure messages
        self.log = []     # free-form notes by handlers (WebSocket messages, tunnel bytes)
        self._socks = set()
        self._threads = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.address = "%s:%d" % (LOOPBACK, self.port)
        self._accept_thread = None
        if start:
            self.listener.listen(128)
            self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                                   name="http-upstream-" + name)
            self._accept_thread.start()

    # bookkeeping -------------------------------------------------------------

    def _count_bytes(self, n):
        with self._lock:
            self.bytes_received += n

    def note(self, item):
        with self._lock:
            self.log.append(item)

    @property
    def count(self):
        with self._lock:
            return len(self.requests)

    def snapshot(self):
        with self._lock:
            return list(self.requests), list(self.incomplete), self.bytes_received

    # serving -----------------------------------------------------------------

    def _accept_loop(self):
        self.listener.settimeout(0.1)
        while not self._stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._socks.add(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                 name="http-upstream-%s-conn" % self.name)
            t.start()
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _serve(self, sock):
        conn = UpstreamConn(self, sock)
        try:
            for _ in range(100000):
                if not self._serve_one(conn):
                    break
        except Exception as exc:  # noqa: BLE001 - recorded for failure messages
            if not self._stopping.is_set() and not isinstance(exc, (Truncated, OSError)):
                with self._lock:
                    self.errors.append(repr(exc))
        finally:
            with self._lock:
                self._socks.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _serve_one(self, conn):
        r = conn.reader
        try:
            raw = r.read_until(b"\r\n\r\n", limit=1 << 20)
        except Truncated:
            return False
        start, headers = parse_head(raw)
        method, target, version = (start.split(" ", 2) + ["", ""])[:3]
        req = Request(method, target, version, headers, raw)
        expect = headers.get("Expect", "").lower() == "100-continue"
        te = headers.get("Transfer-Encoding")
        cl = headers.get("Content-Length")
        has_body = te is not None or (cl is not None and int(cl) > 0)
        if expect and has_body:
            if "expect_status" in req.query:
                code = int(req.query["expect_status"])
                body = b"expectation answered without reading the body\n"
                conn.send(b"HTTP/1.1 %d Final\r\nContent-Length: %d\r\nConnection: close\r\n"
                          b"\r\n%s" % (code, len(body), body))
                req.complete = True
                with self._lock:
                    self.requests.append(req)
                return False
            conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.sent_continue = True
        h = hashlib.sha256()
        kept = bytearray()

        def sink(data):
            h.update(data)
            req.body_len += len(data)
            if len(kept) < (1 << 20):
                kept.extend(data[:(1 << 20) - len(kept)])

        try:
            if te is not None:
                req.chunked = True
                _, req.chunk_exts, req.trailers = read_chunked(r, sink)
            elif cl is not None and int(cl) > 0:
                if r.stream(int(cl), sink) < int(cl):
                    raise Truncated("request body cut")
        except (Truncated, ValueError):
            with self._lock:
                self.incomplete.append(req)
            return False
        req.body = bytes(kept)
        req.body_sha256 = h.hexdigest()
        req.complete = True
        conn.served += 1
        with self._lock:
            self.requests.append(req)
        return bool(self.handler(conn, req))

    def stop(self):
        self._stopping.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._socks)
            threads = list(self._threads)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accept_thread.join(timeout=5)
        for t in threads:
            t.join(timeout=5)


def respond(conn, req):
    """The default upstream behaviour, chosen by query options:

      (none)            200, JSON description of the request (Request.describe), Content-Length
      status=N          that status; 204/304/1xx without a body; cl=N adds Content-Length: N
                        to a bodyless 304
      download=N&seed=S N bytes of PatternData(N, S) with Content-Length
        chunked=1         ... chunked in irregular sizes (ext=1: with chunk extensions,
                          trailer=1: with a trailer field)
        noframe=1         ... with neither Content-Length nor Transfer-Encoding, then close
        cut=K             ... only the first K body bytes, then close (rst=1: reset instead;
                          stall=1: keep the connection open and silent instead)
      early=1           a 103 Early Hints before the final response
      delay_ms=N        wait before answering
      raw=NAME          send upstream.canned[NAME] verbatim, then close
      close=1           close without answering; reset=1: reset without answering
      close_if_reused=1 close without answering if this is not the connection's first request
      conn_close=1      answer with Connection: close and close
    A HEAD gets the head a GET would get, including its Content-Length, and no body.
    """
    q = req.query
    if "delay_ms" in q:
        conn.wait(int(q["delay_ms"]) / 1000.0)
    if "close" in q or ("close_if_reused" in q and conn.served > 1):
        return False
    if "reset" in q:
        conn.reset()
        return False
    if "raw" in q:
        conn.send(conn.upstream.canned[q["raw"]])
        if "rst" in q:
            conn.reset()
        return False
    if "early" in q:
        conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
    status = int(q.get("status", 200))
    keep = "conn_close" not in q and "noframe" not in q and "cut" not in q
    head = [b"HTTP/1.1 %d %s" % (status, REASONS.get(status, b"Whatever")),
            b"X-Upstream: " + conn.upstream.name.encode()]
    if not keep:
        head.append(b"Connection: close")
    if "download" in q:
        data = PatternData(int(q["download"]), int(q.get("seed", 1)))
        head.append(b"Content-Type: application/octet-stream")
        return _send_download(conn, req, q, head, data, keep)
    body = json.dumps(req.describe()).encode()
    head.append(b"Content-Type: application/json")
    if status in (204, 304) or 100 <= status < 200:
        if status == 304 and "cl" in q:
            head.append(b"Content-Length: " + q["cl"].encode())
        conn.send(b"\r\n".join(head) + b"\r\n\r\n")
        return keep
    head.append(b"Content-Length: %d" % len(body))
    out = b"\r\n".join(head) + b"\r\n\r\n"
    if req.method != "HEAD":
        out += body
    conn.send(out)
    return keep


def _send_download(conn, req, q, head, data, keep):
    cut = int(q["cut"]) if "cut" in q else None
    chunked = "chunked" in q
    if chunked:
        head.append(b"Transfer-Encoding: chunked")
        if "trailer" in q:
            head.append(b"Trailer: X-Checksum")
    elif "noframe" not in q:
        head.append(b"Content-Length: %d" % data.size)
    conn.send(b"\r\n".join(head) + b"\r\n\r\n")
    if req.method == "HEAD":
        return keep
    sent = 0
    for i, piece in enumerate(rechunk(data.pieces(), CHUNK_SIZES) if chunked else data.pieces()):
        if cut is not None and sent + len(piece) > cut:
            piece = piece[:cut - sent]
        if chunked:
            ext = b";i=%d;name=\"q\"" % i if "ext" in q and i % 2 == 0 else b""
            conn.send(chunk_frame(piece, ext) if piece else b"")
        else:
            conn.send(piece)
        sent += len(piece)
        if cut is not None and sent >= cut:
            break
    if cut is not None:
        if "stall" in q:
            conn.wait(PEER_WAIT)
        elif "rst" in q:
            conn.reset()
        return False
    if chunked:
        trailer = b"X-Checksum: %s\r\n" % data.sha256().encode() if "trailer" in q else b""
        conn.send(b"0\r\n" + trailer + b"\r\n")
    if "noframe" in q:
        if "rst" in q:
            conn.reset()
        return False
    return keep


REASONS = {100: b"Continue", 103: b"Early Hints", 200: b"OK", 204: b"No Content",
           304: b"Not Modified", 400: b"Bad Request", 404: b"Not Found"}


# --------------------------------------------------------------------------- WebSocket

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def ws_accept(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    if isinstance(key, str):
        key = key.encode()
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()


def _mask(payload, key):
    # XOR with the 4-byte key repeated, done on integers for speed (1 MiB frames).
    n = len(payload)
    if n == 0:
        return b""
    pad = key * (n // 4 + 1)
    return (int.from_bytes(payload, "little") ^ int.from_bytes(pad[:n], "little")).to_bytes(
        n, "little")


def ws_frame(opcode, payload, fin=True, mask=True, rsv=0):
    """One RFC 6455 frame; client frames are masked with a random key."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _mask(payload, key)


def ws_read_frame(reader, max_len=16 << 20):
    """(fin, opcode, payload, masked) of the next frame, unmasked."""
    b0, b1 = reader.read_exact(2)
    fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F
    if b0 & 0x70:
        raise ValueError("RSV bits set: %#x" % b0)
    if n == 126:
        n = struct.unpack("!H", reader.read_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", reader.read_exact(8))[0]
    if n > max_len:
        raise ValueError("frame of %d bytes" % n)
    key = reader.read_exact(4) if masked else None
    payload = reader.read_exact(n)
    if masked:
        payload = _mask(payload, key)
    return fin, opcode, payload, masked


def ws_read_message(reader, on_control=None):
    """Reads frames until a whole data message (fragments joined) or a close frame arrives.
    Returns (opcode, payload, frames_masked); control frames in between go to on_control."""
    opcode = None
    parts = []
    masked_all = True
    for _ in range(100000):
        fin, op, payload, masked = ws_read_frame(reader)
        masked_all = masked_all and masked
        if op >= 0x8:
            if op == OP_CLOSE:
                return op, payload, masked
            if on_control is not None:
                on_control(op, payload, masked)
            continue
        if opcode is None:
            if op == OP_CONT:
                raise ValueError("continuation frame without a message")
            opcode = op
        elif op != OP_CONT:
            raise ValueError("new message inside a fragmented one")
        parts.append(payload)
        if fin:
            return opcode, b"".join(parts), masked_all
    raise ValueError("too many frames")


def websocket_echo(conn, req):
    """An upstream handler: a WebSocket echo server (RFC 6455). Checks the opening handshake
    the proxy forwarded (answers 400 naming the problem otherwise), answers 101 with the
    computed Sec-WebSocket-Accept followed, in the same write, by a text frame "hello"; then
    echoes every data message as one unmasked frame, answers pings with pongs, requires every
    client frame to be masked (else closes with 1002), and answers a close frame with the same
    close frame, then closes TCP. Every message is noted in upstream.log."""
    h = req.headers
    problems = []
    if req.method != "GET":
        problems.append("method %s" % req.method)
    if not h.has_token("Upgrade", "websocket"):
        problems.append("Upgrade: %r" % h.get_all("Upgrade"))
    if not h.has_token("Connection", "upgrade"):
        problems.append("Connection: %r" % h.get_all("Connection"))
    if h.get("Sec-WebSocket-Version") != "13":
        problems.append("Sec-WebSocket-Version: %r" % h.get("Sec-WebSocket-Version"))
    key = h.get("Sec-WebSocket-Key")
    if key is None or len(base64.b64decode(key + "==")[:16]) != 16:
        problems.append("Sec-WebSocket-Key: %r" % key)
    if problems:
        body = ("bad WebSocket handshake: " + "; ".join(problems) + "\n").encode()
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return True
    up = conn.upstream
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + ws_accept(key).encode() + b"\r\n\r\n"
              + ws_frame(OP_TEXT, b"hello", mask=False))

    def control(op, payload, masked):
        up.note(("control", op, payload, masked))
        if op == OP_PING:
            conn.send(ws_frame(OP_PONG, payload, mask=False))

    for _ in range(10000):
        op, payload, masked = ws_read_message(conn.reader, control)
        if not masked:
            up.note(("unmasked", op, len(payload)))
            conn.send(ws_frame(OP_CLOSE, struct.pack("!H", 1002) + b"unmasked", mask=False))
            return False
        if op == OP_CLOSE:
            up.note(("close", payload))
            conn.send(ws_frame(OP_CLOSE, payload, mask=False))
            return False
        up.note(("message", op, len(payload), hashlib.sha256(payload).hexdigest()))
        conn.send(ws_frame(op, payload, mask=False))
    return False


def tunnel_peer(conn, req):
    """An upstream handler for a non-WebSocket Upgrade ("Upgrade: x-tunnel"): answers 101,
    then by ?order=:
      client_first   reads to EOF (the client's half-close), then sends a report
                     "got N sha256" and closes;
      upstream_first sends "bye\\n" and half-closes at once, then reads to EOF and notes
                     ("tunnel", N, sha256) in upstream.log."""
    if not req.headers.has_token("Upgrade", "x-tunnel"):
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return True
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-tunnel\r\n"
              b"Connection: Upgrade\r\n\r\n")
    h = hashlib.sha256()
    if req.query.get("order") == "upstream_first":
        conn.send(b"bye\n")
        conn.sock.shutdown(socket.SHUT_WR)
        n = conn.reader.read_to_eof(h.update)
        conn.upstream.note(("tunnel", n, h.hexdigest(), conn.reader.reset))
        return False
    n = conn.reader.read_to_eof(h.update)
    conn.upstream.note(("tunnel", n, h.hexdigest(), conn.reader.reset))
    conn.send(b"got %d %s\n" % (n, h.hexdigest().encode()))
    conn.sock.shutdown(socket.SHUT_WR)
    return False


def dispatch(routes, default=respond):
    """A handler choosing another handler by the request path's first segment after the
    service prefix, e.g. {"ws": websocket_echo} serves /svc/ws/..."""
    def handler(conn, req):
        parts = req.path.split("/")
        h = routes.get(parts[2] if len(parts) > 2 else "", default)
        return h(conn, req)
    return handler


# --------------------------------------------------------------------------- test base

class HttpE2ETestCase(harness.E2ETestCase):
    """E2ETestCase with the peers above, each stopped or closed when the test ends."""

    def start_http_upstream(self, name="up", **kwargs):
        up = HttpUpstream(name, **kwargs)
        # Cleanups run last-in first-out: stop, then check the peer itself did not break.
        self.addCleanup(lambda: self.assertEqual(up.errors, [], "upstream %s failed" % name))
        self.addCleanup(up.stop)
        return up

    def connect(self, port, timeout=20.0):
        """A client socket to 127.0.0.1:port and its reader (deadline `timeout` from now)."""
        s, reader = client(port, timeout)
        self.addCleanup(s.close)
        return s, reader

    def tmp_path(self, name):
        d = tempfile.mkdtemp(prefix="icaht-http-e2e-", dir="/tmp")
        self.addCleanup(shutil.rmtree, d, True)
        return os.path.join(d, name)

    def assertClosed(self, reader, timeout=5.0, what="connection"):
        self.assertTrue(reader.at_eof(timeout), "%s not closed within %.0fs (pending %r)" % (
            what, timeout, bytes(reader.buf[:200])))


# --------------------------------------------------------------------------- more upstreams

class RawUpstream(HttpUpstream):
    """An HttpUpstream that hands each accepted connection to handler(conn) as is: the handler
    reads (or does not read) the head and body from conn.reader and writes conn.sock itself;
    the connection is closed when it returns. rcvbuf: a fixed SO_RCVBUF for accepted
    connections (set on the listener before any connection, so the window is negotiated with
    it), to keep the kernel from buffering megabytes a slow handler has not read yet."""

    def __init__(self, name="raw", handler=None, rcvbuf=None):
        super().__init__(name, handler=handler)
        if rcvbuf is not None:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)

    def _serve_one(self, conn):
        self.handler(conn)
        return False


class LateUpstream(HttpUpstream):
    """An HttpUpstream whose port refuses connections until open(): bound from the start (so
    nobody else can take it) but not listening, then listening and serving like HttpUpstream."""

    def __init__(self, name="late", handler=None, canned=None):
        super().__init__(name, handler=handler, canned=canned, start=False)

    def open(self):
        """Starts listening and serving (once)."""
        if self._accept_thread is not None:
            return
        self.listener.listen(128)
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name="late-upstream-" + self.name)
        self._accept_thread.start()

    def stop(self):
        if self._accept_thread is None:
            self._stopping.set()
            self.listener.close()
            return
        super().stop()


class SharedDaemonTestCase(HttpE2ETestCase):
    """One daemon (and the class's upstreams) for every test of the class: started in
    setUpClass, stopped (and checked to exit 0) after the last test."""

    shards = 2

    @classmethod
    def daemon_args(cls):
        """Flags added to the shared daemon's (a subclass's own, e.g. --access-log)."""
        return ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = harness.Daemon(shards=cls.shards, name="daemon", extra_args=cls.daemon_args())
        cls.addClassCleanup(cls._stop_shared_daemon)
        cls.d.start()

    @classmethod
    def _stop_shared_daemon(cls):
        harness.stop_checked(cls.d)

    @classmethod
    def class_upstream(cls, factory, *args, **kwargs):
        up = factory(*args, **kwargs)

        def stop():
            up.stop()
            if up.errors:
                raise AssertionError("upstream %s failed: %r" % (up.name, up.errors))
        cls.addClassCleanup(stop)
        return up

    def setUp(self):
        self._daemons.append(self.d)  # its log is printed when a test fails
        self.assertTrue(self.d.alive(), "the shared daemon is gone")
