#!/usr/bin/env python3
"""Upgrade through the real daemon: a WebSocket echo (RFC 6455 handshake and masked frames,
text and binary, fragmented, 1 MiB, ping/pong, close exchange) through the tunnel a 101
opens, and half-closes travelling through a raw upgraded tunnel in both orders."""

import base64
import hashlib
import os
import socket
import struct

import harness
from harness import record, wait_until
from http_peers import HttpE2ETestCase
from http_upstream import dispatch
from http_wire import read_response
from ws_peers import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, tunnel_peer,
                      websocket_echo, ws_accept, ws_frame, ws_read_frame, ws_read_message)


class UpgradeTest(HttpE2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=2)
        self.up = self.start_http_upstream("up", handler=dispatch({"ws": websocket_echo,
                                                                   "tunnel": tunnel_peer}))
        self.port = self.d.register(record("svc", [self.up.address]))["port"]

    def connect(self, timeout=20.0):
        return super().connect(self.port, timeout)

    def handshake(self, s, reader, path=b"/svc/ws/chat"):
        key = base64.b64encode(os.urandom(16))
        s.sendall(b"GET %s HTTP/1.1\r\nHost: svc\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  b"Sec-WebSocket-Version: 13\r\nOrigin: http://svc\r\n\r\n" % (path, key))
        r = read_response(reader)
        self.assertEqual(r.status, 101, "handshake refused: %r" % r)
        self.assertTrue(r.headers.has_token("Upgrade", "websocket"), r)
        self.assertTrue(r.headers.has_token("Connection", "upgrade"), r)
        self.assertEqual(r.headers.get("Sec-WebSocket-Accept"), ws_accept(key), r)
        return key

    def test_websocket_echo_through_the_tunnel(self):
        s, reader = self.connect(timeout=30)
        key = self.handshake(s, reader)
        # What the upstream saw of the handshake.
        seen = self.up.requests[0].headers
        self.assertTrue(seen.has_token("Upgrade", "websocket"), seen)
        self.assertTrue(seen.has_token("Connection", "upgrade"), seen)
        self.assertEqual(seen.get("Sec-WebSocket-Key"), key.decode())
        self.assertEqual(seen.get("Sec-WebSocket-Version"), "13")

        # The server greets first; its frame followed the 101 in the same write.
        op, payload, masked = ws_read_message(reader)
        self.assertEqual((op, payload, masked), (OP_TEXT, b"hello", False))

        messages = [
            (OP_TEXT, "plain text".encode()),
            (OP_BINARY, bytes(range(256))),
            (OP_TEXT, "ünïcödé ✓".encode()),
            (OP_BINARY, b""),
            (OP_BINARY, os.urandom(125)),
            (OP_BINARY, os.urandom(126)),          # 16-bit length
            (OP_BINARY, os.urandom(65535)),
            (OP_BINARY, os.urandom(65536)),        # 64-bit length
            (OP_BINARY, os.urandom(1024 * 1024)),  # 1 MiB
            (OP_TEXT, b"after the big one"),
        ]
        for op, payload in messages:
            s.sendall(ws_frame(op, payload))
            got_op, got, masked = ws_read_message(reader)
            self.assertEqual(got_op, op)
            self.assertFalse(masked, "server frames must not be masked")
            self.assertEqual(len(got), len(payload))
            self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(payload).digest())

        # Several messages in one write, answered in order.
        burst = [os.urandom(n) for n in (1, 1000, 70000, 3)]
        s.sendall(b"".join(ws_frame(OP_BINARY, p) for p in burst))
        for p in burst:
            self.assertEqual(ws_read_message(reader)[1], p)

        # A fragmented text message with a ping between its fragments (RFC 6455 5.4).
        pongs = []
        s.sendall(ws_frame(OP_TEXT, b"frag-one ", fin=False) +
                  ws_frame(OP_PING, b"are you there") +
                  ws_frame(OP_CONT, b"frag-two ", fin=False) +
                  ws_frame(OP_CONT, b"frag-three"))
        op, payload, _ = ws_read_message(reader, lambda o, p, m: pongs.append((o, p)))
        self.assertEqual((op, payload), (OP_TEXT, b"frag-one frag-two frag-three"))
        self.assertEqual(pongs, [(OP_PONG, b"are you there")])

        # Closing handshake: our close, the server's echo of it, then the TCP close.
        s.sendall(ws_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye"))
        fin, op, payload, masked = ws_read_frame(reader)
        self.assertEqual((fin, op, payload, masked),
                         (True, OP_CLOSE, struct.pack("!H", 1000) + b"bye", False))
        self.assertTrue(reader.at_eof(5), "tunnel not closed after the server closed")
        notes = self.up.log
        self.assertNotIn("unmasked", [n[0] for n in notes], notes)
        self.assertEqual(sum(1 for n in notes if n[0] == "message"),
                         len(messages) + len(burst) + 1)
        self.assertEqual(notes[-1], ("close", struct.pack("!H", 1000) + b"bye"))

    def test_two_websockets_at_once_do_not_mix(self):
        a, ra = self.connect()
        b, rb = self.connect()
        self.handshake(a, ra)
        self.handshake(b, rb)
        self.assertEqual(ws_read_message(ra)[1], b"hello")
        self.assertEqual(ws_read_message(rb)[1], b"hello")
        for i in range(20):
            pa, pb = b"a%d" % i * 100, b"b%d" % i * 300
            a.sendall(ws_frame(OP_TEXT, pa))
            b.sendall(ws_frame(OP_BINARY, pb))
            self.assertEqual(ws_read_message(rb)[:2], (OP_BINARY, pb))
            self.assertEqual(ws_read_message(ra)[:2], (OP_TEXT, pa))

    def test_handshake_refused_by_upstream_stays_http(self):
        # Without a 101 nothing is upgraded: the refusal is an ordinary response and the
        # connection goes on speaking HTTP/1.1.
        s, reader = self.connect()
        s.sendall(b"GET /svc/ws/x HTTP/1.1\r\nHost: svc\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")  # no key
        r = read_response(reader)
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"Sec-WebSocket-Key", r.body)
        s.sendall(b"GET /svc/after HTTP/1.1\r\nHost: svc\r\n\r\n")
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/svc/after"), r)

    # half-close ----------------------------------------------------------------

    def open_tunnel(self, order):
        s, reader = self.connect(timeout=30)
        s.sendall(b"GET /svc/tunnel?order=%s HTTP/1.1\r\nHost: svc\r\nUpgrade: x-tunnel\r\n"
                  b"Connection: Upgrade\r\n\r\n" % order)
        r = read_response(reader)
        self.assertEqual(r.status, 101, r)
        return s, reader

    def test_client_half_close_reaches_upstream_and_reply_still_arrives(self):
        s, reader = self.open_tunnel(b"client_first")
        data = os.urandom(3 * 1024 * 1024 + 5)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        line = reader.read_until(b"\n", limit=200)
        self.assertEqual(line, b"got %d %s\n" % (len(data),
                                                  hashlib.sha256(data).hexdigest().encode()))
        self.assertTrue(reader.at_eof(5), "tunnel not closed after both sides ended")

    def test_upstream_half_close_reaches_client_which_can_still_send(self):
        s, reader = self.open_tunnel(b"upstream_first")
        self.assertEqual(reader.read_until(b"\n", limit=200), b"bye\n")
        self.assertTrue(reader.at_eof(5), "upstream's half-close did not reach the client")
        # Our direction is still open: send after the upstream's FIN.
        data = os.urandom(1024 * 1024)
        for i in range(0, len(data), 65536):
            s.sendall(data[i:i + 65536])
        s.shutdown(socket.SHUT_WR)
        expected = ("tunnel", len(data), hashlib.sha256(data).hexdigest(), False)
        wait_until(lambda: expected in self.up.log, 10,
                   what="the upstream to get the client's bytes after its own half-close "
                        "(log %r)" % (self.up.log,))


if __name__ == "__main__":
    harness.main()
