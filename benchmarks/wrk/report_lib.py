#!/usr/bin/env python3
"""What report.py's commands share: wrk output parsing, the medians of repeated runs, the
paired run-by-run ratios, the Markdown tables and the plot (see report.py)."""

import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

COLUMNS = [
    "proxy", "scenario", "body", "conns", "run", "requests", "duration_s", "rps", "p50_us",
    "p99_us", "user_us_per_req", "sys_us_per_req", "cpu_us_per_req", "proxy_cpu_util",
    "rss_kib", "non2xx", "socket_errors",
]

# Display names and order; "relay" and "splice" are the bare io_uring floors, "direct" is wrk
# against the backend with no proxy at all (the load side's own ceiling).
# What icaht_rid adds to icaht and its budget per request (run.sh's RID_FIELDS; edge_policy.sh
# sets these for issue 9's JWT + CORS + rate limit).
RID_LABEL = os.environ.get("RID_LABEL", "request IDs")
RID_BUDGET_US = float(os.environ.get("RID_BUDGET_US", "0.3"))
# What icaht_rid's cost is measured against: the same binary without the feature (icaht), or
# icaht_base (an earlier commit, when the feature cannot be turned off: e.g. metrics).
RID_AGAINST = os.environ.get("RID_AGAINST", "icaht")

PROXY_ORDER = ["icaht", "icaht_bare", "icaht_base", "icaht_rid", "nginx", "haproxy",
               "haproxy_jwtcache", "relay", "splice", "direct"]
PROXY_NAMES = {
    "icaht": "icaht-sidecar (1 shard)",
    "icaht_base": "icaht_base: SIDECAR_BASE binary (1 shard)",
    "icaht_rid": f"icaht_rid: icaht with {RID_LABEL} (1 shard)",
    "nginx": "nginx 1 worker" + (", proxy_cache hits (tmpfs)"
                                  if os.environ.get("NGINX_CACHE") == "1" else ""),
    "haproxy": "HAProxy 1 thread",
    "relay": "bare io_uring relay (uring_relay_ms, L4)",
    "splice": "bare io_uring splice relay (L4)",
    "direct": "no proxy (wrk -> backend)",
}
BODY_ORDER = ["5B", "1KiB", "16KiB", "1MiB", "POST16KiB", "5B_100svc"] + \
    ["tls_5B", "tls_1MiB", "tls_new", "tls_full"]
BODY_TITLES = {
    "5B": "GET, 5 B response",
    "1KiB": "GET, 1 KiB response",
    "16KiB": "GET, 16 KiB response",
    "1MiB": "GET, 1 MiB response",
    "POST16KiB": "POST with a 16 KiB body (post.lua), 3 B response",
    "5B_100svc": "GET 5 B spread over 100 services, one port each (many_services.lua)",
    # tls.sh's cases: the same GETs over TLS
    "tls_5B": "TLS, kept-alive connections: GET, 5 B response",
    "tls_1MiB": "TLS, kept-alive connections: GET, 1 MiB response",
    "tls_new": "TLS, a new connection per request (Connection: close; wrk resumes sessions "
               "by ticket where it can): req/s = handshakes/s, CPU µs/req = per handshake",
    "tls_full": "TLS, a new connection per request, session tickets and caches off on every "
                "proxy (full handshakes): req/s = handshakes/s, CPU µs/req = per handshake",
}
TLS_CASES = {"tls_5B": "kept-alive, GET 5 B", "tls_1MiB": "kept-alive, GET 1 MiB",
             "tls_new": "new connection per request (wrk resumes)",
             "tls_full": "full handshake per request (tickets off)"}
BODY_BYTES = {"5B": 5, "1KiB": 1024, "16KiB": 16384, "1MiB": 1048576}


def to_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"bad wrk duration {text!r}")
    v = float(m.group(1))
    return v * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]


def parse_wrk(text):
    out = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    if not m:
        raise ValueError("no 'N requests in T' line in wrk output")
    out["requests"] = int(m.group(1))
    out["duration_s"] = to_us(m.group(2) + m.group(3)) / 1e6
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M)
        out[key] = to_us(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return out



def med(rows, key):
    vals = [float(r[key]) for r in rows if r.get(key) not in ("", "nan", None)]
    return statistics.median(vals) if vals else None


def fmt(v, digits=0):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def fmt_lat(us):
    if us is None:
        return "–"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}×"


