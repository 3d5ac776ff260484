#!/usr/bin/env python3
"""How fast a change on one host reaches another host's egress (issue 14's "within a second"):
a real etcd and two daemons on loopback (hosts 1 and 2, the e2e harness's), host 2 registers a
service, and host 1's egress is polled (one raw request every millisecond) until it routes the
name; then host 2 deregisters it and host 1 is polled until the name is unknown again.
Reports p50/p90/p99/max of both, in milliseconds, over N rounds.

    ICAHT_SIDECAR=build-bench/src/icaht-sidecar benchmarks/egress/propagation.py [N]

The time includes host 2's admin call returning and its publication to etcd (asynchronous),
etcd's commit, the watch event, the control thread's update and every shard applying it; the
polling adds up to about a millisecond."""

import os
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
os.environ.setdefault("ICAHT_SIDECAR",
                      os.path.join(HERE, "..", "..", "build", "src", "icaht-sidecar"))

import harness  # noqa: E402
from etcd_peer import Etcd  # noqa: E402
from harness import LOOPBACK, record  # noqa: E402
from peers import Upstream  # noqa: E402


def status_via(port, name):
    """One request for service `name` through the egress listener on `port`: its status."""
    with socket.create_connection((LOOPBACK, port), timeout=2) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name.encode())
        head = s.recv(64)
    return int(head.split(b" ", 2)[1])


def wait_for(port, name, status, limit_s=5.0):
    t0 = time.monotonic()
    while status_via(port, name) != status:
        if time.monotonic() - t0 > limit_s:
            raise AssertionError("%s did not answer %d within %.1f s" % (name, status, limit_s))
        time.sleep(0.001)
    return (time.monotonic() - t0) * 1000.0


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    etcd = Etcd()
    daemons = []
    up = Upstream("backend")
    try:
        etcd.start()
        for host_id in (1, 2):
            d = harness.Daemon(shards=2, range_size=20, name="host%d" % host_id, extra_args=(
                "--etcd-endpoints", etcd.url, "--host-id", str(host_id),
                "--advertise-address", LOOPBACK, "--log-level", "warn"))
            daemons.append(d)
            d.start()
        a, b = daemons
        added, removed = [], []
        for i in range(rounds):
            name = "svc%d" % i
            t0 = time.monotonic()
            b.register(record(name, [up.address]))
            wait_for(a.egress_port, name, 200)
            added.append((time.monotonic() - t0) * 1000.0)
            t0 = time.monotonic()
            b.deregister(name)
            wait_for(a.egress_port, name, 502)
            removed.append((time.monotonic() - t0) * 1000.0)
        for what, values in (("registered on host 2 -> routed by host 1", added),
                             ("deregistered on host 2 -> unknown on host 1", removed)):
            print("%s: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d rounds)" % (
                what, statistics.median(values), pct(values, 90), pct(values, 99), max(values),
                len(values)))
    finally:
        for d in daemons:
            if d.proc is not None and d.alive():
                d.stop()
            d.cleanup()
        up.stop()
        etcd.cleanup()


if __name__ == "__main__":
    main()
