#!/usr/bin/env python3
"""HTTP/1.1 framing through the real daemon, over raw sockets: pipelining, malformed and
smuggling requests (answered, closed, never forwarded), limits (414, 431, 413, 505),
bodyless responses, responses without a length, invalid upstream responses (502), and an
upstream that dies mid-response (the client never gets a truncated response that looks
complete)."""

import hashlib
import threading
import time

import harness
from harness import curl, url
from http_peers import HttpE2ETestCase
from http_wire import (PatternData, Truncated, chunk_frame, client, read_final_response,
                       read_response)


def get(path, extra=b"", host=b"svc"):
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host, extra)


# --------------------------------------------------------------------------- pipelining

class PipeliningTest(HttpE2ETestCase):
    def setUp(self):
        self.d, self.up, self.port = self.start_service()

    def check_json(self, r, method, target, body=b""):
        self.assertEqual(r.status, 200, r)
        seen = r.json
        self.assertEqual((seen["method"], seen["target"]), (method, target), seen)
        self.assertEqual(seen["body_sha256"], hashlib.sha256(body).hexdigest(), seen)

    def test_mixed_requests_in_one_send_answered_in_order(self):
        cl_body = b"content-length body " * 50
        chunked_body = b"chunked body " * 70
        chunked = (chunk_frame(chunked_body[:100]) + chunk_frame(chunked_body[100:]) +
                   b"0\r\n\r\n")
        reqs = [
            get(b"/svc/p0"),
            b"POST /svc/p1 HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n\r\n%s" % (
                len(cl_body), cl_body),
            b"POST /svc/p2 HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
            b"HEAD /svc/p3 HTTP/1.1\r\nHost: svc\r\n\r\n",
            get(b"/svc/p4?download=200000&seed=4"),
            get(b"/svc/p5?download=150001&seed=5&chunked=1"),
            get(b"/svc/p6?status=204"),
            get(b"/svc/p7"),
        ]
        s, reader = self.connect(self.port)
        s.sendall(b"".join(reqs))
        self.check_json(read_response(reader), "GET", "/svc/p0")
        self.check_json(read_response(reader), "POST", "/svc/p1", cl_body)
        r = read_response(reader)
        self.check_json(r, "POST", "/svc/p2", chunked_body)
        self.assertTrue(r.json["chunked"])
        r = read_response(reader, method="HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("X-Upstream"), "up")
        for seed, size in ((4, 200000), (5, 150001)):
            r = read_response(reader)
            self.assertEqual((r.status, r.body_len), (200, size), r)
            self.assertEqual(r.sha256, PatternData(size, seed).sha256())
        r = read_response(reader)
        self.assertEqual((r.status, r.body_len), (204, 0), r)
        self.check_json(read_response(reader), "GET", "/svc/p7")
        targets = [q.target.split("?")[0] for q in self.up.requests]
        self.assertEqual(targets, ["/svc/p%d" % i for i in range(8)])
        self.assertEqual(reader.buf, b"", "bytes after the last response")

    def test_pipeline_sent_one_byte_at_a_time(self):
        body = b"0123456789"
        data = (get(b"/svc/b0") +
                b"PUT /svc/b1 HTTP/1.1\r\nHost: svc\r\nContent-Length: 10\r\n\r\n" + body +
                b"POST /svc/b2 HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n" +
                chunk_frame(body) + b"0\r\n\r\n" + get(b"/svc/b3"))
        s, reader = self.connect(self.port)
        for i in range(len(data)):
            s.send(data[i:i + 1])
        self.check_json(read_response(reader), "GET", "/svc/b0")
        self.check_json(read_response(reader), "PUT", "/svc/b1", body)
        self.check_json(read_response(reader), "POST", "/svc/b2", body)
        self.check_json(read_response(reader), "GET", "/svc/b3")

    def test_pipelined_large_responses_keep_their_order(self):
        sizes = [3 * 1024 * 1024, 10, 2 * 1024 * 1024 + 7, 1]
        reqs = b"".join(get(b"/svc/l%d?download=%d&seed=%d%s" % (
            i, n, i, b"&chunked=1" if i == 2 else b"")) for i, n in enumerate(sizes))
        s, reader = self.connect(self.port, timeout=30)
        s.sendall(reqs)
        for i, n in enumerate(sizes):
            r = read_response(reader, keep_body=0)
            self.assertEqual((r.status, r.body_len), (200, n), "response %d: %r" % (i, r))
            self.assertEqual(r.sha256, PatternData(n, i).sha256(), "response %d" % i)


# --------------------------------------------------------------------------- bad requests

class MalformedRequestTest(HttpE2ETestCase):
    """Every case on a fresh connection: the expected status, then the connection closes, and
    the upstream receives nothing at all."""

    MAX_BODY = 1000

    def setUp(self):
        self.d, self.up, self.port = self.start_service(
            max_body_bytes=self.MAX_BODY,
            timeouts={"connect_ms": 1000, "request_ms": 10000, "idle_ms": 20000})
        self.setUp_expectations()

    def setUp_expectations(self):
        self.allowed_targets = []       # requests a test sends on purpose
        self.heads_may_go_upstream = False  # bodies rejected mid-stream: the head went ahead

    def tearDown(self):
        # A barrier for anything a bad request might still have on its way to the upstream:
        # one good request completes after it, and it (with what the test sent on purpose) must
        # be all the upstream ever received.
        r = curl(url(self.port, "/svc/barrier"))
        self.assertEqual(r.status, 200, r)
        reqs, incomplete, nbytes = self.up.snapshot()
        self.assertEqual([q.target for q in reqs], self.allowed_targets + ["/svc/barrier"],
                         "upstream received requests it should not have")
        if not self.heads_may_go_upstream:
            self.assertEqual(incomplete, [])
            self.assertEqual(nbytes, sum(len(q.raw_head) + q.body_len for q in reqs),
                             "upstream received bytes of a rejected request")

    def check_rejected(self, data, statuses, close=True):
        if isinstance(statuses, int):
            statuses = (statuses,)
        s, reader = self.connect(self.port, timeout=8)
        s.sendall(data)
        r = read_response(reader)
        self.assertIn(r.status, statuses, r)
        self.assertEqual(r.headers.get("X-Upstream"), None, "answer came from the upstream")
        if close:
            self.assertClosed(reader, what="connection after a %d" % r.status)
        self.assertEqual(self.up.snapshot()[2], 0, "upstream received bytes")
        return r

    def run_cases(self, cases):
        for name, data, statuses in cases:
            with self.subTest(name):
                self.check_rejected(data, statuses)

    def test_smuggling_framing_is_400_and_closed(self):
        post = b"POST /svc/x HTTP/1.1\r\nHost: svc\r\n"
        self.run_cases([
            ("CL then TE", post + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"0\r\n\r\n", 400),
            ("TE then CL", post + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
             b"0\r\n\r\n", 400),
            ("duplicate differing CL", post + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n"
             b"abcdef", 400),
            ("CL list differing", post + b"Content-Length: 5, 6\r\n\r\nabcdef", 400),
            ("CL non-numeric", post + b"Content-Length: 5a\r\n\r\nabcde", 400),
            ("CL signed", post + b"Content-Length: +5\r\n\r\nabcde", 400),
            ("CL negative", post + b"Content-Length: -1\r\n\r\n", 400),
            ("CL overflow", post + b"Content-Length: 18446744073709551617\r\n\r\n", 400),
            ("TE chunked not final", post + b"Transfer-Encoding: chunked, identity\r\n\r\n"
             b"0\r\n\r\n", 400),
            ("TE gzip only", post + b"Transfer-Encoding: gzip\r\n\r\n", 400),
            ("TE obfuscated xchunked", post + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
             400),
            # Chunked applied twice (RFC 9112 6.1 forbids it): either refusal is safe.
            ("TE chunked twice", post + b"Transfer-Encoding: chunked\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", (400, 501)),
            ("TE space before colon", post + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
             400),
            ("TE unknown coding", post + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
             (400, 501)),
            ("TE in HTTP/1.0", b"POST /svc/x HTTP/1.0\r\nHost: svc\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ])

    def test_malformed_syntax_is_400_and_closed(self):
        self.run_cases([
            ("obs-fold", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\nX-A: one\r\n two\r\n\r\n", 400),
            ("bare LF line endings", b"GET /svc/x HTTP/1.1\nHost: svc\n\n", 400),
            ("bare LF ending one field", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\nX-A: 1\n"
             b"X-B: 2\r\n\r\n", 400),
            ("bare CR in a value", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\nX-A: a\rb\r\n\r\n",
             400),
            ("NUL in a value", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\nX-A: a\x00b\r\n\r\n", 400),
            ("space before colon", b"GET /svc/x HTTP/1.1\r\nHost : svc\r\n\r\n", 400),
            ("field name not a token", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\nX(A): 1\r\n\r\n",
             400),
            ("method not a token", b"G(T /svc/x HTTP/1.1\r\nHost: svc\r\n\r\n", 400),
            ("space in target", b"GET /svc/x y HTTP/1.1\r\nHost: svc\r\n\r\n", 400),
            ("lower-case version", b"GET /svc/x http/1.1\r\nHost: svc\r\n\r\n", 400),
            ("missing Host", b"GET /svc/x HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
            ("duplicate Host", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\nHost: other\r\n\r\n", 400),
            ("HTTP/0.9 with an empty line", b"GET /svc/x\r\n\r\n", 400),
        ])

    def test_http09_request_line_alone_is_refused_promptly(self):
        # A real HTTP/0.9 client sends one line and waits: the request line alone must be
        # refused (400, or a close), not left waiting for a head that never comes.
        s, reader = self.connect(self.port, timeout=8)
        s.sendall(b"GET /svc/x\r\n")
        t0 = time.monotonic()
        reader.deadline = t0 + 3
        try:
            r = read_response(reader)
        except Truncated:
            r = None  # closed without an answer: allowed
        except OSError as exc:
            self.fail("no answer to an HTTP/0.9 request line within 3s (%r)" % exc)
        if r is not None:
            self.assertEqual(r.status, 400, r)
            self.assertClosed(reader)

    def test_unsupported_major_version_is_505(self):
        self.run_cases([
            ("HTTP/2.0", b"GET /svc/x HTTP/2.0\r\nHost: svc\r\n\r\n", 505),
            ("HTTP/3.1", b"GET /svc/x HTTP/3.1\r\nHost: svc\r\n\r\n", 505),
        ])

    def test_limits_414_431(self):
        long_target = b"/svc/" + b"a" * 9000
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
        big_block = b"".join(b"X-Big%d: %s\r\n" % (i, b"b" * 1000) for i in range(70))
        self.run_cases([
            ("request line > 8 KiB", b"GET %s HTTP/1.1\r\nHost: svc\r\n\r\n" % long_target, 414),
            ("> 100 header fields", b"GET /svc/x HTTP/1.1\r\nHost: svc\r\n%s\r\n" % many, 431),
            ("header block > 64 KiB",
             b"GET /svc/x HTTP/1.1\r\nHost: svc\r\n%s\r\n" % big_block, 431),
        ])

    def test_request_line_limit_applies_before_the_line_ends(self):
        # 20 KiB of target without a CRLF yet: answered without waiting for the rest.
        self.check_rejected(b"GET /svc/" + b"a" * 20000, 414)

    def test_header_block_limit_applies_before_the_head_ends(self):
        # 70 KiB of fields and no empty line yet: answered without waiting for the rest.
        self.check_rejected(b"GET /svc/x HTTP/1.1\r\nHost: svc\r\n" +
                            b"".join(b"X-Big%d: %s\r\n" % (i, b"b" * 1000) for i in range(70)),
                            431)

    def test_body_over_max_body_bytes_is_413(self):
        self.check_rejected(b"POST /svc/x HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n\r\n"
                            % (self.MAX_BODY + 1) + b"z" * (self.MAX_BODY + 1), 413)

    def test_chunked_body_over_max_body_bytes_is_413(self):
        # The size is known only as chunks arrive; the head may already be upstream, but the
        # request must never complete there (tearDown checks) and the client gets a 413.
        s, reader = self.connect(self.port, timeout=8)
        s.sendall(b"POST /svc/x HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunk_frame(b"z" * 600) + chunk_frame(b"z" * 600) + b"0\r\n\r\n")
        r = read_response(reader)
        self.assertEqual(r.status, 413, r)
        self.assertClosed(reader)
        self.heads_may_go_upstream = True

    def test_body_at_max_body_bytes_passes(self):
        s, reader = self.connect(self.port)
        s.sendall(b"POST /svc/x HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n\r\n"
                  % self.MAX_BODY + b"z" * self.MAX_BODY)
        r = read_response(reader)
        self.assertEqual((r.status, r.json["body_len"]), (200, self.MAX_BODY), r)
        self.allowed_targets = ["/svc/x"]

    def test_malformed_chunked_body_is_400_and_closed(self):
        head = b"POST /svc/x HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n"
        cases = [
            ("chunk size not hex", head + b"zz\r\nabc\r\n0\r\n\r\n"),
            ("chunk size overflow", head + b"10000000000000000a\r\nabc\r\n0\r\n\r\n"),
            ("chunk size with space", head + b"3 \r\nabc\r\n0\r\n\r\n"),
            ("chunk data without CRLF", head + b"3\r\nabcX\r\n0\r\n\r\n"),
            ("bare LF after chunk size", head + b"3\nabc\r\n0\r\n\r\n"),
            ("bad chunk extension", head + b"3;\x01\r\nabc\r\n0\r\n\r\n"),
            ("obs-fold in trailer", head + b"3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n"),
        ]
        for name, data in cases:
            with self.subTest(name):
                s, reader = self.connect(self.port, timeout=8)
                s.sendall(data)
                r = read_response(reader)
                self.assertEqual(r.status, 400, r)
                self.assertClosed(reader)
                # The head may have gone upstream (the body streams), but never a whole request.
                self.assertEqual(self.up.count, 0, "a malformed chunked request completed "
                                                   "upstream: %r" % self.up.requests)
        self.heads_may_go_upstream = True


# --------------------------------------------------------------------------- responses

class ResponseFramingTest(HttpE2ETestCase):
    def setUp(self):
        self.d, self.up, self.port = self.start_service()

    def test_head_response_with_content_length_has_no_body(self):
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/h?download=54321"))
        r = read_response(reader, keep_body=0)
        self.assertEqual((r.status, r.body_len), (200, 54321))
        s.sendall(b"HEAD /svc/h?download=54321 HTTP/1.1\r\nHost: svc\r\n\r\n")
        r = read_response(reader, method="HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Length"), "54321", r)
        self.assertIsNone(r.headers.get("Transfer-Encoding"), r)
        s.sendall(get(b"/svc/after-head"))
        r = read_response(reader)  # fails to parse if the HEAD response carried a body
        self.assertEqual((r.status, r.json["target"]), (200, "/svc/after-head"), r)

    def test_204_and_304_carry_no_body_and_keep_the_connection(self):
        s, reader = self.connect(self.port)
        for target in (b"/svc/s?status=204", b"/svc/s?status=304", b"/svc/s?status=304&cl=500"):
            with self.subTest(target.decode()):
                s.sendall(get(target))
                r = read_response(reader)
                self.assertIn(r.status, (204, 304), r)
                self.assertIsNone(r.headers.get("Transfer-Encoding"), r)
                if b"cl=500" in target:
                    # Content-Length of a 304 describes the selected representation.
                    self.assertIn(r.headers.get("Content-Length"), ("500", None), r)
                s.sendall(get(b"/svc/next"))
                r = read_response(reader)
                self.assertEqual((r.status, r.json["target"]), (200, "/svc/next"), r)

    def test_interim_1xx_is_forwarded_before_the_final_response(self):
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/early?early=1"))
        r, interim = read_final_response(reader)
        self.assertEqual([i.status for i in interim], [103])
        self.assertIn("preload", interim[0].headers.get("Link", ""))
        self.assertEqual((r.status, r.json["target"]), (200, "/svc/early?early=1"), r)
        # An HTTP/1.0 client does not get interim responses (RFC 9110 15.2).
        s, reader = self.connect(self.port)
        s.sendall(b"GET /svc/early?early=1 HTTP/1.0\r\nHost: svc\r\n\r\n")
        r = read_response(reader)
        self.assertEqual(r.status, 200, r)

    def test_response_without_length_reaches_http11_client_chunked_and_complete(self):
        size = 300007
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/nf?download=%d&seed=3&noframe=1" % size))
        r = read_response(reader, keep_body=0)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.framing, "chunked", "close-delimited body not re-framed: %r" % r)
        self.assertTrue(r.complete)
        self.assertEqual((r.body_len, r.sha256), (size, PatternData(size, 3).sha256()))
        # Either the connection stays usable or the proxy said it would close and does.
        if r.headers.has_token("Connection", "close"):
            self.assertClosed(reader)
        else:
            s.sendall(get(b"/svc/after"))
            r = read_response(reader)
            self.assertEqual((r.status, r.json["target"]), (200, "/svc/after"), r)

    def test_response_without_length_reaches_http10_client_raw_then_closed(self):
        size = 300007
        s, reader = self.connect(self.port)
        s.sendall(b"GET /svc/nf?download=%d&seed=6&noframe=1 HTTP/1.0\r\nHost: svc\r\n\r\n"
                  % size)
        r = read_response(reader, keep_body=0)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.framing, "close", r)
        self.assertTrue(r.complete, r)
        self.assertEqual((r.body_len, r.sha256), (size, PatternData(size, 6).sha256()))

    def test_chunked_response_reaches_http10_client_unchunked(self):
        size = 200003
        s, reader = self.connect(self.port)
        s.sendall(b"GET /svc/c?download=%d&seed=2&chunked=1 HTTP/1.0\r\nHost: svc\r\n\r\n"
                  % size)
        r = read_response(reader, keep_body=0)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.headers.get("Transfer-Encoding"), "chunked sent to HTTP/1.0")
        self.assertIn(r.framing, ("close", "length"), r)
        self.assertTrue(r.complete, r)
        self.assertEqual((r.body_len, r.sha256), (size, PatternData(size, 2).sha256()))


# --------------------------------------------------------------------------- upstream failures

CANNED = {
    "garbage": b"HTPT/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "bad_status": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    "binary": b"\x00\x01\x02\x03 not http at all\r\n\r\n",
    "dup_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    "bad_cl": b"HTTP/1.1 200 OK\r\nContent-Length: x2\r\n\r\nok",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    "http2": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
}


class UpstreamFailureTest(HttpE2ETestCase):
    def setUp(self):
        self.d, self.up, self.port = self.start_service(canned=CANNED)

    def test_invalid_upstream_response_is_502(self):
        for name in sorted(CANNED):
            with self.subTest(name):
                s, reader = self.connect(self.port, timeout=8)
                s.sendall(get(b"/svc/bad?raw=" + name.encode()))
                r = read_response(reader)
                self.assertEqual(r.status, 502, r)
                self.assertNotIn(b"ok", r.body, "part of the invalid response leaked: %r" % r)
        # The service still serves.
        r = curl(url(self.port, "/svc/fine"))
        self.assertEqual(r.status, 200, r)

    def test_upstream_closing_or_resetting_before_a_response_is_502(self):
        for opt in (b"close=1", b"reset=1"):
            with self.subTest(opt.decode()):
                s, reader = self.connect(self.port, timeout=8)
                s.sendall(get(b"/svc/gone?" + opt))
                r = read_response(reader)
                self.assertEqual(r.status, 502, r)

    def test_reused_upstream_connection_closed_under_a_bodyless_request_is_retried(self):
        # The keep-alive race: the pooled connection dies as the next request arrives on it.
        # Nothing of a bodyless request can have been acted on, so the proxy retries it once on
        # a new connection and the client never notices.
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/first"))
        self.assertEqual(read_response(reader).status, 200)
        s.sendall(get(b"/svc/second?close_if_reused=1"))
        r = read_response(reader)
        self.assertEqual((r.status, r.json["target"]), (200, "/svc/second?close_if_reused=1"), r)
        self.assertEqual([q.target for q in self.up.requests],
                         ["/svc/first"] + ["/svc/second?close_if_reused=1"] * 2)
        self.assertEqual(self.up.connections, 2)

    def test_request_with_a_body_is_not_retried(self):
        # The same race with a body that was already sent: not safe to repeat, so 502.
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/first"))
        self.assertEqual(read_response(reader).status, 200)
        s.sendall(b"POST /svc/second?close_if_reused=1 HTTP/1.1\r\nHost: svc\r\n"
                  b"Content-Length: 5\r\n\r\nhello")
        r = read_response(reader)
        self.assertEqual(r.status, 502, r)
        self.assertEqual([q.target for q in self.up.requests],
                         ["/svc/first", "/svc/second?close_if_reused=1"],
                         "a request with a body was sent twice")

    def check_cut_length_response(self, query, total):
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/cut?" + query))
        r = read_response(reader, keep_body=0, allow_truncated=True)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Length"), str(total), r)
        self.assertFalse(r.complete, "a cut body arrived whole?! %r" % r)
        self.assertLess(r.body_len, total)
        self.assertClosed(reader)
        return r

    def test_upstream_dying_mid_content_length_body(self):
        total = 1000000
        for cut, how in ((1000, b""), (1000, b"&rst=1"), (300000, b""), (300000, b"&rst=1")):
            with self.subTest(cut=cut, rst=bool(how)):
                q = b"download=%d&seed=1&cut=%d%s" % (total, cut, how)
                r = self.check_cut_length_response(q, total)
                self.assertLessEqual(r.body_len, cut, r)

    def test_upstream_dying_mid_response_seen_by_curl(self):
        total = 1000000
        r = curl(url(self.port, "/svc/cut?download=%d&cut=1000" % total))
        self.assertEqual(r.rc, 18, "curl should report a partial file: %r" % r)
        self.assertLessEqual(len(r.body), 1000)
        r = curl(url(self.port, "/svc/cut?download=%d&cut=123457&chunked=1" % total))
        self.assertEqual(r.rc, 18, "curl should report a partial file: %r" % r)
        self.assertLess(len(r.body), total)

    def test_upstream_dying_mid_chunked_body(self):
        total = 1000000
        for how in (b"", b"&rst=1"):
            with self.subTest(rst=bool(how)):
                s, reader = self.connect(self.port)
                s.sendall(get(b"/svc/cut?download=%d&cut=123457&chunked=1%s" % (total, how)))
                r = read_response(reader, keep_body=0, allow_truncated=True)
                self.assertEqual((r.status, r.framing), (200, "chunked"), r)
                self.assertFalse(r.complete, "the cut body got a last chunk: %r" % r)
                self.assertLess(r.body_len, total)
                self.assertClosed(reader)

    def test_upstream_reset_mid_close_delimited_body(self):
        # A close-delimited body ends at a clean FIN; a reset is a failure, so the HTTP/1.1
        # client must not get the terminating chunk.
        s, reader = self.connect(self.port)
        s.sendall(get(b"/svc/nf?download=1000000&noframe=1&cut=200000&rst=1"))
        r = read_response(reader, keep_body=0, allow_truncated=True)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.complete, "a reset body looks complete to the client: %r" % r)
        self.assertClosed(reader)


class CutResponseStressTest(HttpE2ETestCase):
    """Many exchanges whose upstream dies mid-body (the body in flight through splice), from
    concurrent clients on both shards, so that connections and their file descriptors (one
    table for all shards) turn over quickly. Every client must get exactly its own response,
    cut, and then a close."""

    CLIENTS = 4
    PER_CLIENT = 250
    TOTAL, CUT = 1000000, 300000

    def setUp(self):
        self.d, self.up, self.port = self.start_service()

    def exchange(self, seed, rst):
        """Problems with one cut exchange, as text (None when it went right)."""
        s, reader = client(self.port, timeout=10)
        data = bytearray()
        try:
            s.sendall(get(b"/svc/cut?download=%d&cut=%d&seed=%d%s" % (
                self.TOTAL, self.CUT, seed, b"&rst=1" if rst else b"")))
            reader.read_to_eof(data.extend)
        except OSError as exc:
            return "seed %d: no close after %d bytes within 10s (%r)" % (seed, len(data), exc)
        finally:
            s.close()
        head_end = data.find(b"\r\n\r\n")
        if not data.startswith(b"HTTP/1.1 200 ") or head_end < 0:
            at = data.find(b"HTTP/1.1 200 ")
            return ("seed %d: %d bytes before the response head" % (seed, at), seed,
                    bytes(data[:at if at >= 0 else 64]))
        body = bytes(data[head_end + 4:])
        own = b"".join(PatternData(min(len(body), self.TOTAL), seed).pieces())
        if len(body) > self.CUT or body != own:
            bad = next((i for i in range(len(own)) if body[i] != own[i]), len(own))
            return ("seed %d: body of %d bytes (%d sent) differs from its own data from byte %d"
                    % (seed, len(body), self.CUT, bad), seed, body[bad:bad + 64])
        return None

    def test_cut_responses_stay_on_their_own_connection(self):
        problems = []
        issued = []  # seeds in the order their exchanges started
        lock = threading.Lock()
        deadline = time.monotonic() + 25

        def run(k):
            for i in range(self.PER_CLIENT):
                if time.monotonic() > deadline or len(problems) > 5:
                    return
                seed = 1000 + k * 1000 + i
                with lock:
                    issued.append(seed)
                p = self.exchange(seed, rst=i % 2 == 1)
                if p is not None:
                    with lock:
                        problems.append(p)

        threads = [threading.Thread(target=run, args=(k,), daemon=True)
                   for k in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=40)
        self.assertFalse(any(t.is_alive() for t in threads), "client threads did not finish")
        described = []
        for p in problems:
            if isinstance(p, tuple):  # stray bytes: find whose body they are
                text, seed, stray = p
                at = issued.index(seed)
                source = []
                for other in issued[max(0, at - 12):at]:
                    off = b"".join(PatternData(self.TOTAL, other).pieces()).find(stray)
                    if off >= 0 and len(stray) >= 16:
                        source.append((other, off))
                p = "%s: they are the body of (seed, offset) %r, an earlier exchange" % (
                    text, source)
            described.append(p)
        self.assertEqual(described, [], "%d cut exchanges went wrong" % len(described))


# --------------------------------------------------------------------------- upstream pool

class UpstreamPoolTest(HttpE2ETestCase):
    def setUp(self):
        self.d, self.up, self.port = self.start_service(shards=1)

    def test_a_hundred_concurrent_clients_keep_their_upstream_connections(self):
        # Every round has all exchanges in flight at once (the upstream holds each answer), so
        # it needs one upstream connection per client; after the first round they all come
        # from the pool. A small idle cap (nginx's `keepalive 64` style) would close the
        # surplus after each round and open it again for the next one.
        n = 100
        clients = [self.connect(self.port) for _ in range(n)]
        for rnd in range(3):
            for i, (s, _) in enumerate(clients):
                s.sendall(get(b"/svc/r%d/c%d?delay_ms=400" % (rnd, i)))
            for i, (_, reader) in enumerate(clients):
                r = read_response(reader)
                self.assertEqual((r.status, r.json["target"]),
                                 (200, "/svc/r%d/c%d?delay_ms=400" % (rnd, i)), r)
        self.assertEqual(self.up.count, 3 * n)
        self.assertEqual(self.up.connections, n)


if __name__ == "__main__":
    harness.main()
