#!/usr/bin/env bash
# Side-by-side load test: icaht-sidecar (1 shard) vs nginx (1 worker) vs HAProxy (1 thread),
# with bare io_uring L4 relays as the floor, all on loopback.
#
# One run: starts a backend (nginx, 1 worker, fixed bodies of 5 B, 16 KiB and 1 MiB from files,
# POST /post -> "ok\n"), then each proxy in turn pinned to PROXY_CPU (default 0) with the backend
# and wrk pinned to LOAD_CPU (default 1), and for every body size and connection count runs a
# warm-up and a measured `wrk --latency`. Per run it records req/s, p50/p99, and the proxy's CPU
# per request: utime and stime from /proc/PID/stat (fields 14, 15) summed over the proxy's
# processes (all threads), over the measured run, divided by the requests wrk completed.
# Extra scenarios: POST 16 KiB (post.lua) and 5 B spread over 100 services (many_services.lua).
#
# Writes benchmarks/results/latest.{md,csv,png} (RESULTS_DIR overrides) and prints the tables.
#
# Environment (all optional):
#   QUICK=1              1 s warm-up + 2 s measured runs (default 2 s + 8 s)
#   WARMUP=S DURATION=S  override the durations; REPEAT=N runs per case (median is reported)
#   PROXIES="icaht nginx haproxy relay splice direct"   which targets, in this order; two more
#                        can be named (not in the default):
#     icaht_base         the same icaht setup running a second binary, SIDECAR_BASE (e.g. a build of
#                        an earlier commit: an A/B of a change, measured interleaved with icaht)
#     icaht_rid          the icaht binary with its service record extended by RID_FIELDS (default
#                        '"request_id": {}', request IDs on): the cost of a feature, interleaved
#                        Each runs as its own daemon with its own ports, admin socket and state dir.
#   SIZES="5B 16KiB 1MiB" (1KiB too)  CONNS="1 64"  SCENARIOS="matrix post many"
#   MANY_SERVICES=100    services for the many-services scenario
#   PROXY_CPU=0 LOAD_CPU=1  BENCH_PORT_BASE=30000 (uses BASE+80 .. BASE+599; BASE+600 .. +699 too
#                        for icaht_rid's many-services set)
#   BUILD_DIR=build-bench  SIDECAR=path/to/icaht-sidecar  KEEP_TMP=1 (keep configs, logs, wrk output)
#   SIDECAR_BASE=path/to/icaht-sidecar  (required for icaht_base; never built by this script)
#   RID_FIELDS='"request_id": {}'  (JSON members added to icaht_rid's service records)
#   RID_ARGS='--access-log /tmp/a.log'  (daemon flags added to icaht_rid's, after the defaults)
#   WRK_HEADERS='Name: value|Name: value'  (request headers wrk and the checks send to every
#                        target, e.g. a bearer token and an Origin: see edge_policy.sh)
#   RELAY_SRC / SPLICE_SRC: the bare relays' sources (default ../shared/tools/*.c)
#   PERF_DIR=/tmp/prof   a `perf record -g` (cpu-clock, PERF_FREQ=2999 Hz) of each target's processes
#                        over each measured run, as PERF_DIR/TARGET.SIZE.cCONNS.rRUN.data (perf's own
#                        cost lands in the CPU columns: a run for profiles, not for ratios; common.sh's
#                        run_case, so enriched.sh, tls.sh and the others take it too)
#   Response caching (cache.sh), all off by default:
#   BACKEND_CACHE_CONTROL=1  the backend adds `Cache-Control: max-age=3600` (storable answers)
#   NGINX_CACHE=1        nginx's service location caches: proxy_cache in NGINX_CACHE_DIR (default
#                        a fresh dir under /dev/shm, which must be a tmpfs), proxy_cache_valid
#                        200 1h, sendfile on, and `X-Cache-Status: $upstream_cache_status`
#   EXPECT_HIT='icaht_rid:x-cache nginx:x-cache-status'  PROXY:HEADER pairs: before measuring,
#                        a repeated GET of every size through PROXY must carry HEADER: HIT, or
#                        the script stops
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
REPORT="$HERE/report.py"

