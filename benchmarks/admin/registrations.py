#!/usr/bin/env python3
"""Registration throughput with durable (journaled, synced) registrations (issue 11).

Starts icaht-sidecar (1 shard, its own state dir on this machine's disk) and registers N
services: first from 16 concurrent clients, then (after deregistering them) one at a time
from a single client, each waiting for its answer. Prints registrations per second for both.

    benchmarks/admin/registrations.py [--sidecar build-bench/src/icaht-sidecar] [--count 10000]
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("icaht", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def run(clients, names, sock):
    errors = []

    def worker(part):
        conn = UnixConnection(sock)
        for name in part:
            status, body = call(conn, "POST", "/v1/services",
                                {"name": name, "upstreams": ["127.0.0.1:9"]})
            if status != 201:
                errors.append((name, status, body[:200]))
        conn.close()
    parts = [names[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=worker, args=(p,)) for p in parts]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if errors:
        sys.exit("registrations failed: %r" % errors[:3])
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sidecar", default="build-bench/src/icaht-sidecar")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--single", type=int, default=1000, help="registrations one at a time")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="icaht-reg-bench-", dir=os.environ.get("BENCH_DIR"))
    sock = os.path.join(work, "admin.sock")
    proc = subprocess.Popen([args.sidecar, "--shards", "1", "--admin-socket", sock,
                             "--ops-listen", "127.0.0.1:0", "--state-dir", work + "/state",
                             "--port-range", "20000-39999", "--log-level", "warn"])
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        names = ["svc%05d" % i for i in range(args.count)]
        elapsed = run(16, names, sock)
        print("%d registrations from 16 concurrent clients: %.1f s (%.0f/s)"
              % (args.count, elapsed, args.count / elapsed))
        conn = UnixConnection(sock)
        for name in names:
            call(conn, "DELETE", "/v1/services/" + name)
        conn.close()
        single = names[:args.single]
        elapsed = run(1, single, sock)
        print("%d registrations from one client, one at a time: %.1f s (%.0f/s)"
              % (len(single), elapsed, len(single) / elapsed))
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
