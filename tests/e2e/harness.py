"""End-to-end harness: the real icaht-sidecar binary, real upstreams, real curl, on loopback.

Environment:
  ICAHT_SIDECAR  path of the daemon binary (required)
  ICAHTCTL       path of the admin client (required by the icahtctl tests)

Everything is bounded: processes get deadlines, loops get counts or deadlines, and readiness
is polled, never slept for. Each daemon gets a private temp dir (admin socket, state, logs) and
a reserved window of loopback ports (file-locked, so parallel test processes never share one).
"""

import atexit
import fcntl
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

# Peers are re-exported: tests import everything from here.
from peers import (CURL, LOOPBACK, CurlResult, RawResponse, RefusingPort, Upstream,
                   connect_refused, curl, curl_many, raw_request, read_response, simple_get, url,
                   wait_closed)

__all__ = [
    # re-exported from peers
    "CURL", "LOOPBACK", "CurlResult", "RawResponse", "RefusingPort", "Upstream",
    "connect_refused", "curl", "curl_many", "raw_request", "read_response", "simple_get", "url",
    "wait_closed",
    # this module's own
    "SIDECAR", "ICAHTCTL", "WINDOW", "PortWindow", "free_port", "stop_checked", "wait_until",
    "UnixHTTPConnection", "AdminResponse", "admin_call", "ops_get", "METRIC_SAMPLE",
    "METRIC_LABEL", "parse_metrics", "DaemonStartError", "Daemon", "icahtctl", "E2ETestCase",
    "sharing_state", "record", "main"]

SIDECAR = os.environ.get("ICAHT_SIDECAR", "")
ICAHTCTL = os.environ.get("ICAHTCTL", "")

WINDOW = 200  # ports reserved per daemon: [0, range_size) service range, last one ops


# --------------------------------------------------------------------------- ports

def _port_bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _candidate_windows(lo=20000, hi=60000):
    """Window start ports in [lo, hi) that avoid the kernel's ephemeral port range, so
    outgoing connections made during a test cannot land in a service port range."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo, eph_hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        eph_lo, eph_hi = 32768, 60999
    starts = [p for p in range(lo, hi - WINDOW + 1, WINDOW)
              if p + WINDOW <= eph_lo or p > eph_hi]
    if not starts:  # the ephemeral range covers everything: take our chances
        starts = list(range(lo, hi - WINDOW + 1, WINDOW))
    return starts


class PortWindow:
    """WINDOW consecutive free loopback ports, held under an flock for our lifetime."""

    def __init__(self):
        lock_dir = os.path.join(tempfile.gettempdir(), "icaht-e2e-ports")
        os.makedirs(lock_dir, exist_ok=True)
        starts = _candidate_windows()
        random.shuffle(starts)
        for start in starts[:100]:
            fd = os.open(os.path.join(lock_dir, "%d.lock" % start), os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if all(_port_bindable(p) for p in range(start, start + WINDOW)):
                self.start = start
                self._fd = fd
                return
            os.close(fd)
        raise RuntimeError("no free window of %d loopback ports found" % WINDOW)

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def ports(self):
        return range(self.start, self.start + WINDOW)


def free_port():
    """An ephemeral loopback port that was free a moment ago (for things outside any range)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def stop_checked(d):
    """Stops daemon `d` (SIGTERM) if it still runs, raises if it did not exit 0 (a sanitizer's
    report ends it non-zero too), and removes its files in any case. For class cleanups."""
    try:
        if d.proc is not None and d.alive():
            rc = d.stop()
            if rc != 0:
                raise AssertionError("%s exited with %s on SIGTERM\n%s" % (
                    d.name, rc, d.describe_logs()))
    finally:
        d.cleanup()


def wait_until(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - reported on timeout
            last_exc = exc
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, "" if last_exc is None else " (last error: %r)" % last_exc))
        time.sleep(interval)


