#!/usr/bin/env bash
# Memory and control-plane latency of icaht-sidecar, with HAProxy as the reference.
#
#  1. RSS (VmRSS, /proc) of the daemon with --shards 1 and 2 and 0 / 1 / 1,000 / 10,000
#     registered idle services (no traffic; registered over one keep-alive admin connection by
#     admin_load.py, ports allocated by the daemon from IDLE_RANGE), plus open FDs and the time
#     the registrations took. HAProxy (nbthread = shards) with the same number of
#     frontend+backend pairs, generated config, as the reference.
#  2. register -> serving latency over LAT_COUNT (1,000) registrations: from writing the POST to
#     the first byte of a response proxied through the new port, and from the 201 to that byte.
#     With LAT_BASE=N, N services are registered first (ports from IDLE_RANGE): the latency at
#     that size (issue 17 asks for it with 10,000 services).
#
#  3. With METRICS_AT=N: on a daemon of its own (the RSS above is of idle services), N services
#     registered, one request through each port, then the time of GET /metrics (curl, median of 7).
#
# Writes benchmarks/results/$RESULTS_NAME.{md,csv} (RESULTS_DIR overrides) and prints the tables.
# Environment: SHARDS="1 2"  COUNTS="1 1000 10000"  LAT_COUNT=1000  LAT_BASE=0
#   IDLE_RANGE=40000-50999
#   BENCH_PORT_BASE=30000 (uses BASE+680 .. BASE+1799)  BUILD_DIR, SIDECAR, KEEP_TMP=1
#   RECORD_FIELDS='{...}'  members added to every registered record (default none)
#   DAEMON_ARGS='...'      the daemon's flags after the defaults (default --access-log off)
#   HAPROXY=0              skip the HAProxy reference   RESULTS_NAME=rss   METRICS_AT=N
#   TMP_BASE=/tmp          where the work dir (and the daemon's state dir) goes: /dev/shm (tmpfs)
#                          takes the disk's fdatasync out of the registrations
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SHARDS="${SHARDS:-1 2}"
COUNTS="${COUNTS:-1 1000 10000}"
LAT_COUNT="${LAT_COUNT:-1000}"
LAT_BASE="${LAT_BASE:-0}"
IDLE_RANGE="${IDLE_RANGE:-40000-50999}"
BASE="${BENCH_PORT_BASE:-30000}"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
SIDECAR="${SIDECAR:-$BUILD_DIR/src/icaht-sidecar}"
RESULTS_DIR="${RESULTS_DIR:-$REPO/benchmarks/results}"
RESULTS_NAME="${RESULTS_NAME:-rss}"
RECORD_FIELDS="${RECORD_FIELDS:-"{}"}"
DAEMON_ARGS="${DAEMON_ARGS:---access-log off}"
METRICS_AT="${METRICS_AT:-0}"
LAT_NAME=register_latency.jsonl
[ "$RESULTS_NAME" = rss ] || LAT_NAME="${RESULTS_NAME}_register_latency.jsonl"
BACKEND_PORT=$((BASE + 680))
OPS_PORT=$((BASE + 690))
LAT_RANGE="$((BASE + 700))-$((BASE + 1799))"
IDLE_LO="${IDLE_RANGE%-*}"
IDLE_HI="${IDLE_RANGE#*-}"

# shellcheck source=wrk/common.sh
. "$HERE/wrk/common.sh"
# 10,000 services take a while to stop.
STOP_WAIT_TENTHS=300

for t in nginx haproxy python3 curl ss; do command -v "$t" >/dev/null || die "$t is required"; done
[ -x "$SIDECAR" ] || die "$SIDECAR not built (tools/bench.sh builds it)"
for c in $COUNTS; do [[ "$c" =~ ^[0-9]+$ ]] || die "COUNTS: '$c' is not a number"; done
[[ "$LAT_COUNT" =~ ^[0-9]+$ ]] && [ "$LAT_COUNT" -le 1100 ] || die "LAT_COUNT must be 0..1100"
[[ "$LAT_BASE" =~ ^[0-9]+$ ]] || die "LAT_BASE must be a number"
MAX_COUNT=0
for c in $COUNTS; do [ "$c" -gt "$MAX_COUNT" ] && MAX_COUNT=$c; done

