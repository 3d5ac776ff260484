"""Test-case bases for the HTTP end-to-end tests: HttpE2ETestCase (a test's own daemons and
raw-socket peers, each stopped or closed when the test ends) and SharedDaemonTestCase (one
daemon for all the tests of a class).

The peers themselves live in http_wire.py (the wire: body data, socket reads, reading
responses, clients), http_upstream.py (raw-socket upstreams) and ws_peers.py (WebSocket and
tunnels).
"""

import os
import shutil
import tempfile

import harness
from http_upstream import HttpUpstream
from http_wire import client


class HttpE2ETestCase(harness.E2ETestCase):
    """E2ETestCase with HttpUpstreams and client connections, each stopped or closed when the
    test ends."""

    def start_http_upstream(self, name="up", **kwargs):
        up = HttpUpstream(name, **kwargs)
        # Cleanups run last-in first-out: stop, then check the peer itself did not break.
        self.addCleanup(lambda: self.assertEqual(up.errors, [], "upstream %s failed" % name))
        self.addCleanup(up.stop)
        return up

    def start_service(self, shards=2, canned=None, **fields):
        """A daemon of `shards` shards serving "svc" (a record with `fields`) from one
        HttpUpstream "up" (`canned`: its ?raw=NAME answers): (daemon, upstream, port)."""
        d = self.start_daemon(shards=shards)
        up = self.start_http_upstream("up", canned=canned)
        return d, up, d.register(harness.record("svc", [up.address], **fields))["port"]

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