def paired(rows, body, conns, mine, other, key="cpu_us_per_req", diff=False):
    """`mine`'s metric `key` against `other`'s, run by run: the targets are measured back to back
    within a run, so each run is a paired comparison and the drift of a shared machine between
    runs cancels out. A ratio mine/other, or with diff=True the difference mine - other.
    Returns (per-run values in run order, their median) or ([], None)."""
    def by_run(proxy):
        out = {}
        for r in rows:
            if (r["proxy"], r["body"], int(r["conns"])) == (proxy, body, conns) and \
                    int(r["requests"]) > 0 and r.get(key) not in ("", "nan", None):
                out[int(r["run"])] = float(r[key])
        return out
    a, b = by_run(mine), by_run(other)
    if diff:
        vals = [a[k] - b[k] for k in sorted(a) if k in b]
    else:
        vals = [a[k] / b[k] for k in sorted(a) if k in b and b[k] > 0]
    return vals, (statistics.median(vals) if vals else None)


def paired_cpu(rows, body, conns, other):
    """icaht's CPU per request over `other`'s, run by run (see paired)."""
    return paired(rows, body, conns, "icaht", other)


def fmt_paired(ratios, median, digits=2):
    """Paired ratios: median (run by run); three digits for A/B comparisons of a few per cent."""
    if median is None:
        return "–"
    if len(ratios) == 1:
        return f"{median:.{digits}f}×"
    return f"{median:.{digits}f}× ({' / '.join(f'{r:.{digits}f}' for r in ratios)})"


def fmt_paired_diff(diffs, median, digits=2):
    """A paired difference in µs: median (run by run)."""
    if median is None:
        return "–"
    if len(diffs) == 1:
        return f"{median:+.{digits}f} µs"
    return f"{median:+.{digits}f} µs ({' / '.join(f'{d:+.{digits}f}' for d in diffs)})"


def _ab_table(agg, rows, body, have, new, old, label, header, diffs):
    """One A/B table of `new` against `old`, rows labelled `label`: req/s and p99 ratios, then CPU, user
    and sys per request paired run by run, as ratios and the CPU difference, or (diffs) as
    differences and the CPU ratio."""
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in have:
        n, o = agg.get((new, body, c)), agg.get((old, body, c))
        if not n or not o:
            continue

        def cell(metric=None, as_diff=diffs):
            args = (rows, body, c, new, old) + ((metric,) if metric else ())
            if as_diff:
                return fmt_paired_diff(*paired(*args, diff=True))
            return fmt_paired(*paired(*args), digits=3)

        lines.append(
            f"| {label} | {c} | {fmt_ratio(ratio(n['rps'], o['rps']))} | {fmt_ratio(ratio(n['p99'], o['p99']))} | "
            f"{cell()} | {cell('user_us_per_req')} | {cell('sys_us_per_req')} | {cell(as_diff=not diffs)} |")
    lines.append("")
    return lines


def ab_tables(agg, rows, body, conns):
    """The A/B variants of icaht against icaht, for one body size: icaht/icaht_base (a change
    between two binaries) as paired ratios, icaht_rid - icaht (the cost of request IDs) as paired
    differences in µs per request."""
    lines = []
    have = [c for c in conns if ("icaht", body, c) in agg]
    if any(("icaht_base", body, c) in agg for c in have):
        lines += _ab_table(agg, rows, body, have, "icaht", "icaht_base", "icaht_base",
                           "| icaht / icaht_base | conns | req/s | p99 | CPU/req paired: median (run by run) | "
                           "user/req paired | sys/req paired | CPU/req diff paired |", diffs=False)
    if any(("icaht_rid", body, c) in agg for c in have):
        lines += _ab_table(agg, rows, body, have, "icaht_rid", "icaht", "icaht_rid",
                           "| icaht_rid − icaht | conns | req/s | p99 | CPU µs/req paired: median (run by run) | "
                           "user µs/req paired | sys µs/req paired | CPU/req ratio paired |", diffs=True)
    return lines