PROXIES="${PROXIES:-icaht nginx haproxy relay splice direct}"
SIZES="${SIZES:-5B 16KiB 1MiB}"
CONNS="${CONNS:-1 64}"
SCENARIOS="${SCENARIOS:-matrix post many}"
MANY="${MANY_SERVICES:-100}"
PROXY_CPU="${PROXY_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
BASE="${BENCH_PORT_BASE:-30000}"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
SIDECAR="${SIDECAR:-$BUILD_DIR/src/icaht-sidecar}"
SIDECAR_BASE="${SIDECAR_BASE:-}"
RID_FIELDS_DEFAULT='"request_id": {}'
RID_FIELDS="${RID_FIELDS:-$RID_FIELDS_DEFAULT}"
RESULTS_DIR="${RESULTS_DIR:-$REPO/benchmarks/results}"
RELAY_SRC="${RELAY_SRC:-$REPO/../shared/tools/uring_relay_ms.c}"
SPLICE_SRC="${SPLICE_SRC:-$REPO/../shared/tools/uring_splice_relay.c}"

BACKEND_PORT=$((BASE + 80))
ICAHT_PORT=$((BASE + 101))
NGINX_PORT=$((BASE + 110))
HAPROXY_PORT=$((BASE + 120))
RELAY_PORT=$((BASE + 130))
SPLICE_PORT=$((BASE + 140))
ICAHT_OPS=$((BASE + 190))
NGINX_MANY=$((BASE + 200))
HAPROXY_MANY=$((BASE + 300))
ICAHT_MANY=$((BASE + 400))
# The A/B variants of icaht (see PROXIES above): own service port, ops port, many-services set.
ICAHT_BASE_PORT=$((BASE + 102))
ICAHT_RID_PORT=$((BASE + 103))
ICAHT_BASE_OPS=$((BASE + 191))
ICAHT_RID_OPS=$((BASE + 192))
ICAHT_BASE_MANY=$((BASE + 500))
ICAHT_RID_MANY=$((BASE + 600))

# die, log, processes, CPU accounting, the backend, icaht daemons, run_case: shared with tls.sh.
# shellcheck source=common.sh
source "$HERE/common.sh"
durations_from_env 1

for v in WARMUP DURATION REPEAT MANY PROXY_CPU LOAD_CPU BASE; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[ "$MANY" -ge 1 ] && [ "$MANY" -le 100 ] || die "MANY_SERVICES must be 1..100"
[ "$BASE" -ge 1024 ] && [ $((BASE + 699)) -le 65535 ] || die "BENCH_PORT_BASE out of range"
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs: proxy and load share a CPU"

# ---------------------------------------------------------------------------- tools
need_tools nginx haproxy wrk taskset python3 gcc curl ss -- gnuplot

if [[ " $PROXIES " == *" icaht_base "* ]]; then
  [ -n "$SIDECAR_BASE" ] || die "icaht_base needs SIDECAR_BASE=path/to/icaht-sidecar (the binary to compare against)"
  [ -x "$SIDECAR_BASE" ] || die "SIDECAR_BASE=$SIDECAR_BASE is not an executable"
fi
if [[ " $PROXIES " == *" icaht "* || " $PROXIES " == *" icaht_rid "* ]]; then
  ensure_sidecar
fi

# ---------------------------------------------------------------------------- processes
init_tmp icaht-wrk

# ---------------------------------------------------------------------------- backend
make_bodies
for s in $SIZES; do [ -n "${BODY_SIZE[$s]:-}" ] || die "unknown size '$s' (5B 1KiB 16KiB 1MiB)"; done
start_backend

# ---------------------------------------------------------------------------- proxies
# Each start_X sets PROXY_PID, PROXY_PORT and MANY_PORTS ("" when it has no many-services setup).

# NGINX_CACHE=1: nginx's cache on a memory-backed dir, so that its hits cost no disk I/O.
NGINX_CACHE_CONF=""; NGINX_CACHE_LOC=""
if [ "${NGINX_CACHE:-0}" = 1 ] && [[ " $PROXIES " == *" nginx "* ]]; then
  if [ -n "${NGINX_CACHE_DIR:-}" ]; then
    mkdir -p "$NGINX_CACHE_DIR"
  else
    NGINX_CACHE_DIR="$(mktemp -d /dev/shm/icaht-wrk-nginx-cache.XXXXXX)"
    EXTRA_TMP+=("$NGINX_CACHE_DIR")
  fi
  case "$(stat -f -c %T "$NGINX_CACHE_DIR")" in
    tmpfs|ramfs) ;;
    *) die "NGINX_CACHE_DIR=$NGINX_CACHE_DIR is on $(stat -f -c %T "$NGINX_CACHE_DIR"), not a tmpfs" ;;
  esac
  NGINX_CACHE_CONF="sendfile on;
  proxy_cache_path $NGINX_CACHE_DIR levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h use_temp_path=off;"
  # shellcheck disable=SC2016  # $upstream_cache_status is nginx's variable
  NGINX_CACHE_LOC='proxy_cache bench; proxy_cache_valid 200 1h; add_header X-Cache-Status $upstream_cache_status;'
