"""HTTP/1.1 on the wire for the data-path end-to-end tests: what the test clients and the
raw-socket upstreams (http_upstream.py) both use.

Bodies that neither end holds whole (PatternData, rechunk, chunk_frame; read_request_body for
http.server handlers), buffered socket reads against a deadline (SockReader), head and chunked
body parsing (parse_head, read_chunked), responses read incrementally (Response,
read_response, read_final_response), and client connections (client, get_on_new_connection,
linger_reset).

Everything is on 127.0.0.1 and bounded: every socket read has a deadline (one read or wait never
longer than PEER_WAIT).
"""

import hashlib
import http.client
import json
import random
import socket
import struct
import time

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