# The work dir, with every process started removed on exit (common.sh).
init_tmp icaht-rss
# 10,000 services x 2 shards are 20,000 listening sockets; the daemon does not raise its own
# RLIMIT_NOFILE (systemd's LimitNOFILE would), so the shell does.
ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE="$(ulimit -n)"

fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

for shards in $SHARDS; do
  if [ "$NOFILE" -lt $((shards * MAX_COUNT + 64)) ]; then
    note "RLIMIT_NOFILE is $NOFILE (hard limit $(ulimit -Hn), not raisable here): --shards $shards with $MAX_COUNT services needs about $((shards * MAX_COUNT + 64)) descriptors (one listening socket per service per shard), so that case stops short"
  fi
done
CSV="$TMP/rss.csv"
echo "what,shards,services,rss_kib,fds,register_s,register_p99_ms" >"$CSV"

# Free ports of IDLE_RANGE (HAProxy needs explicit ones; the daemon's allocator skips busy ones).
ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -un >"$TMP/busy"
FREE=$(( IDLE_HI - IDLE_LO + 1 - $(awk -v lo="$IDLE_LO" -v hi="$IDLE_HI" '$1>=lo && $1<=hi' "$TMP/busy" | wc -l) ))
[ "$FREE" -ge "$MAX_COUNT" ] || die "only $FREE free ports in $IDLE_RANGE, need $MAX_COUNT"
for p in "$BACKEND_PORT" "$OPS_PORT"; do port_in_use "$p" && die "port $p in use (set BENCH_PORT_BASE)"; done

# ---------------------------------------------------------------------------- backend
cat >"$TMP/backend.conf" <<EOF
worker_processes 1; daemon off; master_process on; user root;
pid $TMP/backend.pid; error_log $TMP/backend.error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_temp_path $TMP/body;
  server { listen 127.0.0.1:$BACKEND_PORT backlog=4096; location / { return 200 "hello"; } }
}
EOF
start_bg "$TMP/backend.log" nginx -p "$TMP" -e "$TMP/backend.error.log" -c "$TMP/backend.conf"
BACKEND_PID=$LAST_PID
wait_listen "$BACKEND_PORT" "$BACKEND_PID" || die "backend did not start: $(cat "$TMP/backend.error.log")"