fi

write_nginx_proxy_conf() {
  local i
  {
    nginx_common nginx
    echo "http {"
    [ -z "$NGINX_CACHE_CONF" ] || echo "  $NGINX_CACHE_CONF"
    echo "  access_log off;"
    nginx_proxy_http
    cat <<EOF
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / { proxy_pass http://backend; $NGINX_CACHE_LOC }
  }
EOF
    for i in $(seq 0 $((MANY - 1))); do
      echo "  upstream svc$i { server 127.0.0.1:$BACKEND_PORT; keepalive 4; keepalive_requests 10000000; }"
      echo "  server { listen 127.0.0.1:$((NGINX_MANY + i)); location / { proxy_pass http://svc$i; } }"
    done
    echo "}"
  } >"$TMP/nginx.conf"
}

start_nginx() {
  write_nginx_proxy_conf
  check_ports_free "$NGINX_PORT" $(seq "$NGINX_MANY" $((NGINX_MANY + MANY - 1)))
  start_bg "$TMP/nginx.log" taskset -c "$PROXY_CPU" nginx -p "$TMP" -e "$TMP/nginx.error.log" -c "$TMP/nginx.conf"
  PROXY_PID=$LAST_PID; PROXY_PORT=$NGINX_PORT
  MANY_PORTS="$NGINX_MANY-$((NGINX_MANY + MANY - 1))"
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}

start_haproxy() {
  local i
  {
    haproxy_head "$TMP/haproxy.pid"
    cat <<EOF
frontend main
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend main
backend main
  server backend 127.0.0.1:$BACKEND_PORT
EOF
    for i in $(seq 0 $((MANY - 1))); do
      printf 'frontend svc%d\n  bind 127.0.0.1:%d\n  default_backend svc%d\nbackend svc%d\n  server backend 127.0.0.1:%d\n' \
        "$i" $((HAPROXY_MANY + i)) "$i" "$i" "$BACKEND_PORT"
    done
  } >"$TMP/haproxy.cfg"
  check_ports_free "$HAPROXY_PORT" $(seq "$HAPROXY_MANY" $((HAPROXY_MANY + MANY - 1)))
  haproxy -c -q -f "$TMP/haproxy.cfg" || die "bad haproxy config $TMP/haproxy.cfg"
  start_bg "$TMP/haproxy.log" taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy.cfg"
  PROXY_PID=$LAST_PID; PROXY_PORT=$HAPROXY_PORT
  MANY_PORTS="$HAPROXY_MANY-$((HAPROXY_MANY + MANY - 1))"
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}

# Every icaht target (icaht, icaht_base, icaht_rid) is its own daemon (common.sh's
# start_icaht_daemon) with its own service port, ops port and many-services set.

# icaht_record NAME SERVICE PORT: the service record JSON for target NAME.
icaht_record() {
  local extra=""
  [ "$1" = icaht_rid ] && extra=",$RID_FIELDS"
  printf '{"name":"%s","upstreams":["127.0.0.1:%s"],"port":%s%s}' "$2" "$BACKEND_PORT" "$3" "$extra"
}

start_icaht() { start_icaht_daemon icaht "$SIDECAR" "$ICAHT_PORT" "$ICAHT_OPS" "$ICAHT_MANY"; }
start_icaht_base() {
  start_icaht_daemon icaht_base "$SIDECAR_BASE" "$ICAHT_BASE_PORT" "$ICAHT_BASE_OPS" "$ICAHT_BASE_MANY"
}
start_icaht_rid() {
  # shellcheck disable=SC2086  # RID_ARGS is a list of flags
  start_icaht_daemon icaht_rid "$SIDECAR" "$ICAHT_RID_PORT" "$ICAHT_RID_OPS" "$ICAHT_RID_MANY" \
    ${RID_ARGS:-} || return 1
  # RID_PORT: the load goes to this port of icaht_rid's instead (egress.sh: its egress listener).
  if [ -n "${RID_PORT:-}" ]; then
    PROXY_PORT=$RID_PORT
    wait_listen "$PROXY_PORT" "$PROXY_PID"
  fi
}