# --------------------------------------------------------------------------- admin client

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10.0):
        super().__init__("icaht", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class AdminResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "AdminResponse(%d, %r)" % (self.status, self.body[:500])


def admin_call(socket_path, method, path, body=None, timeout=10.0):
    """One admin API call. body: dict/list (sent as JSON), bytes/str (sent as-is) or None."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    conn = UnixHTTPConnection(socket_path, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return AdminResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def ops_get(port, path, timeout=2.0):
    """GET on the ops listener; returns (status, body)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


METRIC_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( # .*)?$')
METRIC_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): float} of every sample line of a /metrics page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_SAMPLE.match(line)
        assert m, "bad sample line %r" % line
        labels = frozenset(METRIC_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


# --------------------------------------------------------------------------- daemon

class DaemonStartError(AssertionError):
    pass


_live_daemons = set()


@atexit.register
def _kill_leftover_daemons():
    # A test that died before its cleanups ran must not leave a daemon behind.
    for d in list(_live_daemons):
        d.cleanup()


class Daemon:
    """One icaht-sidecar process.

    By default it runs with explicit flags: a private admin socket and state dir, ops on the
    last port of a reserved window and services on the first `range_size` ports of it.
    `args` replaces the flags entirely (e.g. ["--config", FILE]), or is a function of the
    Daemon returning them (to write a config file naming its ports and paths); pass
    admin_socket/ops_port if they differ from the defaults so readiness can still be checked.
    """

    def __init__(self, shards=2, range_size=150, extra_args=(), args=None, admin_socket=None,
                 ops_port=None, drain_timeout_ms=None, env=None, name="daemon", nofile=None):
        if not SIDECAR:
            raise unittest.SkipTest("ICAHT_SIDECAR is not set")
        assert 1 <= range_size < WINDOW - 10
        self.name = name
        self.window = PortWindow()
        self.dir = tempfile.mkdtemp(prefix="icaht-e2e-", dir="/tmp")
        self.state_dir = os.path.join(self.dir, "state")
        os.makedirs(self.state_dir)
        self.range_start = self.window.start
        self.range_end = self.window.start + range_size - 1
        # Ports of the window outside the service range, free for tests to use.
        # (The last two are the ops listener's and the egress listener's.)
        self.spare_ports = list(range(self.range_end + 1, self.window.start + WINDOW - 2))
        self.egress_port = self.window.start + WINDOW - 2
        self.admin_socket = admin_socket or os.path.join(self.dir, "admin.sock")
        self.ops_port = ops_port or (self.window.start + WINDOW - 1)
        if args is None:
            args = ["--admin-socket", self.admin_socket,
                    "--ops-listen", "%s:%d" % (LOOPBACK, self.ops_port),
                    "--shards", str(shards),
                    "--port-range", "%d-%d" % (self.range_start, self.range_end),
                    "--state-dir", self.state_dir,
                    "--bind-address", LOOPBACK]
            if drain_timeout_ms is not None:
                args += ["--drain-timeout-ms", str(drain_timeout_ms)]
        elif callable(args):
            args = args(self)
        self.argv = [SIDECAR] + list(args) + list(extra_args)
        if not any(a.startswith("--egress-listen") for a in self.argv):
            # Never the default 127.0.0.1:7000: daemons of parallel tests would clash.
            self.argv += ["--egress-listen", "%s:%d" % (LOOPBACK, self.egress_port)]
        if nofile is not None:
            # As under `ulimit -n`: soft and hard, from the first instruction (prlimit execs).
            self.argv = ["prlimit", "--nofile=%d:%d" % (nofile, nofile), "--"] + self.argv
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.env = dict(os.environ if env is None else env)
        self.proc = None
        self.returncode = None
        self._log_cache = None

    # lifecycle -------------------------------------------------------------

    def start(self, timeout=15.0):
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env, cwd=self.dir)
        _live_daemons.add(self)
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                log = self.stderr()
                if "io_uring" in log and ("EPERM" in log or "ENOSYS" in log
                                          or "disabled" in log or "not permitted" in log):
                    raise unittest.SkipTest("io_uring unavailable here: " + log.strip()[-300:])
                raise DaemonStartError("%s exited with %d during startup\nargv: %s\n%s" % (
                    self.name, rc, " ".join(self.argv), self.describe_logs()))
            if self._ready():
                return self
            if time.monotonic() >= deadline:
                self.kill()
                raise DaemonStartError("%s not ready within %.0fs\nargv: %s\n%s" % (
                    self.name, timeout, " ".join(self.argv), self.describe_logs()))
            time.sleep(0.02)

    def _ready(self):
        try:
            status, _ = ops_get(self.ops_port, "/ready", timeout=1.0)
            if status != 200:
                return False
            return self.admin("GET", "/v1/services").status == 200
        except OSError:
            return False

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, timeout=15.0, sig=signal.SIGTERM):
        """SIGTERM (by default) and wait; returns the exit code (kills on timeout -> None)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            if self.wait(timeout) is None:
                self.kill()
                return None
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def cleanup(self):
        """Kills the process if still running and removes its files (keeping the log text)."""
        self.kill()
        _live_daemons.discard(self)
        if self._log_cache is None:
            self._log_cache = self.stderr()
        self.window.release()
        shutil.rmtree(self.dir, ignore_errors=True)

    # inspection ------------------------------------------------------------

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        if self._log_cache is not None:
            return self._log_cache
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def describe_logs(self, limit=20000):
        log = self.stderr()
        if len(log) > limit:
            log = "...\n" + log[-limit:]
        return "----- %s stderr (%s) -----\n%s----- end %s stderr -----" % (
            self.name, self.stderr_path, log, self.name)

    # API ---------------------------------------------------------------------

    def admin(self, method, path, body=None, timeout=10.0):
        return admin_call(self.admin_socket, method, path, body, timeout)

    def register(self, record):
        """POST a record; asserts 201 and returns the returned record."""
        r = self.admin("POST", "/v1/services", record)
        if r.status != 201:
            raise AssertionError("register %r -> %d %r" % (record, r.status, r.body))
        return r.json

    def deregister(self, name):
        r = self.admin("DELETE", "/v1/services/" + urllib.parse.quote(name, safe=""))
        if r.status != 204:
            raise AssertionError("deregister %s -> %d %r" % (name, r.status, r.body))

    def services(self):
        r = self.admin("GET", "/v1/services")
        if r.status != 200:
            raise AssertionError("list -> %d %r" % (r.status, r.body))
        return r.json


# --------------------------------------------------------------------------- icahtctl

def icahtctl(*args, socket_path=None, env=None, stdin=None, timeout=20.0):
    """Runs the real icahtctl; returns CompletedProcess with text stdout/stderr."""
    if not ICAHTCTL:
        raise unittest.SkipTest("ICAHTCTL is not set")
    argv = [ICAHTCTL]
    if socket_path is not None:
        argv += ["--admin-socket", socket_path]
    argv += list(args)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else os.environ)


# --------------------------------------------------------------------------- test base

class E2ETestCase(unittest.TestCase):
    """Starts and stops daemons and upstreams for one test; prints daemon stderr when the
    test fails and asserts every daemon it started exits 0 on SIGTERM."""

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        self._daemons = []
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for d in self._daemons:
                sys.stderr.write("\n%s\n" % d.describe_logs())
        return result

    def start_daemon(self, **kwargs):
        d = Daemon(**kwargs)
        self._daemons.append(d)
        self.addCleanup(self._stop_daemon, d)
        d.start()
        return d

    def _stop_daemon(self, d):
        try:
            if d.proc is not None and d.returncode is None and d.alive():
                rc = d.stop()
                self.assertIsNotNone(rc, "%s did not exit within 15s of SIGTERM" % d.name)
                self.assertEqual(rc, 0, "%s exited with %s on SIGTERM" % (d.name, rc))
        finally:
            d.cleanup()

    def start_upstream(self, name, delay=0.0):
        up = Upstream(name, delay=delay)
        self.addCleanup(up.stop)
        return up

    def refusing_port(self):
        r = RefusingPort()
        self.addCleanup(r.close)
        return r

    def assertApiError(self, resp, status, code, message_contains=()):
        self.assertEqual(resp.status, status, "expected HTTP %d, got %r" % (status, resp))
        self.assertIsInstance(resp.json, dict, "error body is not JSON: %r" % resp)
        err = resp.json.get("error")
        self.assertIsInstance(err, dict, "no error object: %r" % resp)
        self.assertEqual(err.get("code"), code, "wrong error code: %r" % resp)
        self.assertIsInstance(err.get("message"), str)
        self.assertTrue(err["message"], "empty error message: %r" % resp)
        if isinstance(message_contains, str):
            message_contains = (message_contains,)
        for needle in message_contains:
            self.assertIn(needle, err["message"], "message should mention %r: %r" % (needle, resp))


def sharing_state(first, shards=2):
    """Daemon args (a function of the new Daemon) for a daemon on `first`'s state dir and port
    range: a restart of `first`, with its own admin socket and ops port."""
    def args(d):
        return ["--admin-socket", d.admin_socket,
                "--ops-listen", "%s:%d" % (LOOPBACK, d.ops_port),
                "--shards", str(shards),
                "--port-range", "%d-%d" % (first.range_start, first.range_end),
                "--state-dir", first.state_dir,
                "--bind-address", LOOPBACK]
    return args


def record(name, upstreams, **fields):
    r = {"name": name, "upstreams": list(upstreams)}
    r.update(fields)
    return r


def main():
    """unittest.main, but exit 77 (meson: skipped) when every test was skipped."""
    prog = unittest.main(exit=False, verbosity=2)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        sys.exit(77)
    sys.exit(0)
