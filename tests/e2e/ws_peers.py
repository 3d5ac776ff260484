"""WebSocket (RFC 6455) and Upgrade-tunnel peers for the end-to-end tests: frames for test
clients (ws_accept, ws_frame, ws_read_frame, ws_read_message) and HttpUpstream handlers
(http_upstream.py) that speak WebSocket after a 101 (websocket_echo) or half-close a tunnel
(tunnel_peer).

Bounded like the other peers: reads go through a SockReader with a deadline, and every loop has
a count.
"""

import base64
import hashlib
import os
import socket
import struct

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
