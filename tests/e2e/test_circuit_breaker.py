#!/usr/bin/env python3
"""Circuit breakers (issue 12) through the real daemon to loopback upstreams held on a gate:
over max_connections with no room to wait, a burst is answered 503 at once with
x-icaht-overloaded: true; with max_pending the burst waits its turn (never more than
max_connections at the upstream) and is served; max_requests caps what wants the upstream;
a request that waits past request_ms gets 504; max_retries stops retries; every refusal is
counted by reason, and the pending gauge shows who waits."""

import http.client
import http.server
import threading

import harness
from harness import LOOPBACK, ops_get, parse_metrics, record, wait_until
from http_peers import SharedDaemonTestCase
from peers import RefusingPort


class GatedInstance:
    """A loopback HTTP/1.1 server that holds every request until the gate opens (or answers
    at once with `status` when there is no gate), recording the most it held at a time."""

    def __init__(self, status=200, gated=True):
        self.status = status
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.lock = threading.Lock()
        self.active = self.most = self.served = 0
        instance = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with instance.lock:
                    instance.active += 1
                    instance.most = max(instance.most, instance.active)
                instance.gate.wait(20)
                with instance.lock:
                    instance.active -= 1
                    instance.served += 1
                body = b"ok"
                self.send_response(instance.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, client_address: None
        self.address = "%s:%d" % (LOOPBACK, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def held(self):
        with self.lock:
            return self.active

    def stop(self):
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


class Burst:
    """`n` concurrent GETs to `port`, each on its own connection; results as they come:
    (status, x-icaht-overloaded header, body)."""

    def __init__(self, port, n, timeout=20):
        self.results = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._one, args=(port, timeout), daemon=True)
                        for _ in range(n)]
        for t in self.threads:
            t.start()

    def _one(self, port, timeout):
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            result = (resp.status, resp.getheader("x-icaht-overloaded"), resp.read())
        except OSError as e:
            result = (0, None, repr(e).encode())
        finally:
            conn.close()
        with self.lock:
            self.results.append(result)

    def done(self):
        with self.lock:
            return len(self.results)

    def join(self):
        for t in self.threads:
            t.join(30)
        return sorted(r[:2] for r in self.results)