# icaht_register_many NAME MANY_BASE: registers the many-services set on a running icaht target
# (only when that scenario runs).
icaht_register_many() {
  local name="$1" first="$2" i code
  for i in $(seq 0 $((MANY - 1))); do
    code="$(icaht_admin "$name" -o /dev/null -w '%{http_code}' -X POST http://icaht/v1/services \
      -d "$(icaht_record "$name" "svc$i" $((first + i)))")" || code=000
    [ "$code" = 201 ] || { note "$name: registering svc$i returned $code"; return 1; }
  done
  MANY_PORTS="$first-$((first + MANY - 1))"
}

build_relay() {  # build_relay NAME SRC -> $TMP/NAME
  [ -f "$2" ] || { note "$1: $2 not found, skipped"; return 1; }
  [ -x "$TMP/$1" ] || gcc -O2 -o "$TMP/$1" "$2" -luring || { note "$1: build failed"; return 1; }
}

start_relay() {
  build_relay uring_relay_ms "$RELAY_SRC" || return 1
  check_ports_free "$RELAY_PORT"
  start_bg "$TMP/relay.log" taskset -c "$PROXY_CPU" "$TMP/uring_relay_ms" "$RELAY_PORT" "$BACKEND_PORT"
  PROXY_PID=$LAST_PID; PROXY_PORT=$RELAY_PORT; MANY_PORTS=""
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}

start_splice() {
  build_relay uring_splice_relay "$SPLICE_SRC" || return 1
  check_ports_free "$SPLICE_PORT"
  start_bg "$TMP/splice.log" taskset -c "$PROXY_CPU" "$TMP/uring_splice_relay" "$SPLICE_PORT" "$BACKEND_PORT"
  PROXY_PID=$LAST_PID; PROXY_PORT=$SPLICE_PORT; MANY_PORTS=""
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}

start_direct() { PROXY_PID=""; PROXY_PORT=$BACKEND_PORT; MANY_PORTS=""; }

# ---------------------------------------------------------------------------- measuring
CSV_TMP="$TMP/results.csv"
python3 -c "import sys; sys.path.insert(0, '$HERE'); import report; print(','.join(report.COLUMNS))" >"$CSV_TMP"

# verify PROXY: every body through the proxy is 200 with the right length, POST works.
# target_headers: the -H arguments (one per line) every target's requests carry.
target_headers() {
  local h
  [ -n "${WRK_HEADERS:-}" ] || return 0
  IFS='|' read -ra hs <<<"$WRK_HEADERS"
  for h in "${hs[@]}"; do printf -- '-H\n%s\n' "$h"; done
}

verify() {
  local p="$1" s got
  local -a hdr=()
  mapfile -t hdr < <(target_headers)
  for s in $SIZES; do
    got="$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 10 "${hdr[@]}" "http://127.0.0.1:$PROXY_PORT/$s" || echo "curl-failed")"
    [ "$got" = "200 ${BODY_SIZE[$s]}" ] || note "$p: GET /$s answered '$got', expected '200 ${BODY_SIZE[$s]}'"
  done
  got="$(curl -s -w ' %{http_code}' --max-time 10 "${hdr[@]}" --data-binary @"$TMP/post.body" "http://127.0.0.1:$PROXY_PORT/post" || echo "curl-failed")"
  [ "$got" = $'ok\n 200' ] || note "$p: POST /post (16 KiB) answered '$got'"
}

