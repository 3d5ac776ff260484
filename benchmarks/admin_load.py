#!/usr/bin/env python3
"""Drives the icaht-sidecar admin API fast, for benchmarks/rss.sh.

  admin_load.py register SOCKET COUNT UPSTREAM [--prefix P] [--fields JSON]
      Registers COUNT services (P0, P1, ...) over one keep-alive connection to the admin socket,
      ports allocated by the daemon. Prints one JSON line: count, seconds, per-registration
      p50/p99 in ms, bind_retries (409 "Address already in use" answers re-posted), the ports.

  admin_load.py latency SOCKET COUNT UPSTREAM [--prefix P] [--path /x] [--fields JSON]
      For each of COUNT registrations: t0 = just before the POST is written, t1 = its 201 read,
      then connect to the new port and GET PATH, t2 = first byte of the proxied response. The
      design promises the port serves on every shard when the POST returns, so a refused connect
      after t1 is counted (and retried until it answers, for at most 2 s). Prints one JSON line
      with p50/p99/max of t2-t0 (POST sent -> first proxied byte), t2-t1 (POST answered -> first
      proxied byte) and t1-t0 (admin round trip), in ms, plus refused/failed counts.

  admin_load.py scrape METRICS_URL PORTS_JSON
      One GET through each port of PORTS_JSON (a JSON list; traffic on every service), then
      GET METRICS_URL once for its bytes and lines, then 7 times with curl (a new connection
      each, timed to the last byte). Prints one JSON line: ports hit, non-200 answers, the
      page's bytes and lines, and the scrapes' median and max in ms.

--fields JSON: members (a JSON object) added to every registered record, e.g. the features of
the enriched scenario (benchmarks/rss_enriched.sh).
"""

import json
import socket
import subprocess
import sys
import time


class AdminClient:
    """Minimal HTTP/1.1 keep-alive client over a Unix socket (Content-Length bodies)."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)
        self.buf = b""

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("admin socket closed")
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        head, self.buf = self.buf[:i], self.buf[i:]
        return head

    def _read_n(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("admin socket closed mid-body")
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return body

    def request(self, method, target, body=b"", on_sent=None):
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            req = (f"{method} {target} HTTP/1.1\r\nHost: icaht\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                   ).encode() + body
            try:
                if on_sent:
                    on_sent()
                self.sock.sendall(req)
                head = self._read_until(b"\r\n\r\n").decode("latin-1")
            except (ConnectionError, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
                continue  # the server closed an idle keep-alive connection: retry once
            lines = head.split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0"))
            data = self._read_n(n)
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, data
        raise AssertionError("unreachable")

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ms(x):
    return None if x is None else round(x * 1000, 3)


EXTRA_FIELDS = {}


def record(name, upstream):
    return json.dumps(dict(EXTRA_FIELDS, name=name, upstreams=[upstream])).encode()


def http_get(host, port, target):
    """One GET on a new connection: (status, body)."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
                  .encode())
        # 64 KiB reads joined once: bytes += chunk would copy a 3 MB page dozens of times,
        # and recv(1 MiB) allocates a megabyte per call however little arrived (both
        # tripled the time measured for a /metrics page).
        chunks = []
        while chunk := s.recv(1 << 16):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def cmd_scrape(metrics_url, ports):
    non200 = 0
    for port in ports:
        non200 += http_get("127.0.0.1", port, "/")[0] != 200
    host_port, _, path = metrics_url.removeprefix("http://").partition("/")
    host, _, mport = host_port.partition(":")
    status, body = http_get(host, int(mport), "/" + path)
    if status != 200:
        print(json.dumps({"error": f"{metrics_url} answered {status}"}))
        return 1
    # Timed with curl (a new connection each, to the last byte): a Python client reading 3 MB
    # takes longer than the daemon that writes it, and its own time varied by 2-3x run to run.
    times = []
    for _ in range(7):
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                              metrics_url], capture_output=True, text=True, timeout=60)
        code, _, seconds = out.stdout.partition(" ")
        if out.returncode != 0 or code != "200":
            print(json.dumps({"error": f"{metrics_url}: curl {out.returncode} {out.stdout} "
                                       f"{out.stderr.strip()}"}))
            return 1
        times.append(float(seconds))
    print(json.dumps({"ports_hit": len(ports), "non_200": non200, "bytes": len(body),
                      "lines": body.count(b"\n"), "median_ms": ms(pct(times, 50)),
                      "max_ms": ms(max(times))}))
    return 0


