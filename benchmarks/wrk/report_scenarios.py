"""The summaries report.py prints above the tables of a scenario: the response cache's goals
(cache.sh, issue 16), TLS against nginx and HAProxy (tls.sh, issue 13) and the enriched path
(enriched.sh, issue 17)."""

from report_lib import (BODY_ORDER, TLS_CASES, fmt, fmt_lat, fmt_paired, fmt_paired_diff, paired,
                        problems)

def cache_goals(agg, rows):
    """Issue 16's goals (cache.sh): per body size and connection count, CPU per request of a
    proxied miss (icaht), a cache hit (icaht_rid) and an nginx proxy_cache hit, with the paired
    run-by-run ratios hit/miss (goal at most 0.6) and hit/nginx (goal below 1)."""
    out = ["### Response cache: a hit against a proxied miss and nginx's proxy_cache hit "
           "(paired ratios: median of the run-by-run ratios, runs in brackets)", "",
           "| body | conns | miss CPU µs/req | hit | nginx hit | hit/miss CPU/req | "
           "hit/nginx CPU/req | miss req/s | hit req/s | nginx req/s | hit/nginx req/s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    goals = []
    bodies = [b for b in BODY_ORDER if any(k[0] == "icaht_rid" and k[1] == b for k in agg)]
    for body in bodies:
        for c in sorted({k[2] for k in agg if k[1] == body and k[0] == "icaht_rid"}):
            m, h, n = (agg.get((p, body, c)) for p in ("icaht", "icaht_rid", "nginx"))
            hm = paired(rows, body, c, "icaht_rid", "icaht")
            hn = paired(rows, body, c, "icaht_rid", "nginx")
            hn_rps = paired(rows, body, c, "icaht_rid", "nginx", "rps")

            def cell(a, key, digits=0):
                return fmt(a[key], digits) if a else "–"
            out.append(
                f"| {body} | {c} | {cell(m, 'cpu', 2)} | {cell(h, 'cpu', 2)} | {cell(n, 'cpu', 2)} | "
                f"{fmt_paired(*hm)} | {fmt_paired(*hn)} | {cell(m, 'rps')} | {cell(h, 'rps')} | "
                f"{cell(n, 'rps')} | {fmt_paired(*hn_rps)} |")
            if c != 64:
                continue
            for name, (vals, med_), ok in (
                    (f"{body}, 64 conns: hit CPU/req ≤ 0.6× a proxied miss", hm,
                     lambda v: v <= 0.6),
                    (f"{body}, 64 conns: hit CPU/req < nginx's proxy_cache hit", hn,
                     lambda v: v < 1.0)):
                verdict = ("not measured" if med_ is None
                           else ("met" if ok(med_) else "**NOT met**"))
                goals.append(f"| {name} | paired {fmt_paired(vals, med_)} | {verdict} |")
    out += ["", "### Goals (issue 16)", "", "| goal | measured | verdict |", "|---|---|---|"]
    out += goals or ["| (no 64-connection case with icaht_rid) | – | not measured |"]
    return out + problems(agg)


def tls_summary(agg, rows):
    """tls.sh's cases side by side: req/s (handshakes/s for the new-connection cases) and CPU per
    request of each proxy, icaht's paired ratios (median of the run-by-run ratios) against nginx
    and HAProxy, and issue 13's goals."""
    out = ["### TLS side by side (paired ratios: median of the run-by-run ratios, runs in brackets)",
           "",
           "| case | conns | icaht req/s | nginx | HAProxy | icaht CPU µs/req | nginx | HAProxy | "
           "icaht proxy CPU | req/s icaht/nginx | CPU/req icaht/nginx | req/s icaht/HAProxy | "
           "CPU/req icaht/HAProxy |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    def cell(a, key, digits=0):
        return fmt(a[key], digits) if a else "–"

    for body, name in TLS_CASES.items():
        for c in sorted({k[2] for k in agg if k[1] == body}):
            i, n, h = (agg.get((p, body, c)) for p in ("icaht", "nginx", "haproxy"))
            if not i:
                continue
            util = "–" if i["util"] is None else f"{i['util'] * 100:.0f}%"
            out.append(
                f"| {name} | {c} | {cell(i, 'rps')} | {cell(n, 'rps')} | {cell(h, 'rps')} | "
                f"{cell(i, 'cpu', 2)} | {cell(n, 'cpu', 2)} | {cell(h, 'cpu', 2)} | {util} | "
                f"{fmt_paired(*paired(rows, body, c, 'icaht', 'nginx', 'rps'))} | "
                f"{fmt_paired(*paired(rows, body, c, 'icaht', 'nginx'))} | "
                f"{fmt_paired(*paired(rows, body, c, 'icaht', 'haproxy', 'rps'))} | "
                f"{fmt_paired(*paired(rows, body, c, 'icaht', 'haproxy'))} |")
    out += ["", "With the proxy below ~95 % of its CPU the load side (wrk's own TLS, the backend) "
            "limited req/s: compare CPU per request; 10⁶ / (CPU µs per handshake) is what one "
            "fully used CPU would sustain.", ""]

    out += ["### Goals (issue 13)", "", "| goal | measured | verdict |", "|---|---|---|"]

    def row(name, body, key, limit, at_least):
        conns = sorted({k[2] for k in agg if k[1] == body and k[0] == "icaht"})
        if not conns or not any(("nginx", body, c) in agg for c in conns):
            out.append(f"| {name} | – | not measured |")
            return
        c = conns[-1]
        vals, m = paired(rows, body, c, "icaht", "nginx", {"rps": "rps", "cpu": "cpu_us_per_req"}[key])
        ok = m is not None and (m >= limit if at_least else m <= limit)
        i, n = agg[("icaht", body, c)], agg[("nginx", body, c)]
        digits = 0 if key == "rps" else 2
        verdict = "not measured" if m is None else ("met" if ok else "**NOT met**")
        limited = ""
        if key == "rps" and i["util"] is not None and i["util"] < 0.9:
            limited = (f" (load side limited: icaht used {i['util'] * 100:.0f}% of its CPU, "
                       "so compare CPU per handshake)")
        out.append(f"| {name} | paired {fmt_paired(vals, m)}; medians {fmt(i[key], digits)} vs "
                   f"{fmt(n[key], digits)}{limited} | {verdict} |")

    row("full handshakes/s ≥ nginx's (one shard)", "tls_full", "rps", 1.0, True)
    row("new connections/s (wrk resuming) ≥ nginx's", "tls_new", "rps", 1.0, True)
    row("full handshake: CPU per handshake ≤ nginx's (capacity at one full CPU)", "tls_full",
        "cpu", 1.0, False)
    row("5 B kept-alive TLS: CPU/req ≤ 0.9× nginx", "tls_5B", "cpu", 0.9, False)
    row("1 MiB kept-alive TLS: CPU/req ≤ 0.9× nginx", "tls_1MiB", "cpu", 0.9, False)
    return out + problems(agg)


# enriched.sh (issue 17): what each target does, for the tables.
ENRICHED_NAMES = {
    "icaht": "icaht-sidecar 1 shard: request ID, JWT (cached), CORS, rate limit, metrics, "
             "access log, tracing 1 %",
    "haproxy": "HAProxy 1 thread: unique-id, jwt_verify, CORS, stick-table limit, Prometheus, "
               "log",
    "icaht_bare": "icaht-sidecar 1 shard, nothing configured, access log off (reference)",
    "icaht_base": "icaht-sidecar as above, the base binary (SIDECAR_BASE)",
    "haproxy_jwtcache": "HAProxy as above, jwt_verify skipped for a token in a stick-table of "
                        "verified ones",
    "nginx": "nginx 1 worker: $request_id, CORS, limit_req, access log (no JWT, no tracing)",
}
# Issue 17's goals: icaht's CPU per request against each peer's (at most this ratio).
ENRICHED_CPU_GOALS = {"haproxy": 0.6, "nginx": 0.8}


def enriched_cost(agg, rows, bodies, ref, title):
    """icaht − `ref` per body and connection count, paired run by run (empty without `ref`)."""
    cost = [b for b in bodies if any(k[:2] == (ref, b) for k in agg)]
    if not cost:
        return []
    out = [f"### {title} (paired run by run)", "",
           "| body | conns | CPU µs/req | user µs/req | sys µs/req | CPU/req ratio | "
           "req/s ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
    for body in cost:
        for c in sorted({k[2] for k in agg if k[:2] == (ref, body)}):
            if ("icaht", body, c) not in agg:
                continue
            out.append(
                f"| {body} | {c} | "
                + " | ".join(fmt_paired_diff(*paired(rows, body, c, "icaht", ref, key, diff=True))
                             for key in ("cpu_us_per_req", "user_us_per_req", "sys_us_per_req"))
                + f" | {fmt_paired(*paired(rows, body, c, 'icaht', ref))}"
                + f" | {fmt_paired(*paired(rows, body, c, 'icaht', ref, 'rps'))} |")
    return out + [""]


def enriched_summary(agg, rows):
    """icaht against HAProxy and nginx, per body size and connection count: the paired run-by-run
    ratios (median, runs in brackets) of req/s, p50, p99, user, system and total CPU per request;
    then issue 17's goals: CPU/req at most 0.6x HAProxy's and 0.8x nginx's, p99 no worse than
    either's (the median of the paired p99 ratios at most 1)."""
    out = ["### icaht-sidecar against each peer, paired run by run (median of the run-by-run "
           "ratios icaht/peer, runs in brackets)", "",
           "| body | conns | peer | req/s | p50 | p99 | user µs/req | sys µs/req | CPU µs/req |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    goals = []

    def verdict(m, limit):
        return "not measured" if m is None else ("met" if m <= limit else "**NOT met**")

    bodies = [b for b in BODY_ORDER if any(k[0] == "icaht" and k[1] == b for k in agg)]
    for body in bodies:
        for c in sorted({k[2] for k in agg if k[1] == body and k[0] == "icaht"}):
            i = agg[("icaht", body, c)]
            for peer in ("haproxy", "haproxy_jwtcache", "nginx"):
                o = agg.get((peer, body, c))
                if not o:
                    continue
                cells = [fmt_paired(*paired(rows, body, c, "icaht", peer, key))
                         for key in ("rps", "p50_us", "p99_us", "user_us_per_req",
                                     "sys_us_per_req", "cpu_us_per_req")]
                out.append(f"| {body} | {c} | {peer} | " + " | ".join(cells) + " |")
                if peer not in ENRICHED_CPU_GOALS:
                    continue
                limit = ENRICHED_CPU_GOALS[peer]
                vals, m = paired(rows, body, c, "icaht", peer)
                goals.append(
                    f"| {body}, {c} conns: CPU/req ≤ {limit}× {peer}'s | "
                    f"paired {fmt_paired(vals, m)}; "
                    f"medians {fmt(i['cpu'], 2)} vs {fmt(o['cpu'], 2)} µs | "
                    f"{verdict(m, limit)} |")
                vals, m = paired(rows, body, c, "icaht", peer, "p99_us")
                goals.append(
                    f"| {body}, {c} conns: p99 ≤ {peer}'s | paired {fmt_paired(vals, m)}; "
                    f"medians {fmt_lat(i['p99'])} vs {fmt_lat(o['p99'])} | "
                    f"{verdict(m, 1.0)} |")
    out += ["", "nginx does no JWT verification and no tracing (stock nginx cannot), HAProxy no "
            "tracing: they do less work than icaht-sidecar here.", ""]
    for ref, title in (("icaht_bare", "The enrichment's cost in icaht-sidecar: icaht − icaht_bare"),
                       ("icaht_base", "icaht against the base binary: icaht − icaht_base")):
        out += enriched_cost(agg, rows, bodies, ref, title)
    out += ["### Goals (issue 17)", "", "| goal | measured | verdict |", "|---|---|---|"]
    out += goals or ["| (no case with icaht and a peer) | – | not measured |"]
    return out + problems(agg)