# ---------------------------------------------------------------------------- daemon
start_daemon() {  # SHARDS PORT_RANGE
  rm -rf "$TMP/d"; mkdir -p "$TMP/d/state"
  start_bg "$TMP/daemon.$1.log" "$SIDECAR" --shards "$1" --admin-socket "$TMP/d/admin.sock" \
    --ops-listen "127.0.0.1:$OPS_PORT" --port-range "$2" --state-dir "$TMP/d/state" \
    --log-level warn $DAEMON_ARGS
  DPID=$LAST_PID
  local i code=000
  for i in $(seq 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$OPS_PORT/ready" || true)"
    [ "$code" = 200 ] && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  note "daemon --shards $1 did not become ready ($code): $(tail -3 "$TMP/daemon.$1.log" | tr '\n' ' ')"
  return 1
}

stop_daemon() {  # SHARDS
  local t0 t1
  t0="$(date +%s%N)"
  stop_pid "$DPID"
  t1="$(date +%s%N)"
  STOP_MS=$(( (t1 - t0) / 1000000 ))
  [ "$STOP_RC" = 0 ] || note "daemon --shards $1: exit status $STOP_RC after SIGTERM; log: $(tail -3 "$TMP/daemon.$1.log" | tr '\n' ' ')"
}

for shards in $SHARDS; do
  log "== icaht-sidecar --shards $shards"
  start_daemon "$shards" "$IDLE_RANGE" || continue
  sleep 0.5
  echo "icaht,$shards,0,$(rss_kib "$DPID"),$(fd_count "$DPID"),," >>"$CSV"
  have=0 reg_s="" reg_p99="" failed=0 out=""
  for n in $(echo "$COUNTS" | tr ' ' '\n' | sort -n); do
    add=$((n - have))
    if [ "$add" -gt 0 ]; then
      failed=0
      out="$(timeout 900 python3 "$HERE/admin_load.py" register "$TMP/d/admin.sock" "$add" \
        "127.0.0.1:$BACKEND_PORT" --prefix "s$have-" --fields "$RECORD_FIELDS")" || failed=1
      if [ "$failed" = 1 ]; then
        note "--shards $shards: registering $add services (to $n) failed: $(echo "$out" | head -c 400)"
        got="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("registered", 0))' "$out" 2>/dev/null || echo 0)"
        [ "$got" -gt 0 ] || break
        n=$((have + got)); out=""; reg_s=""; reg_p99=""
      else
        reg_s="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$out")"
        reg_p99="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$out")"
        retried="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["bind_retries"], *d["first_retry"])' "$out")"
        [ "${retried%% *}" = 0 ] || note "--shards $shards, to $n services: ${retried%% *} registration(s) answered 409 (port taken between the daemon's probe and its bind) and were re-posted; first: ${retried#* }"
      fi
      have=$n
    fi
    sleep 1
    kill -0 "$DPID" 2>/dev/null || { note "daemon --shards $shards died at $n services"; break; }
    rss="$(rss_kib "$DPID")"
    echo "icaht,$shards,$n,$rss,$(fd_count "$DPID"),$reg_s,$reg_p99" >>"$CSV"
    log "icaht shards=$shards services=$n rss=${rss} KiB (+$add in ${reg_s}s, p99 ${reg_p99} ms)"
    [ "$failed" = 0 ] || break
  done
  # The ports must serve: spot-check the first and the last one of the last batch.
  if [ -n "${out:-}" ]; then
    for port in $(python3 -c 'import json,sys; p=json.loads(sys.argv[1]).get("ports") or []; print(*(p[:1] + p[-1:]))' "$out" 2>/dev/null); do
      code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/" || true)"
      [ "$code" = 200 ] || note "--shards $shards, $have services: GET through port $port answered $code"
    done
  fi
  stop_daemon "$shards"
  echo "stop,$shards,$have,,,$STOP_MS," >>"$CSV"
  log "stopped in $STOP_MS ms"
done

# ---------------------------------------------------------------------------- HAProxy
# Ports for HAProxy's frontends: free in IDLE_RANGE right now, in any TCP state (the range
# overlaps the ephemeral ports, so other connections on the machine can hold some; HAProxy
# refuses to start if one bind fails, so a failed start is retried with a fresh snapshot).
write_haproxy_cfg() {  # THREADS COUNT
  ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -un >"$TMP/busy.now"
  {
    printf 'global\n  nbthread %d\n  maxconn 1000\ndefaults\n  mode http\n  http-reuse always\n' "$1"
    printf '  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
    awk -v lo="$IDLE_LO" -v hi="$IDLE_HI" -v n="$2" -v be="$BACKEND_PORT" '
      { busy[$1] = 1 }
      END {
        i = 0
        for (p = lo; p <= hi && i < n; p++) {
          if (p in busy) continue
          printf "frontend f%d\n  bind 127.0.0.1:%d\n  default_backend b%d\n", i, p, i
          printf "backend b%d\n  server s 127.0.0.1:%d\n", i, be
          last = p; i++
        }
        print last > "/dev/stderr"
      }' "$TMP/busy.now" 2>"$TMP/haproxy.last"
  } >"$TMP/haproxy.cfg"
}