# verify_hit PROXY: when EXPECT_HIT names PROXY with a header, a GET of every size (verify's
# stored it) must come back 200 with that header saying HIT; stops the script otherwise, since
# a run of misses would be measured as hits.
verify_hit() {
  local p="$1" pair hname="" s i status
  local -a hdr=()
  for pair in ${EXPECT_HIT:-}; do [ "${pair%%:*}" = "$p" ] && hname="${pair#*:}"; done
  [ -n "$hname" ] || return 0
  mapfile -t hdr < <(target_headers)
  for s in $SIZES; do
    for i in $(seq 20); do  # the entry may be stored just after the answer's last byte
      status="$(curl -s -D - -o /dev/null --max-time 10 "${hdr[@]}" "http://127.0.0.1:$PROXY_PORT/$s" |
        tr -d '\r' | awk -v h="$hname" 'NR == 1 { code = $2 }
          tolower($1) == tolower(h) ":" { v = $2 } END { print code " " v }' || true)"
      [ "$status" = "200 HIT" ] && break
      sleep 0.1
    done
    [ "$status" = "200 HIT" ] || die "$p: GET /$s answered '$status' (status, $hname), expected '200 HIT'"
  done
  log "$p: GET of every size is a cache hit ($hname: HIT)"
}
# ones cost nothing), and checks each answers correctly. Sets P_PID, P_PORT, P_MANY.
start_all() {
  local p
  for p in $PROXIES; do
    PROXY_PID=""; PROXY_PORT=""; MANY_PORTS=""
    if ! "start_$p"; then
      note "$p: failed to start; log: $(tail -5 "$TMP/$p.log" 2>/dev/null | tr '\n' ' ')"
      [ -n "${PROXY_PID:-}" ] && stop_pid "$PROXY_PID"
      P_DEAD[$p]=1
      continue
    fi
    if [[ " $SCENARIOS " == *" many "* ]]; then
      case "$p" in
        icaht) icaht_register_many icaht "$ICAHT_MANY" || MANY_PORTS="" ;;
        icaht_base) icaht_register_many icaht_base "$ICAHT_BASE_MANY" || MANY_PORTS="" ;;
        icaht_rid) icaht_register_many icaht_rid "$ICAHT_RID_MANY" || MANY_PORTS="" ;;
      esac
    fi
    P_PID[$p]="$PROXY_PID"; P_PORT[$p]="$PROXY_PORT"; P_MANY[$p]="$MANY_PORTS"
    log "== $p (pid ${PROXY_PID:-none}, port $PROXY_PORT)"
    verify "$p"
    verify_hit "$p"
  done
}

# measure_case CASE: one measured run of CASE ("matrix SIZE CONNS", "post" or "many") for
# every target, back to back, so a change in the machine's speed hits all of them alike.
measure_case() {
  local p kind size conns
  local -a hdr
  read -r kind size conns <<<"$1"
  for p in $PROXIES; do
    use "$p" || continue
    STALLED=0
    mapfile -t hdr < <(target_headers)
    case "$kind" in
      matrix)
        run_case "$p" matrix "$size" "$conns" 1 "http://127.0.0.1:$PROXY_PORT/$size" "${hdr[@]}" || true ;;
      post)
        run_case "$p" post POST16KiB 64 1 "http://127.0.0.1:$PROXY_PORT/post" -s "$HERE/post.lua" || true ;;
      many)
        [ -n "$MANY_PORTS" ] || continue
        export PORTS="$MANY_PORTS"
        run_case "$p" many 5B_100svc "$MANY" "$MANY" \
          "http://127.0.0.1:${MANY_PORTS%-*}/5B" -s "$HERE/many_services.lua" || true ;;
    esac
    if [ "$STALLED" = 1 ] && [ -n "$PROXY_PID" ]; then
      # A stalled target may spin on the shared CPU and skew everyone else's runs.
      note "$p: stopped after a run in which no request completed; its later cases are skipped"
      stop_pid "$PROXY_PID"
      P_DEAD[$p]=1
    fi
  done
}
LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
TREE_AT_START="$(tree_state "$REPO")"
START_TS="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for p in $PROXIES; do
  case "$p" in icaht|icaht_base|icaht_rid|nginx|haproxy|relay|splice|direct) ;; *) die "unknown proxy '$p'";; esac
done
CASES=()
if [[ " $SCENARIOS " == *" matrix "* ]]; then
  for s in $SIZES; do for c in $CONNS; do CASES+=("matrix $s $c"); done; done
fi
[[ " $SCENARIOS " == *" post "* ]] && CASES+=(post)
[[ " $SCENARIOS " == *" many "* ]] && CASES+=(many)
start_all
for RUN in $(seq 1 "$REPEAT"); do
  for c in "${CASES[@]}"; do measure_case "$c"; done
