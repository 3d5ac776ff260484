#!/usr/bin/env python3
"""Registry churn (100 services registered and deregistered) does not disturb a service that
carries continuous traffic."""

import concurrent.futures
import subprocess
import threading
import time

import harness
from harness import E2ETestCase, curl, curl_many, record, simple_get, url

CHURN_SERVICES = 100
CHURN_WORKERS = 4
TRAFFIC_SECONDS_MAX = 40.0
MIN_CHURN_SECONDS = 3.0


class ChurnTest(E2ETestCase):
    def test_churn_does_not_disturb_steady_traffic(self):
        d = self.start_daemon(shards=2)
        steady_up = self.start_upstream("steady")
        churn_up = self.start_upstream("churn")
        steady_port = d.register(record("steady", [steady_up.address]))["port"]

        stop = threading.Event()
        errors = []
        counts = {"fresh": 0, "keepalive": 0}
        lock = threading.Lock()

        def fresh_connection_loop():
            # Python client, one fresh connection per request.
            deadline = time.monotonic() + TRAFFIC_SECONDS_MAX
            i = 0
            while not stop.is_set() and time.monotonic() < deadline and i < 20000:
                i += 1
                try:
                    r = simple_get(steady_port, "/steady/f%d" % i, timeout=5)
                    ok = r.status == 200 and b'"upstream": "steady"' in r.body
                    if not ok:
                        errors.append("fresh #%d: %d %r" % (i, r.status, r.body[:200]))
                except OSError as exc:
                    errors.append("fresh #%d: %r" % (i, exc))
                with lock:
                    counts["fresh"] += 1

        def curl_keepalive_loop():
            # Real curl, 20 requests per process over one kept-alive connection.
            deadline = time.monotonic() + TRAFFIC_SECONDS_MAX
            batch = 0
            while not stop.is_set() and time.monotonic() < deadline and batch < 1000:
                batch += 1
                urls = [url(steady_port, "/steady/k%d-%d" % (batch, j)) for j in range(20)]
                try:
                    rows, p = curl_many(urls, timeout=10)
                except subprocess.TimeoutExpired:
                    errors.append("curl batch %d timed out" % batch)
                    continue
                if p.returncode != 0 or [s for s, _ in rows] != [200] * len(urls):
                    errors.append("curl batch %d: rc=%d rows=%r stderr=%r" % (
                        batch, p.returncode, rows, p.stderr[-300:]))
                with lock:
                    counts["keepalive"] += len(rows)

        traffic = [threading.Thread(target=fresh_connection_loop),
                   threading.Thread(target=curl_keepalive_loop)]
        for t in traffic:
            t.start()

        churn_errors = []

        def churn_one(name):
            r = d.admin("POST", "/v1/services", record(name, [churn_up.address]))
            if r.status != 201:
                churn_errors.append("register %s: %r" % (name, r))
                return
            port = r.json["port"]
            got = simple_get(port, "/" + name, timeout=5)  # it serves while registered
            if got.status != 200:
                churn_errors.append("%s on %d: %d" % (name, port, got.status))
            r = d.admin("PUT", "/v1/services/" + name,
                        record(name, [churn_up.address, steady_up.address], version="2"))
            if r.status != 200 or r.json.get("port") != port:
                churn_errors.append("update %s: %r" % (name, r))
            r = d.admin("DELETE", "/v1/services/" + name)
            if r.status != 204:
                churn_errors.append("deregister %s: %r" % (name, r))

        rounds = 0
        try:
            # Let traffic start flowing before the churn.
            harness.wait_until(lambda: counts["fresh"] > 0 and counts["keepalive"] > 0,
                               timeout=10, what="steady traffic")
            with lock:
                before = dict(counts)
            t0 = time.monotonic()
            # At least one round of CHURN_SERVICES, and more (new names) until the churn has
            # overlapped the traffic for a while; bounded either way.
            while rounds < 1 or (time.monotonic() - t0 < MIN_CHURN_SECONDS and rounds < 10):
                names = ["churn-%d-%03d" % (rounds, i) for i in range(CHURN_SERVICES)]
                with concurrent.futures.ThreadPoolExecutor(max_workers=CHURN_WORKERS) as pool:
                    list(pool.map(churn_one, names))
                rounds += 1
            churn_seconds = time.monotonic() - t0
            with lock:
                during = {k: counts[k] - before[k] for k in counts}
        finally:
            stop.set()
            for t in traffic:
                t.join(timeout=30)

        self.assertEqual(churn_errors, [])
        self.assertEqual(errors[:10], [], "%d traffic errors during churn" % len(errors))
        self.assertGreater(during["fresh"], 0, "no fresh-connection traffic during the churn")
        self.assertGreater(during["keepalive"], 0, "no keep-alive traffic during the churn")
        # The registry is back to the steady service alone, which still serves.
        names = [s["name"] for s in d.services()["services"]]
        self.assertEqual(names, ["steady"])
        self.assertEqual(curl(url(steady_port, "/steady/end")).status, 200)
        print("churn: %d rounds of %d services in %.2fs; steady requests during churn: %r" % (
            rounds, CHURN_SERVICES, churn_seconds, during))


if __name__ == "__main__":
    harness.main()
