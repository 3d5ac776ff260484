#!/usr/bin/env python3
"""Bodies through the real daemon, byte-exact: 64 MiB up (curl) and down (raw socket) with
Content-Length, chunked both ways (curl and raw sockets, irregular chunk sizes, extensions,
trailers), and Expect: 100-continue (curl's own and by hand)."""

import hashlib
import os
import time

import harness
from harness import curl, record, url
from http_peers import HttpE2ETestCase
from http_wire import (CHUNK_SIZES, PatternData, chunk_frame, read_final_response, read_response,
                       rechunk)

BIG = 64 * 1024 * 1024
MIB = 1024 * 1024


class LargeBodiesTest(HttpE2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=2)
        self.up = self.start_http_upstream("files")
        self.port = self.d.register(record("files", [self.up.address]))["port"]

    def test_64mib_upload_with_curl_is_byte_exact(self):
        path = self.tmp_path("upload.bin")
        sha = PatternData(BIG, seed=11).write_file(path)
        t0 = time.monotonic()
        r = curl(url(self.port, "/files/upload"), method="POST", data_file=path, timeout=45,
                 headers=["Content-Type: application/octet-stream"])
        self.assertEqual((r.rc, r.status), (0, 200), r)
        seen = r.json
        self.assertEqual(seen["body_len"], BIG)
        self.assertEqual(seen["body_sha256"], sha, "upload arrived corrupted")
        self.assertEqual(seen["headers"].get("content-length"), str(BIG))
        self.assertEqual(self.up.count, 1)
        self.assertLess(time.monotonic() - t0, 40)

    def test_64mib_download_over_raw_socket_is_byte_exact(self):
        s, reader = self.connect(self.port, timeout=45)
        s.sendall(b"GET /files/dl?download=%d&seed=7 HTTP/1.1\r\nHost: files\r\n\r\n" % BIG)
        r = read_response(reader, keep_body=0)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Length"), str(BIG))
        self.assertIsNone(r.headers.get("Transfer-Encoding"))
        self.assertEqual(r.body_len, BIG)
        self.assertEqual(r.sha256, PatternData(BIG, seed=7).sha256(), "download corrupted")
        # The connection is still good after the large body (it may have been spliced).
        s.sendall(b"GET /files/after HTTP/1.1\r\nHost: files\r\n\r\n")
        r = read_response(reader)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["target"], "/files/after")

    def test_large_download_after_many_small_answers_on_one_upstream_connection(self):
        # Upstream receives turn multishot after 64 uninterrupted small answers; a large body
        # then arrives while the multishot recv is still armed: what it reads before the
        # cancel lands is copied, the rest spliced, and the connection stays usable.
        s, reader = self.connect(self.port, timeout=30)
        size = 4 * MIB + 3

        def small_answers(tag, n):
            for i in range(n):
                s.sendall(b"GET /files/%s-%d HTTP/1.1\r\nHost: files\r\n\r\n" % (tag, i))
                r = read_response(reader)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["target"], "/files/%s-%d" % (tag.decode(), i))

        for round_, seed in enumerate((21, 22)):
            small_answers(b"small%d" % round_, 80)
            s.sendall(b"GET /files/dl?download=%d&seed=%d HTTP/1.1\r\nHost: files\r\n\r\n"
                      % (size, seed))
            r = read_response(reader, keep_body=0)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body_len, size)
            self.assertEqual(r.sha256, PatternData(size, seed=seed).sha256(),
                             "large body after small answers corrupted (round %d)" % round_)
        small_answers(b"after", 3)
        # One client connection on one shard: every request went over one pooled upstream
        # connection, so the switch between receive modes happened on it.
        self.assertEqual(self.up.connections, 1)

    def test_chunked_upload_with_curl(self):
        size = 4 * MIB + 5
        path = self.tmp_path("chunked.bin")
        sha = PatternData(size, seed=3).write_file(path)
        r = curl(url(self.port, "/files/chunked-up"), method="POST", data_file=path, timeout=30,
                 headers=["Transfer-Encoding: chunked"])
        self.assertEqual((r.rc, r.status), (0, 200), r)
        seen = r.json
        self.assertTrue(seen["chunked"], "upstream did not get a chunked body: %r" % seen)
        self.assertNotIn("content-length", seen["headers"])
        self.assertEqual(seen["body_len"], size)
        self.assertEqual(seen["body_sha256"], sha)

    def test_chunked_upload_raw_irregular_chunks_extensions_trailer(self):
        size = 3 * MIB + 17
        data = PatternData(size, seed=5)
        s, reader = self.connect(self.port)
        s.sendall(b"POST /files/raw-chunked HTTP/1.1\r\nHost: files\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for i, piece in enumerate(rechunk(data.pieces(), CHUNK_SIZES)):
            s.sendall(chunk_frame(piece, b";n=%d" % i if i % 3 == 0 else b""))
        s.sendall(b"0\r\nX-Trailer: yes\r\n\r\n")
        r = read_response(reader)
        self.assertEqual(r.status, 200, r)
        seen = r.json
        self.assertTrue(seen["chunked"])
        self.assertEqual(seen["body_len"], size)
        self.assertEqual(seen["body_sha256"], data.sha256())
        # The next request on the same connection is framed correctly after the last chunk.
        s.sendall(b"GET /files/next HTTP/1.1\r\nHost: files\r\n\r\n")
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/files/next"), r)

    def test_chunked_download_with_curl(self):
        size = 5 * MIB + 3
        # curl() saves the body with -o to a file and reads it back.
        r = curl(url(self.port, "/files/dl?download=%d&seed=9&chunked=1" % size), timeout=30)
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertEqual(r.headers.get("transfer-encoding"), "chunked")
        self.assertEqual(len(r.body), size)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), PatternData(size, seed=9).sha256())

    def test_chunked_download_raw_framing(self):
        size = 2 * MIB + 1
        s, reader = self.connect(self.port)
        s.sendall(b"GET /files/dl?download=%d&seed=4&chunked=1 HTTP/1.1\r\nHost: files\r\n\r\n"
                  % size)
        r = read_response(reader, keep_body=0)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.framing, "chunked", r)
        self.assertIsNone(r.headers.get("Content-Length"), r)
        self.assertEqual((r.body_len, r.sha256), (size, PatternData(size, seed=4).sha256()))
        s.sendall(b"GET /files/next HTTP/1.1\r\nHost: files\r\n\r\n")
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/files/next"), r)

    def test_chunked_download_with_extensions_and_trailer(self):
        size = 300001
        data = PatternData(size, seed=8)
        s, reader = self.connect(self.port)
        s.sendall(b"GET /files/dl?download=%d&seed=8&chunked=1&ext=1&trailer=1 HTTP/1.1\r\n"
                  b"Host: files\r\nTE: trailers\r\n\r\n" % size)
        r = read_response(reader)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.body_len, r.sha256), (size, data.sha256()))
        # Trailers may be forwarded or dropped (RFC 9110 6.5), but a forwarded one is intact.
        checksum = r.trailers.get("X-Checksum")
        if checksum is not None:
            self.assertEqual(checksum, data.sha256())
        s.sendall(b"GET /files/next HTTP/1.1\r\nHost: files\r\n\r\n")
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/files/next"), r)


