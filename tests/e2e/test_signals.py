#!/usr/bin/env python3
"""SIGTERM/SIGINT/SIGQUIT: drain in-flight requests, save, then exit 0. SIGHUP (reload),
SIGUSR1 (reopen the access log) and SIGUSR2 (what logrotate or a package manager may send) are
logged and leave the daemon serving, however many arrive."""

import os
import signal
import socket
import threading
import time
import unittest

import harness
from harness import E2ETestCase, connect_refused, curl, ops_get, record, url, wait_until


class SignalsTest(E2ETestCase):
    def test_sigterm_idle_exits_zero_quickly(self):
        d = self.start_daemon(shards=2)
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        rc = d.wait(timeout=10)
        self.assertIsNotNone(rc, "daemon did not exit within 10s of SIGTERM")
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 3.0, "idle shutdown should be quick")
        self.assertFalse(os.path.exists(d.admin_socket) and _socket_accepts(d.admin_socket),
                         "admin socket still accepts after exit")

    def test_sigint_idle_exits_zero(self):
        d = self.start_daemon(shards=2)
        d.send_signal(signal.SIGINT)
        self.assertEqual(d.wait(timeout=10), 0)

    def test_sigterm_with_services_exits_zero_and_closes_ports(self):
        d = self.start_daemon(shards=2)
        up = self.start_upstream("up")
        port = d.register(record("svc", [up.address]))["port"]
        self.assertEqual(curl(url(port, "/svc")).status, 200)
        d.send_signal(signal.SIGTERM)
        self.assertEqual(d.wait(timeout=10), 0)
        self.assertTrue(connect_refused(port))

    def test_sigterm_drains_in_flight_request(self):
        d = self.start_daemon(shards=2, drain_timeout_ms=10000)
        up = self.start_upstream("slow")
        port = d.register(record("slow", [up.address]))["port"]
        result = {}

        def client():
            result["r"] = curl(url(port, "/slow/inflight?delay_ms=1500"), timeout=15)

        t = threading.Thread(target=client)
        t.start()
        try:
            # The request has reached the upstream: it is in flight in the daemon.
            wait_until(lambda: up.inflight >= 1, timeout=10, what="request at the upstream")
            d.send_signal(signal.SIGTERM)
            # While draining the daemon is no longer ready (503, or the ops port is closed).
            wait_until(lambda: _ready_status(d) != 200, timeout=1.0, what="/ready != 200")
            rc = d.wait(timeout=15)
        finally:
            t.join(timeout=20)
        r = result.get("r")
        self.assertIsNotNone(r, "client thread did not finish")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["path"], "/slow/inflight?delay_ms=1500")
        self.assertIsNotNone(rc, "daemon did not exit within 15s of SIGTERM")
        self.assertEqual(rc, 0)

    def test_ttl_expiry_during_drain_does_not_reach_stopping_shards(self):
        # The service's TTL runs out while SIGTERM's drain waits for a slow request: the
        # expiry must not queue a deregistration for shards that are stopping.
        d = self.start_daemon(shards=2, drain_timeout_ms=10000)
        up = self.start_upstream("slow")
        port = d.register(record("brief", [up.address], ttl_s=1))["port"]
        result = {}

        def client():
            result["r"] = curl(url(port, "/brief/x?delay_ms=2500"), timeout=15)

        t = threading.Thread(target=client)
        t.start()
        try:
            wait_until(lambda: up.inflight >= 1, timeout=10, what="request at the upstream")
            d.send_signal(signal.SIGTERM)
            rc = d.wait(timeout=15)
        finally:
            t.join(timeout=20)
        self.assertEqual(result["r"].status, 200, result.get("r"))
        self.assertEqual(rc, 0, d.describe_logs())

    def test_hup_usr1_usr2_leave_the_daemon_serving(self):
        d = self.start_daemon(shards=2)
        up = self.start_upstream("up")
        port = d.register(record("svc", [up.address]))["port"]
        # Right after the registration (before its coalesced save), as in the report.
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            d.send_signal(sig)
        wait_until(lambda: "not supported yet; ignored" in d.stderr() and
                   "SIGUSR1: no access log file to reopen" in d.stderr() and
                   "reloaded: 0 added" in d.stderr(), timeout=5,
                   what="the three signals logged")
        self.assertIn("SIGHUP: reloading the configuration", d.stderr())
        self.assertTrue(d.alive())
        self.assertEqual(curl(url(port, "/svc")).status, 200)
        self.assertEqual([s["name"] for s in d.services()["services"]], ["svc"])
        self.assertEqual(ops_get(d.ops_port, "/ready")[0], 200)
        # And again, many times: still alive, and the log stays short (rate-limited).
        for _ in range(50):
            d.send_signal(signal.SIGHUP)
        self.assertEqual(curl(url(port, "/svc")).status, 200)
        self.assertLess(d.stderr().count("SIGHUP"), 10)
        self.assertEqual(d.stop(), 0)
        self.assertIn('"svc"', _read(os.path.join(d.state_dir, "services.json")))

    def test_sigquit_drains_like_sigterm_and_saves(self):
        d = self.start_daemon(shards=2, drain_timeout_ms=10000)
        up = self.start_upstream("slow")
        port = d.register(record("slow", [up.address]))["port"]
        result = {}

        def client():
            result["r"] = curl(url(port, "/slow/q?delay_ms=1000"), timeout=15)

        t = threading.Thread(target=client)
        t.start()
        try:
            wait_until(lambda: up.inflight >= 1, timeout=10, what="request at the upstream")
            d.send_signal(signal.SIGQUIT)
            rc = d.wait(timeout=15)
        finally:
            t.join(timeout=20)
        self.assertEqual(result["r"].status, 200, result.get("r"))
        self.assertEqual(rc, 0)
        self.assertIn('"slow"', _read(os.path.join(d.state_dir, "services.json")))

    def test_ops_health_and_ready(self):
        d = self.start_daemon(shards=2)
        self.assertEqual(ops_get(d.ops_port, "/health")[0], 200)
        self.assertEqual(ops_get(d.ops_port, "/ready")[0], 200)

    @unittest.skip("io_uring refusal (EPERM/ENOSYS at start) needs a seccomp profile or "
                   "kernel.io_uring_disabled=2; not reproducible from an unprivileged test")
    def test_io_uring_refused(self):
        pass


def _read(path):
    with open(path) as f:
        return f.read()


def _ready_status(d):
    try:
        return ops_get(d.ops_port, "/ready", timeout=0.5)[0]
    except OSError:
        return None


def _socket_accepts(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


if __name__ == "__main__":
    harness.main()
