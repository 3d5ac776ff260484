"""A real etcd (Debian's etcd-server) on loopback for the e2e tests, read through its v3 JSON
gateway with urllib (no etcdctl needed)."""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

import harness
from harness import LOOPBACK

ETCD = shutil.which("etcd")


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _prefix_end(prefix):
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Etcd:
    """One single-member etcd with its own data dir; stop()/start() keep the data (a restart),
    wipe() throws it away (an etcd that lost everything)."""

    def __init__(self):
        if ETCD is None:
            raise unittest.SkipTest("etcd is not installed (Debian: etcd-server)")
        self.dir = tempfile.mkdtemp(prefix="icaht-etcd-", dir="/tmp")
        self.client_port = harness.free_port()
        self.peer_port = harness.free_port()
        self.url = "http://%s:%d" % (LOOPBACK, self.client_port)
        self.proc = None
        self.log_path = os.path.join(self.dir, "etcd.log")

    def start(self, timeout=20.0):
        peer = "http://%s:%d" % (LOOPBACK, self.peer_port)
        argv = [ETCD, "--name", "icaht-e2e", "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "icaht-e2e=" + peer, "--log-level", "warn"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        harness.wait_until(self._healthy, timeout, interval=0.05, what="etcd to start")
        return self

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError("etcd exited with %d:\n%s" % (self.proc.returncode, self.log()))
        return self.post("/v3/maintenance/status", {}) is not None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def wipe(self):
        self.stop()
        shutil.rmtree(os.path.join(self.dir, "data"), ignore_errors=True)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def post(self, path, body, timeout=2.0):
        """The gateway's JSON answer, or None when etcd is unreachable."""
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def get_prefix(self, prefix):
        """{key: value} of every key under `prefix`."""
        answer = self.post("/v3/kv/range", {"key": _b64(prefix),
                                            "range_end": _b64(_prefix_end(prefix))})
        assert answer is not None, "etcd is unreachable"
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in answer.get("kvs", [])}

    def put(self, key, value):
        assert self.post("/v3/kv/put", {"key": _b64(key), "value": _b64(value)}) is not None