class ExpectContinueTest(HttpE2ETestCase):
    def setUp(self):
        self.d, self.up, self.port = self.start_service()

    def test_curl_sends_expect_for_large_body_and_gets_100_fast(self):
        size = 2 * MIB + 1  # curl adds "Expect: 100-continue" above 1 MiB
        path = self.tmp_path("expect.bin")
        sha = PatternData(size, seed=2).write_file(path)
        t0 = time.monotonic()
        # curl would send the body anyway after --expect100-timeout without a 100; set it long,
        # so a missing 100 Continue shows as a slow upload instead of passing silently.
        r = curl(url(self.port, "/svc/expect"), "-v", "--expect100-timeout", "6", method="POST",
                 data_file=path, timeout=30)
        elapsed = time.monotonic() - t0
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertIn("HTTP/1.1 100 Continue", r.stderr, "curl saw no 100 Continue")
        self.assertLess(elapsed, 3.0, "upload with Expect took %.2fs: 100 Continue not relayed "
                                      "promptly" % elapsed)
        seen = r.json
        self.assertEqual(seen["headers"].get("expect"), "100-continue", seen["headers"])
        self.assertTrue(seen["sent_continue"])
        self.assertEqual((seen["body_len"], seen["body_sha256"]), (size, sha))

    def test_raw_client_gets_100_before_sending_the_body(self):
        body = os.urandom(100000)
        s, reader = self.connect(self.port)
        s.sendall(b"POST /svc/expect HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % len(body))
        reader.deadline = time.monotonic() + 5
        interim = read_response(reader)  # nothing of the body has been sent yet
        self.assertEqual(interim.status, 100, interim)
        self.assertTrue(interim.raw_head.startswith(b"HTTP/1.1 100 Continue\r\n"),
                        interim.raw_head)
        reader.deadline = time.monotonic() + 20
        s.sendall(body)
        r, more = read_final_response(reader)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(more, [], "a second interim response")
        self.assertEqual(r.json["body_sha256"], hashlib.sha256(body).hexdigest())
        self.assertEqual(r.json["headers"].get("expect"), "100-continue")
        # Same connection, next exchange.
        s.sendall(b"GET /svc/after HTTP/1.1\r\nHost: svc\r\n\r\n")
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/svc/after"), r)

    def test_final_status_instead_of_100_reaches_the_client(self):
        # The upstream refuses the body outright (417) without a 100: the client gets the final
        # answer without having sent its body.
        s, reader = self.connect(self.port)
        reader.deadline = time.monotonic() + 5
        s.sendall(b"PUT /svc/expect?expect_status=417 HTTP/1.1\r\nHost: svc\r\n"
                  b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        r, interim = read_final_response(reader)
        self.assertEqual(r.status, 417, r)
        self.assertEqual(interim, [])


if __name__ == "__main__":
    harness.main()