[ "${HAPROXY:-1}" = 0 ] && SHARDS_HAPROXY="" || SHARDS_HAPROXY="$SHARDS"
for shards in $SHARDS_HAPROXY; do
  for n in $COUNTS; do
    log "== haproxy nbthread $shards, $n frontends"
    ok=0
    for attempt in 1 2 3 4 5 6; do
      write_haproxy_cfg "$shards" "$n"
      last="$(cat "$TMP/haproxy.last")"
      start_bg "$TMP/haproxy.log" haproxy -db -f "$TMP/haproxy.cfg"
      HPID=$LAST_PID
      if wait_listen "$last" "$HPID" 600; then ok=1; break; fi
      stop_pid "$HPID"
      log "haproxy did not start (attempt $attempt): $(grep -m1 ALERT "$TMP/haproxy.log" || tail -1 "$TMP/haproxy.log")"
    done
    if [ "$ok" = 1 ]; then
      sleep 1
      rss="$(rss_kib "$HPID")"
      echo "haproxy,$shards,$n,$rss,$(fd_count "$HPID"),," >>"$CSV"
      log "haproxy nbthread=$shards frontends=$n rss=$rss KiB"
      stop_pid "$HPID"
    else
      note "haproxy with $n frontends did not start in 6 attempts: $(grep -m1 ALERT "$TMP/haproxy.log" | head -c 300)"
    fi
  done
done

# ---------------------------------------------------------------------------- /metrics
# On a daemon of its own, so the RSS above stays that of idle services.
if [ "$METRICS_AT" -gt 0 ]; then
  for shards in $SHARDS; do
    log "== GET /metrics, --shards $shards, $METRICS_AT services with traffic on each"
    start_daemon "$shards" "$IDLE_RANGE" || continue
    if out="$(timeout 900 python3 "$HERE/admin_load.py" register "$TMP/d/admin.sock" "$METRICS_AT" \
        "127.0.0.1:$BACKEND_PORT" --prefix m- --fields "$RECORD_FIELDS")"; then
      ports="$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["ports"]))' "$out")"
      if scrape="$(timeout 600 python3 "$HERE/admin_load.py" scrape \
          "http://127.0.0.1:$OPS_PORT/metrics" "$ports")"; then
        note "--shards $shards, $METRICS_AT services, traffic on each: GET /metrics $scrape; RSS then $(( $(rss_kib "$DPID") / 1024 )) MiB"
      else
        note "--shards $shards: the /metrics scrape failed: $scrape"
      fi
    else
      note "--shards $shards: registering $METRICS_AT services for the /metrics run failed: $(echo "$out" | head -c 300)"
    fi
    stop_daemon "$shards"
  done
fi

# ---------------------------------------------------------------------------- register latency
LAT_JSON="$TMP/latency.jsonl"
: >"$LAT_JSON"
if [ "$LAT_COUNT" -gt 0 ]; then
  for shards in $SHARDS; do
    log "== register->serving latency, --shards $shards, $LAT_COUNT registrations after $LAT_BASE"
    if [ "$LAT_BASE" -gt 0 ]; then
      start_daemon "$shards" "$IDLE_RANGE" || continue
      if ! out="$(timeout 900 python3 "$HERE/admin_load.py" register "$TMP/d/admin.sock" "$LAT_BASE" \
          "127.0.0.1:$BACKEND_PORT" --prefix base- --fields "$RECORD_FIELDS")"; then
        note "latency run (--shards $shards): registering the $LAT_BASE services before it failed: $(echo "$out" | head -c 300)"
        stop_daemon "$shards"
        continue
      fi
      note "--shards $shards: the latency run's $LAT_COUNT registrations came after $LAT_BASE services were registered"
    else
      start_daemon "$shards" "$LAT_RANGE" || continue
    fi
    if out="$(timeout 600 python3 "$HERE/admin_load.py" latency "$TMP/d/admin.sock" "$LAT_COUNT" \
        "127.0.0.1:$BACKEND_PORT" --prefix lat --path / --fields "$RECORD_FIELDS")"; then :; else
      note "latency run (--shards $shards) reported failures: $(echo "$out" | head -c 600)"
    fi
    [ -n "$out" ] && echo "{\"shards\": $shards, \"result\": $out}" >>"$LAT_JSON"
    kill -0 "$DPID" 2>/dev/null || note "daemon --shards $shards died during the latency run"
    stop_daemon "$shards"
  done