def cmd_register(sock_path, count, upstream, prefix):
    c = AdminClient(sock_path)
    times, ports = [], []
    start = time.perf_counter()
    retries = []
    for i in range(count):
        t0 = time.perf_counter()
        status, data = c.request("POST", "/v1/services", record(f"{prefix}{i}", upstream))
        # An automatically chosen port can be taken between the daemon's probe and its bind
        # (IDLE_RANGE overlaps the ephemeral ports): the daemon answers 409 and the registry is
        # unchanged, so a client simply asks again. Counted and reported.
        tries = 0
        while status == 409 and b"Address already in use" in data and tries < 5:
            retries.append(data.decode(errors="replace")[:200])
            tries += 1
            status, data = c.request("POST", "/v1/services", record(f"{prefix}{i}", upstream))
        times.append(time.perf_counter() - t0)
        if status != 201:
            print(json.dumps({"error": f"registration {i} returned {status}: "
                                       f"{data.decode(errors='replace')[:300]}",
                              "registered": i, "bind_retries": len(retries)}))
            return 1
        ports.append(json.loads(data)["port"])
    total = time.perf_counter() - start
    c.close()
    print(json.dumps({"count": count, "seconds": round(total, 3), "p50_ms": ms(pct(times, 50)),
                      "p99_ms": ms(pct(times, 99)), "max_ms": ms(max(times) if times else None),
                      "bind_retries": len(retries), "first_retry": retries[:1], "ports": ports}))
    return 0


def first_byte(port, path, deadline):
    """Connects and GETs; returns (time of first byte, refused connects, status line or None)."""
    refused = 0
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            s.close()
            refused += 1
            if time.perf_counter() > deadline:
                return None, refused, None
            continue
        try:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Connection: close\r\n\r\n".encode())
            first = s.recv(1)
            t = time.perf_counter()
            rest = b""
            while len(rest) < 64 and b"\r\n" not in rest:
                more = s.recv(256)
                if not more:
                    break
                rest += more
            status_line = (first + rest).split(b"\r\n", 1)[0].decode("latin-1")
            return (t if first else None), refused, status_line
        except OSError:
            return None, refused, None
        finally:
            s.close()


def cmd_latency(sock_path, count, upstream, prefix, path):
    c = AdminClient(sock_path)
    post_to_first, resp_to_first, admin_rtt = [], [], []
    refused_total = refused_regs = failed = non200 = 0
    errors = []
    for i in range(count):
        t0_box = []
        status, data = c.request("POST", "/v1/services", record(f"{prefix}{i}", upstream),
                                 on_sent=lambda: t0_box.append(time.perf_counter()))
        t1 = time.perf_counter()
        if status != 201:
            errors.append(f"registration {i}: {status} {data.decode(errors='replace')[:200]}")
            failed += 1
            if len(errors) > 5:
                break
            continue
        port = json.loads(data)["port"]
        t2, refused, status_line = first_byte(port, path, t1 + 2.0)
        refused_total += refused
        refused_regs += 1 if refused else 0
        if t2 is None:
            failed += 1
            errors.append(f"registration {i} (port {port}): no response ({status_line})")
            continue
        if not status_line or " 200 " not in status_line + " ":
            non200 += 1
            if len(errors) < 5:
                errors.append(f"port {port}: {status_line}")
        t0 = t0_box[-1]
        post_to_first.append(t2 - t0)
        resp_to_first.append(t2 - t1)
        admin_rtt.append(t1 - t0)
    c.close()

    def summary(v):
        return {"p50_ms": ms(pct(v, 50)), "p99_ms": ms(pct(v, 99)),
                "max_ms": ms(max(v) if v else None)}

    print(json.dumps({"count": len(post_to_first), "post_to_first_byte": summary(post_to_first),
                      "response_to_first_byte": summary(resp_to_first),
                      "admin_round_trip": summary(admin_rtt),
                      "registrations_with_refused_connect": refused_regs,
                      "refused_connects": refused_total, "failed": failed, "non_200": non200,
                      "errors": errors[:5]}))
    return 0 if failed == 0 else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "scrape":
        return cmd_scrape(argv[2], json.loads(argv[3]))
    if len(argv) < 5 or argv[1] not in ("register", "latency"):
        sys.exit(__doc__)
    sock_path, count, upstream = argv[2], int(argv[3]), argv[4]
    prefix, path = "svc", "/"
    rest = argv[5:]
    while rest:
        if rest[0] == "--prefix" and len(rest) > 1:
            prefix = rest[1]
        elif rest[0] == "--path" and len(rest) > 1:
            path = rest[1]
        elif rest[0] == "--fields" and len(rest) > 1:
            EXTRA_FIELDS.update(json.loads(rest[1]))
        else:
            sys.exit(f"unknown argument {rest[0]}")
        rest = rest[2:]
    if argv[1] == "register":
        return cmd_register(sock_path, count, upstream, prefix)
    return cmd_latency(sock_path, count, upstream, prefix, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
