"""Raw-socket HTTP/1.1 upstreams for the data-path end-to-end tests (test_http_*.py and others).

peers.Upstream (http.server) is a well-behaved upstream that holds whole bodies in memory.
The data-path tests need upstreams that stream and hash 64 MiB bodies, answer with exact
bytes (no length, a cut body, a reset, garbage, 1xx) or not at all, or hand the raw connection
to the test: HttpUpstream (and what its handlers see: Request, UpstreamConn), its default
handler respond() with its query options, dispatch() to pick a handler by path, RawUpstream
and LateUpstream. The WebSocket and tunnel handlers are in ws_peers.py.

Everything is on 127.0.0.1 and bounded: every socket read has a deadline, every loop a
count or a deadline, and every upstream thread ends when its socket is closed by stop().
"""

import hashlib
import json
import socket
import threading
import time
import urllib.parse

from http_wire import (CHUNK_SIZES, PEER_WAIT, Headers, PatternData, SockReader, Truncated,
                       chunk_frame, linger_reset, parse_head, read_chunked, rechunk)
from peers import LOOPBACK


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


def dispatch(routes, default=respond):
    """A handler choosing another handler by the request path's first segment after the
    service prefix, e.g. {"ws": ws_peers.websocket_echo} serves /svc/ws/..."""
    def handler(conn, req):
        parts = req.path.split("/")
        h = routes.get(parts[2] if len(parts) > 2 else "", default)
        return h(conn, req)
    return handler


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