class CircuitBreakerTest(SharedDaemonTestCase):
    shards = 1

    def instance(self, **kwargs):
        inst = GatedInstance(**kwargs)
        self.addCleanup(inst.stop)
        return inst

    def register(self, name, instances, **fields):
        return self.d.register(record(name, [i.address for i in instances], **fields))["port"]

    def metric(self, name, **labels):
        status, body = ops_get(self.d.ops_port, "/metrics")
        self.assertEqual(status, 200)
        return parse_metrics(body.decode()).get((name, frozenset(labels.items())), 0)

    def test_a_burst_over_the_connections_is_refused_at_once(self):
        up = self.instance()
        port = self.register("cx", [up], circuit_breaker={"max_connections": 2, "max_pending": 0})
        burst = Burst(port, 6)
        # Two reach the upstream; the other four are answered without waiting for them.
        wait_until(lambda: up.held() == 2 and burst.done() == 4, 10, what="4 refusals")
        self.assertEqual(sorted(r[:2] for r in burst.results), [(503, "true")] * 4)
        up.gate.set()
        self.assertEqual(burst.join(), [(200, None)] * 2 + [(503, "true")] * 4)
        self.assertEqual(up.most, 2)
        self.assertEqual(self.metric("icaht_upstream_overflow_total", service="cx",
                                     reason="pending"), 4)
        self.assertEqual(self.metric("icaht_upstream_requests_active", service="cx"), 0)

    def test_pending_requests_wait_their_turn(self):
        up = self.instance()
        port = self.register("queue", [up], circuit_breaker={"max_connections": 1,
                                                              "max_pending": 10})
        burst = Burst(port, 5)
        wait_until(lambda: up.held() == 1 and
                   self.metric("icaht_upstream_pending_requests", service="queue") == 4, 10,
                   what="one at the upstream, four queued")
        self.assertEqual(burst.done(), 0)
        up.gate.set()
        self.assertEqual(burst.join(), [(200, None)] * 5)
        self.assertEqual(up.most, 1)  # never more than max_connections at the upstream
        self.assertEqual(self.metric("icaht_upstream_pending_requests", service="queue"), 0)

    def test_max_requests_caps_what_wants_the_upstream(self):
        up = self.instance()
        port = self.register("rq", [up], circuit_breaker={"max_requests": 3})
        burst = Burst(port, 7)
        wait_until(lambda: up.held() == 3 and burst.done() == 4, 10, what="4 refusals")
        up.gate.set()
        self.assertEqual(burst.join(), [(200, None)] * 3 + [(503, "true")] * 4)
        self.assertEqual(self.metric("icaht_upstream_overflow_total", service="rq",
                                     reason="requests"), 4)

    def test_waiting_counts_against_the_request_deadline(self):
        up = self.instance()
        port = self.register("late", [up], timeouts={"request_ms": 400},
                             circuit_breaker={"max_connections": 1, "max_pending": 5})
        holder = Burst(port, 1)
        wait_until(lambda: up.held() == 1, 10, what="the slot taken")
        waiter = Burst(port, 1)
        self.assertEqual(waiter.join(), [(504, None)])
        up.gate.set()
        self.assertIn(holder.join()[0][0], (200, 504))

    def test_max_retries_stops_retries(self):
        bad = self.instance(status=503, gated=False)
        good = self.instance(gated=False)
        port = self.register("rt", [bad, good], retries={"retry_on": ["gateway-error"]},
                             circuit_breaker={"max_retries": 0})
        statuses = [Burst(port, 1).join()[0] for _ in range(4)]
        # Round robin: every other request met the 503 instance and was not retried.
        self.assertEqual(sorted(statuses), [(200, None)] * 2 + [(503, None)] * 2)
        self.assertEqual(self.metric("icaht_upstream_overflow_total", service="rt",
                                     reason="retries"), 2)
        self.assertEqual(self.metric("icaht_upstream_retries_total", service="rt"), 0)

    def test_max_retries_bounds_the_built_in_retry_too(self):
        refusing = RefusingPort()
        self.addCleanup(refusing.close)
        good = self.instance(gated=False)
        port = self.d.register(record("cbbuiltin", [refusing.address, good.address],
                                      circuit_breaker={"max_retries": 0}))["port"]
        statuses = sorted(Burst(port, 1).join()[0][0] for _ in range(4))
        self.assertEqual(statuses, [200, 200, 502, 502])  # the refused half is not retried
        self.assertEqual(self.metric("icaht_upstream_overflow_total", service="cbbuiltin",
                                     reason="retries"), 2)

    def test_limits_change_live_and_a_bad_breaker_is_refused(self):
        up = self.instance()
        port = self.register("live", [up], circuit_breaker={"max_connections": 1,
                                                             "max_pending": 0})
        r = self.d.admin("PUT", "/v1/services/live", record(
            "live", [up.address], port=port, circuit_breaker={"max_connections": 0}))
        self.assertEqual(r.status, 400)
        self.assertIn("circuit_breaker.max_connections", r.json["error"]["message"])
        r = self.d.admin("GET", "/v1/services/live")
        self.assertEqual(r.json["circuit_breaker"]["max_connections"], 1)
        # Raised: three at a time now.
        r = self.d.admin("PUT", "/v1/services/live", record(
            "live", [up.address], port=port, circuit_breaker={"max_connections": 3,
                                                              "max_pending": 0}))
        self.assertEqual(r.status, 200)
        burst = Burst(port, 3)
        wait_until(lambda: up.held() == 3, 10, what="three at the upstream")
        up.gate.set()
        self.assertEqual(burst.join(), [(200, None)] * 3)


if __name__ == "__main__":
    harness.main()