done
stop_all
LOAD_AT_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
cp "$CSV_TMP" "$RESULTS_DIR/latest.csv"
{
  echo "## Side-by-side: icaht-sidecar vs nginx vs HAProxy (loopback)"
  echo
  echo "Run $START_TS on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r)."
  echo "Tree at the start of the run: $TREE_AT_START."
  [ -x "$SIDECAR" ] && echo "icaht-sidecar: $SIDECAR, built $(date -r "$SIDECAR" -u +%Y-%m-%dT%H:%M:%SZ)$(tree_of "$SIDECAR") (tools/bench.sh rebuilds it first; run.sh alone does not)."
  if [[ " $PROXIES " == *" icaht_base "* ]]; then
    echo "icaht_base: the same setup running \`$SIDECAR_BASE\`, built $(date -r "$SIDECAR_BASE" -u +%Y-%m-%dT%H:%M:%SZ)$(tree_of "$SIDECAR_BASE")."
  fi
  if [[ " $PROXIES " == *" icaht_rid "* ]]; then
    echo "icaht_rid: the icaht binary, its service record(s) with \`$RID_FIELDS\` added."
  fi
  if [ "${BACKEND_CACHE_CONTROL:-0}" = 1 ]; then
    echo "The backend's answers carry \`Cache-Control: max-age=3600\`."
  fi
  if [ -n "$NGINX_CACHE_LOC" ]; then
    echo "nginx caches: \`proxy_cache_path\` on $(stat -f -c %T "$NGINX_CACHE_DIR") ($NGINX_CACHE_DIR), \`keys_zone=bench:16m\`,"
    echo "\`proxy_cache_valid 200 1h\`, \`sendfile on\`; every measured request is a hit (checked before measuring)."
  fi
  echo "Command: \`QUICK=${QUICK:-0} WARMUP=$WARMUP DURATION=$DURATION REPEAT=$REPEAT PROXIES=\"$PROXIES\" SIZES=\"$SIZES\" CONNS=\"$CONNS\" SCENARIOS=\"$SCENARIOS\"$( [ -n "$SIDECAR_BASE" ] && echo " SIDECAR_BASE=$SIDECAR_BASE") benchmarks/wrk/run.sh\`"
  echo "($WARMUP s warm-up + $DURATION s measured per case, median of $REPEAT run(s); load average at start $LOAD_AT_START, at end $LOAD_AT_END)."
  echo
  echo "All targets run at once, pinned to CPU $PROXY_CPU (\`taskset\`), and only one is loaded at a time: each case is"
  echo "measured for every target back to back (interleaved), so drift in this shared machine's speed hits them alike."
  echo "The backend (nginx 1 worker, static files, sendfile)"
  echo "and \`wrk -t1\` share CPU $LOAD_CPU. All keep-alive on both sides. CPU µs/req = (utime+stime of all the"
  echo "proxy's processes over the measured run) / requests; \"proxy CPU\" is the share of one CPU it used, so"
  echo "below ~95% the load side, not the proxy, limited req/s. Versions: $(nginx -v 2>&1 | sed 's/.*: //'),"
  echo "$(haproxy -v 2>/dev/null | head -1 | awk '{print "HAProxy " $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')."
  echo "Configs: nginx \`proxy_http_version 1.1\`, upstream \`keepalive 64\`, \`proxy_buffers 8 16k\`,"
  echo "\`client_body_buffer_size 64k\`, \`proxy_max_temp_file_size 0\`; HAProxy \`nbthread 1\`, \`mode http\`, \`http-reuse always\`;"
  echo "icaht-sidecar \`--shards 1 --access-log off\`. The relays are the io_uring floors from ../shared/tools"
  echo "(L4, no HTTP work): \`uring_relay_ms\` (multishot recv + buffer ring) and \`uring_splice_relay\`."
  echo "Many-services: $MANY services on $MANY ports, one upstream pool each, \`wrk -t$MANY -c$MANY\` with"
  echo "many_services.lua (one connection per service; the 100-thread client is heavier, so compare CPU/req)."
  echo
  if [ -s "$NOTES" ]; then echo "Problems seen during the run:"; echo; cat "$NOTES"; echo; fi
} >"$TMP/header.md"
PNG="$RESULTS_DIR/latest.png"
command -v gnuplot >/dev/null || PNG=-
python3 "$REPORT" report "$RESULTS_DIR/latest.csv" "$RESULTS_DIR/latest.md" "$PNG" "$TMP/header.md"
echo
echo "results: $RESULTS_DIR/latest.md $RESULTS_DIR/latest.csv $( [ "$PNG" != - ] && echo "$PNG")"
