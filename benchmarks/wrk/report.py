#!/usr/bin/env python3
"""Helpers for benchmarks/wrk/run.sh.

  report.py parse WRK_OUTPUT_FILE FIELDS...   -> prints one CSV row (see COLUMNS)
  report.py report CSV OUT_MD OUT_PNG_OR_-    -> Markdown tables (stdout and OUT_MD) and a plot
  report.py tls CSV OUT_MD [HEADER_MD]        -> the same tables for tls.sh's TLS cases, the paired
                                                 ratios against nginx and HAProxy, issue 13's goals
  report.py enriched CSV OUT_MD [HEADER_MD]   -> enriched.sh's cases: icaht's paired ratios against
                                                 HAProxy and nginx, issue 17's goals, the tables

`parse` turns one measured wrk run plus the proxy's CPU ticks before/after into a row;
`report` takes the median of every metric over repeated runs of the same case and prints one
table per body size, the ratios of icaht-sidecar against nginx and HAProxy, and the issue's
targets as met/not met. When the run has the A/B variants of icaht (`icaht_base`: another
binary, e.g. an earlier commit; `icaht_rid`: the same binary with request IDs on), it also
prints, per body size, the paired run-by-run ratios icaht/icaht_base and differences
icaht_rid - icaht in µs per request, and issue 8's budgets. With REPORT_GOALS=cache (cache.sh:
icaht_rid is icaht with the response cache, every request a hit; nginx caches too) it prints
issue 16's goals instead of issue 4's: the paired CPU ratios icaht_rid/icaht and icaht_rid/nginx.
"""

import csv
import os
import sys

from report_lib import (BODY_BYTES, BODY_TITLES, COLUMNS, PROXY_NAMES, emit, header_lines,
                        load_rows, parse_wrk, plot, tables, targets, write_scenario)
from report_scenarios import ENRICHED_NAMES, cache_goals, enriched_summary, tls_summary


def cmd_parse(argv):
    # parse WRK_OUT proxy scenario body conns run clk_tck u0 s0 u1 s1 wall_s rss_kib
    (wrk_out, proxy, scenario, body, conns, run, clk_tck, u0, s0, u1, s1, wall_s,
     rss_kib) = argv
    r = parse_wrk(open(wrk_out).read())
    tck = int(clk_tck)
    row = {"proxy": proxy, "scenario": scenario, "body": body, "conns": conns, "run": run}
    row.update(r)
    if u0 == "-" or r["requests"] == 0:  # no proxy process to account, or nothing to divide by
        row.update(user_us_per_req="", sys_us_per_req="", cpu_us_per_req="", proxy_cpu_util="")
    else:
        du = (int(u1) - int(u0)) * 1e6 / tck
        ds = (int(s1) - int(s0)) * 1e6 / tck
        n = max(1, r["requests"])
        row["user_us_per_req"] = f"{du / n:.2f}"
        row["sys_us_per_req"] = f"{ds / n:.2f}"
        row["cpu_us_per_req"] = f"{(du + ds) / n:.2f}"
        row["proxy_cpu_util"] = f"{(du + ds) / 1e6 / max(1e-9, float(wall_s)):.2f}"
    row["rss_kib"] = rss_kib
    if r["requests"] == 0:
        row["p50_us"] = row["p99_us"] = float("nan")
    row["rps"] = f"{row['rps']:.0f}"
    row["p50_us"] = f"{row['p50_us']:.0f}"
    row["p99_us"] = f"{row['p99_us']:.0f}"
    row["duration_s"] = f"{row['duration_s']:.2f}"
    w = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    w.writerow(row)


def cmd_tls(argv):
    write_scenario(argv, tls_summary)


def cmd_report(argv):
    csv_path, md_path, png = argv[0], argv[1], argv[2]
    rows, agg = load_rows(csv_path)
    lines = header_lines(argv[3] if len(argv) > 3 else "")
    if os.environ.get("REPORT_GOALS") == "cache":
        lines += cache_goals(agg, rows) + [""]
        lines += tables(agg, rows)
    else:
        lines += tables(agg, rows)
        lines += targets(agg, rows)
    if png != "-" and plot(agg, png):
        lines += [f"![req/s and CPU per request against body size]({os.path.basename(png)})", ""]
    emit(lines, md_path)


def cmd_enriched(argv):
    PROXY_NAMES.update(ENRICHED_NAMES)
    for b in BODY_BYTES:
        BODY_TITLES[b] = "Enriched: " + BODY_TITLES[b]
    write_scenario(argv, enriched_summary)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("parse", "report", "tls", "enriched"):
        sys.exit(__doc__)
    {"parse": cmd_parse, "report": cmd_report, "tls": cmd_tls,
     "enriched": cmd_enriched}[sys.argv[1]](sys.argv[2:])