def aggregate(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["proxy"], r["body"], int(r["conns"])), []).append(r)
    agg = {}
    for key, all_rs in groups.items():
        # A run in which no request completed has no latency or CPU per request; it is counted
        # (and listed under the targets) but kept out of the medians.
        rs = [r for r in all_rs if int(r["requests"]) > 0] or all_rs
        agg[key] = {
            "runs": len(all_rs),
            "empty_runs": len(all_rs) - len([r for r in all_rs if int(r["requests"]) > 0]),
            "rps": med(rs, "rps"),
            "p50": med(rs, "p50_us"),
            "p99": med(rs, "p99_us"),
            "user": med(rs, "user_us_per_req"),
            "sys": med(rs, "sys_us_per_req"),
            "cpu": med(rs, "cpu_us_per_req"),
            "util": med(rs, "proxy_cpu_util"),
            "rss": med(rs, "rss_kib"),
            "non2xx": sum(int(r["non2xx"]) for r in all_rs),
            "errors": sum(int(r["socket_errors"]) for r in all_rs),
            "requests": sum(int(r["requests"]) for r in all_rs),
        }
    return agg


def tables(agg, rows):
    lines = []
    bodies = [b for b in BODY_ORDER if any(k[1] == b for k in agg)]
    bodies += sorted({k[1] for k in agg} - set(bodies))
    for body in bodies:
        lines.append(f"### {BODY_TITLES.get(body, body)}")
        lines.append("")
        lines.append("| proxy | conns | req/s | p50 | p99 | user µs/req | sys µs/req | "
                     "CPU µs/req | proxy CPU | RSS MiB | non-2xx | socket errors |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        keys = sorted((k for k in agg if k[1] == body),
                      key=lambda k: (k[2], PROXY_ORDER.index(k[0])
                                     if k[0] in PROXY_ORDER else 99))
        for k in keys:
            a = agg[k]
            util = "–" if a["util"] is None else f"{a['util'] * 100:.0f}%"
            rss = "–" if a["rss"] is None else f"{a['rss'] / 1024:.1f}"
            name = PROXY_NAMES.get(k[0], k[0])
            if a["empty_runs"]:
                name += f" ({a['empty_runs']}/{a['runs']} runs stalled)"
            lines.append(
                f"| {name} | {k[2]} | {fmt(a['rps'])} | "
                f"{fmt_lat(a['p50'])} | {fmt_lat(a['p99'])} | {fmt(a['user'], 2)} | "
                f"{fmt(a['sys'], 2)} | {fmt(a['cpu'], 2)} | {util} | {rss} | "
                f"{a['non2xx']} | {a['errors']} |")
        lines.append("")
        conns = sorted({k[2] for k in keys})
        if any((("icaht", body, c) in agg and (o, body, c) in agg)
               for c in conns for o in ("nginx", "haproxy", "relay")):
            lines.append("| icaht vs | conns | req/s | p99 | CPU/req | user/req | sys/req | "
                         "CPU/req paired: median (run by run) |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            for other in ("nginx", "haproxy", "relay"):
                for c in conns:
                    i, o = agg.get(("icaht", body, c)), agg.get((other, body, c))
                    if not i or not o:
                        continue
                    lines.append(
                        f"| {other} | {c} | {fmt_ratio(ratio(i['rps'], o['rps']))} | "
                        f"{fmt_ratio(ratio(i['p99'], o['p99']))} | "
                        f"{fmt_ratio(ratio(i['cpu'], o['cpu']))} | "
                        f"{fmt_ratio(ratio(i['user'], o['user']))} | "
                        f"{fmt_ratio(ratio(i['sys'], o['sys']))} | "
                        f"{fmt_paired(*paired_cpu(rows, body, c, other))} |")
            lines.append("")
        lines += ab_tables(agg, rows, body, conns)
    return lines


def targets(agg, rows):
    """The issue's targets, checked against this run (met / NOT met / not measured). CPU ratios
    are the median of the per-run paired ratios (see paired_cpu); the ratio of the medians is
    shown beside them."""
    out = ["### Targets (issue 4)", "", "| target | measured | verdict |", "|---|---|---|"]

    def row(name, measured, ok):
        verdict = "not measured" if ok is None else ("met" if ok else "**NOT met**")
        out.append(f"| {name} | {measured} | {verdict} |")

    i, n, h = (agg.get((p, "5B", 64)) for p in ("icaht", "nginx", "haproxy"))
    if i and n:
        ratios, r = paired_cpu(rows, "5B", 64, "nginx")
        row("5 B, 64 conns: CPU/req ≤ 0.8× nginx",
            f"paired {fmt_paired(ratios, r)}; medians {fmt(i['cpu'], 2)} vs {fmt(n['cpu'], 2)} µs",
            r is not None and r <= 0.8)
    else:
        row("5 B, 64 conns: CPU/req ≤ 0.8× nginx", "–", None)
    if i:
        row("5 B, 64 conns: user ≤ 1.5 µs/req", f"{fmt(i['user'], 2)} µs",
            i["user"] is not None and i["user"] <= 1.5)
    if i and n and h:
        row("5 B, 64 conns: req/s ≥ nginx and HAProxy",
            f"{fmt(i['rps'])} vs {fmt(n['rps'])} / {fmt(h['rps'])}",
            i["rps"] >= n["rps"] and i["rps"] >= h["rps"])
    i1, n1 = agg.get(("icaht", "1MiB", 64)), agg.get(("nginx", "1MiB", 64))
    if i1 and n1:
        ratios, r = paired_cpu(rows, "1MiB", 64, "nginx")
        row("1 MiB, 64 conns: CPU/req ≤ 0.5× nginx",
            f"paired {fmt_paired(ratios, r)}; medians {fmt(i1['cpu'], 1)} vs {fmt(n1['cpu'], 1)} µs",
            r is not None and r <= 0.5)
    for body in ("5B", "16KiB", "1MiB"):
        a, b = agg.get(("icaht", body, 64)), agg.get(("nginx", body, 64))
        if a and b:
            row(f"{body}, 64 conns: p99 ≤ nginx's", f"{fmt_lat(a['p99'])} vs {fmt_lat(b['p99'])}",
                a["p99"] <= b["p99"])
    out += ab_targets(agg, rows)
    out += problems(agg)
    return out


def problems(agg):
    """The cases with non-2xx answers, socket errors or runs that completed no request."""
    out = []
    bad = [(k, a) for k, a in agg.items() if a["non2xx"] or a["errors"] or a["empty_runs"]]
    out.append("")
    if bad:
        out.append("Cases with non-2xx responses, socket errors or runs where no request completed:")
        for k, a in sorted(bad):
            empty = (f", {a['empty_runs']} of {a['runs']} runs completed no request"
                     if a["empty_runs"] else "")
            out.append(f"- {k[0]} {k[1]} c={k[2]}: non-2xx {a['non2xx']}, "
                       f"socket errors {a['errors']} (of {a['requests']} requests){empty}")
    else:
        out.append("No non-2xx responses and no socket errors in any run.")
    out.append("")
    return out


def ab_targets(agg, rows):
    """Issue 8's budgets, when the run has the A/B variants: icaht (no features configured)
    within 3 % of icaht_base in CPU per request at 5 B and 1 MiB, 64 connections; request IDs
    (icaht_rid - icaht) at most 0.3 µs per request. Medians of the per-run paired values."""
    out = []

    def row(name, measured, ok):
        verdict = "not measured" if ok is None else ("met" if ok else "**NOT met**")
        out.append(f"| {name} | {measured} | {verdict} |")

    if any(k[0] == "icaht_base" for k in agg):
        for body in ("5B", "1MiB"):
            i, b = agg.get(("icaht", body, 64)), agg.get(("icaht_base", body, 64))
            name = f"{body}, 64 conns: CPU/req ≤ 1.03× icaht_base"
            if i and b:
                vals, m = paired(rows, body, 64, "icaht", "icaht_base")
                row(name, f"paired {fmt_paired(vals, m, digits=3)}; medians {fmt(i['cpu'], 2)} vs "
                    f"{fmt(b['cpu'], 2)} µs", m is not None and m <= 1.03)
            else:
                row(name, "–", None)
    if any(k[0] == "icaht_rid" for k in agg):
        for body in ("5B", "1MiB"):
            i, r = agg.get((RID_AGAINST, body, 64)), agg.get(("icaht_rid", body, 64))
            name = (f"{body}, 64 conns: {RID_LABEL} cost ≤ {RID_BUDGET_US:g} µs/req"
                    + ("" if RID_AGAINST == "icaht" else f" (against {RID_AGAINST})"))
            if i and r:
                vals, m = paired(rows, body, 64, "icaht_rid", RID_AGAINST, diff=True)
                row(name, f"paired {fmt_paired_diff(vals, m)}; medians {fmt(r['cpu'], 2)} vs "
                    f"{fmt(i['cpu'], 2)} µs", m is not None and m <= RID_BUDGET_US)
            elif body == "5B":
                row(name, "–", None)
    if out:
        out = ["", "### Targets (the request path against the commit before it; a feature's cost)", "",
               "| target | measured | verdict |", "|---|---|---|"] + out
    return out


def plot(agg, png):
    """req/s and CPU µs/request against body size, 64 connections, one line per proxy."""
    proxies = [p for p in PROXY_ORDER if p != "direct"
               and any((p, b, 64) in agg for b in BODY_BYTES)]
    if not proxies:
        return False
    tmp = tempfile.mkdtemp(prefix="icaht-plot.")
    files = {}
    for p in proxies:
        path = os.path.join(tmp, p + ".dat")
        with open(path, "w") as f:
            for body, size in BODY_BYTES.items():
                a = agg.get((p, body, 64))
                if a and a["rps"] is not None and a["cpu"] is not None:
                    f.write(f"{size} {a['rps']} {a['cpu']}\n")
        files[p] = path
    names = {"icaht": "icaht-sidecar", "icaht_base": "icaht-sidecar (base)",
             "icaht_rid": f"icaht-sidecar, {RID_LABEL}", "nginx": "nginx", "haproxy": "HAProxy",
             "relay": "io_uring relay (L4 floor)", "splice": "splice relay (L4 floor)"}

    def series(col):
        return ", ".join(
            f"'{files[p]}' using 1:{col} with linespoints lw 2"
            + (" dt 2" if p in ("relay", "splice") else "") + f" title '{names[p]}'"
            for p in proxies)

    script = f"""
set terminal pngcairo size 1200,500 font 'sans,10' noenhanced
set output '{png}'
set multiplot layout 1,2 title 'loopback, 64 keep-alive connections, proxy pinned to one CPU'
set logscale x 2
set xtics ('5 B' 5, '1 KiB' 1024, '16 KiB' 16384, '1 MiB' 1048576)
set xrange [3:2000000]
set grid
set key bottom left
set xlabel 'response body size'
set ylabel 'requests/s'
set logscale y
set title 'throughput'
plot {series(2)}
set key top left
set ylabel 'proxy CPU µs per request (user+sys)'
set title 'CPU per request'
plot {series(3)}
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"warning: gnuplot failed: {e}", file=sys.stderr)
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def load_rows(csv_path):
    """The CSV's rows and their medians by case (aggregate)."""
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    return rows, aggregate(rows)


def header_lines(header):
    """The text of a header file (a run's description), as lines ending with a blank one."""
    if not header or not os.path.exists(header):
        return []
    return open(header).read().rstrip("\n").split("\n") + [""]


def emit(lines, md_path):
    """Prints the Markdown and writes it to md_path."""
    text = "\n".join(lines)
    print(text)
    with open(md_path, "w") as f:
        f.write(text + "\n")


def write_scenario(argv, summary):
    """CSV, MD [HEADER]: the header file's text, summary(agg, rows), the tables; printed and
    written to MD."""
    rows, agg = load_rows(argv[0])
    emit(header_lines(argv[2] if len(argv) > 2 else "") + summary(agg, rows) + [""] +
         tables(agg, rows), argv[1])