fi

# ---------------------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
[ "$RECORD_FIELDS" = "{}" ] || note "every record carried: \`$RECORD_FIELDS\`; daemon flags: \`$DAEMON_ARGS\`"
cp "$CSV" "$RESULTS_DIR/$RESULTS_NAME.csv"
cp "$LAT_JSON" "$RESULTS_DIR/$LAT_NAME"
python3 - "$CSV" "$LAT_JSON" "$NOTES" "$NOFILE" >"$RESULTS_DIR/$RESULTS_NAME.md" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("## Memory with idle services, and register -> serving latency")
print()
print("VmRSS summed over the process (all threads) after registering the services over one")
print("keep-alive admin connection, no traffic; HAProxy with the same number of frontend+backend")
print(f"pairs as the reference (nbthread = shards). RLIMIT_NOFILE was {sys.argv[4]}.")
print("Command: `benchmarks/rss.sh`.")
print()
print("| proxy | shards/threads | services | RSS MiB | KiB per service | open FDs | registration time |")
print("|---|---:|---:|---:|---:|---:|---:|")
base = {}
for r in rows:
    if r["what"] == "icaht" and r["services"] == "0":
        base[r["shards"]] = int(r["rss_kib"])
for r in rows:
    if r["what"] not in ("icaht", "haproxy"):
        continue
    n, rss = int(r["services"]), int(r["rss_kib"])
    b = base.get(r["shards"]) if r["what"] == "icaht" else None
    per = f"{(rss - b) / n:.1f}" if b is not None and n >= 100 else "–"
    reg = f"{r['register_s']} s (p99 {r['register_p99_ms']} ms)" if r["register_s"] else "–"
    name = "icaht-sidecar" if r["what"] == "icaht" else "HAProxy 2.6"
    print(f"| {name} | {r['shards']} | {n:,} | {rss / 1024:.1f} | {per} | {r['fds']} | {reg} |")
print()
stops = [r for r in rows if r["what"] == "stop"]
if stops:
    print("SIGTERM to exit with all services registered: " + ", ".join(
        f"{s['register_s']} ms (--shards {s['shards']}, {int(s['services']):,} services)"
        for s in stops) + ".")
    print()
lat = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
if lat:
    print("Register -> serving: per registration, the POST is written on a keep-alive admin")
    print("connection; after its 201 a new TCP connection to the allocated port sends `GET /` and")
    print("the time to the first byte of the proxied response is taken (the first request also")
    print("opens the upstream connection). A refused connect after the 201 would break the")
    print("\"serves on every shard when register returns\" contract and is counted.")
    print()
    print("| shards | registrations | POST sent → first byte p50 / p99 / max | 201 → first byte p50 / p99 | admin round trip p50 / p99 | refused after 201 | failed | non-200 |")
    print("|---:|---:|---|---|---|---:|---:|---:|")
    for l in lat:
        r = l["result"]
        a, b, c = r["post_to_first_byte"], r["response_to_first_byte"], r["admin_round_trip"]
        print(f"| {l['shards']} | {r['count']} | {a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} ms | "
              f"{b['p50_ms']} / {b['p99_ms']} ms | {c['p50_ms']} / {c['p99_ms']} ms | "
              f"{r['registrations_with_refused_connect']} | {r['failed']} | {r['non_200']} |")
    print()
    print("Targets: 10,000 idle services ≤ 100 MiB RSS with 2 shards; register→serving p99 ≤ 5 ms.")
    print()
notes = open(sys.argv[3]).read().strip()
if notes:
    print("Problems seen during the run:")
    print()
    print(notes)
    print()
PY
cat "$RESULTS_DIR/$RESULTS_NAME.md"
echo "results: $RESULTS_DIR/$RESULTS_NAME.{md,csv} $RESULTS_DIR/$LAT_NAME"
