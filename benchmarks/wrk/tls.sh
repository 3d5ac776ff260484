#!/usr/bin/env bash
# TLS side by side (issue 13): icaht-sidecar (1 shard) vs nginx (1 worker) vs HAProxy (1 thread),
# each terminating TLS with the same ECDSA P-256 certificate in front of run.sh's plain backend,
# all on loopback, pinned as in run.sh.
#
# One run: makes a CA and a server certificate (ECDSA P-256, for 127.0.0.1 and localhost, the
# leaf alone served) with the openssl CLI, starts run.sh's backend (nginx, 1 worker, plain HTTP,
# pinned to LOAD_CPU with wrk), then the proxies pinned to PROXY_CPU, each with TLS listeners in
# front of the same backend (TLS 1.2 and 1.3; upstream keep-alive as in run.sh):
#   PORT    session tickets on (stateless tickets; no server-side session cache anywhere)
#   PORT+1  tickets and session caches off: every new connection is a full handshake
#   PORT+2  (nginx, HAProxy) PORT's settings plus a log of whether each session was resumed
# Before measuring it checks each proxy and fails when a check fails: curl --cacert gets the
# backend's exact bodies on PORT and PORT+1; `openssl s_client` shows TLSv1.3, the suite and
# group, a resumed session on PORT and none on PORT+1; a 1 s probe counts how many of wrk's new
# connections resume (icaht's icaht_tls_handshakes_total, the others' PORT+2 logs).
# Then, REPEAT times, each case for every proxy back to back (interleaved, as run.sh):
#   5B, 1MiB  kept-alive TLS: wrk -t1 -c$CONNS https://127.0.0.1:PORT/SIZE; req/s, p50/p99,
#             the proxy's user+sys CPU µs per request (/proc/PID/stat, common.sh's run_case)
#   new       a new TLS connection per request: wrk -H "Connection: close" on PORT, GET 5 B.
#             wrk keeps its SSL object across reconnects and offers the last session again,
#             so part of these handshakes are resumptions (the probe says how many)
#   full      the same on PORT+1: full handshakes only (ECDHE X25519 + ECDSA P-256 signature)
# For new and full, req/s is handshakes/s and CPU µs/req the proxy's CPU per handshake.
# Exits 1 when any run had non-2xx answers, socket errors or another problem (listed).
#
# Writes benchmarks/results/tls.{md,csv} (RESULTS_DIR overrides) and prints the tables.
#
# Environment (all optional):
#   QUICK=1              1 s warm-up + 2 s measured runs (default 2 s + 8 s)
#   WARMUP=S DURATION=S  override the durations; REPEAT=N runs per case (median is reported)
#   PROXIES="icaht nginx haproxy"  CASES="5B 1MiB new full"
#   CONNS=64 (kept-alive cases)  HS_CONNS=64 (new and full)
#   PROXY_CPU=0 LOAD_CPU=1  BENCH_PORT_BASE=30000 (uses BASE+80, BASE+150 .. +172, BASE+193)
#   BUILD_DIR=build-bench  SIDECAR=path/to/icaht-sidecar  KEEP_TMP=1 (keep certs, configs, logs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
REPORT="$HERE/report.py"

PROXIES="${PROXIES:-icaht nginx haproxy}"
CASES="${CASES:-5B 1MiB new full}"
CONNS="${CONNS:-64}"
HS_CONNS="${HS_CONNS:-64}"
PROXY_CPU="${PROXY_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
BASE="${BENCH_PORT_BASE:-30000}"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
SIDECAR="${SIDECAR:-$BUILD_DIR/src/icaht-sidecar}"
RESULTS_DIR="${RESULTS_DIR:-$REPO/benchmarks/results}"

BACKEND_PORT=$((BASE + 80))
ICAHT_PORT=$((BASE + 150))    # +1: tickets off (a second service, "bench-full")
NGINX_PORT=$((BASE + 160))    # +1: tickets off, +2: resumption log
HAPROXY_PORT=$((BASE + 170))  # +1: tickets off, +2: resumption log
ICAHT_OPS=$((BASE + 193))

# shellcheck source=common.sh
source "$HERE/common.sh"
durations_from_env 1

for v in WARMUP DURATION REPEAT CONNS HS_CONNS PROXY_CPU LOAD_CPU BASE; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[ "$BASE" -ge 1024 ] && [ $((BASE + 599)) -le 65535 ] || die "BENCH_PORT_BASE out of range"
for p in $PROXIES; do
  case "$p" in icaht|nginx|haproxy) ;; *) die "unknown proxy '$p' (icaht nginx haproxy)";; esac
done
for c in $CASES; do
  case "$c" in 5B|1MiB|new|full) ;; *) die "unknown case '$c' (5B 1MiB new full)";; esac
done
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs: proxy and load share a CPU"

need_tools nginx haproxy wrk taskset python3 curl ss openssl
[[ " $PROXIES " != *" icaht "* ]] || ensure_sidecar
init_tmp icaht-tls

# ---------------------------------------------------------------------------- certificates
# A P-256 CA and a P-256 server certificate it signed, for 127.0.0.1 and localhost. HAProxy
# takes the certificate and key in one file.
CERTS="$TMP/certs"
mkdir -p "$CERTS"
(
  cd "$CERTS"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
  openssl req -x509 -new -key ca.key -subj "/CN=icaht bench CA" -days 2 -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
  openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
  cat server.pem server.key >server-and-key.pem
  openssl verify -CAfile ca.pem server.pem
) >"$TMP/certs.log" 2>&1 || { cat "$TMP/certs.log" >&2; die "making the certificates failed"; }
CA="$CERTS/ca.pem" CERT="$CERTS/server.pem" KEY="$CERTS/server.key"

# ---------------------------------------------------------------------------- backend, proxies
make_bodies
start_backend

# icaht_record NAME SERVICE PORT: run.sh's record plus tls; "bench-full" has tickets off.
icaht_record() {
  local tickets=true
  [ "$2" = bench-full ] && tickets=false
  printf '{"name":"%s","upstreams":["127.0.0.1:%s"],"port":%s,"tls":{"cert_file":"%s","key_file":"%s","session_tickets":%s}}' \
    "$2" "$BACKEND_PORT" "$3" "$CERT" "$KEY" "$tickets"
}

start_icaht() {
  local code
  start_icaht_daemon icaht "$SIDECAR" "$ICAHT_PORT" "$ICAHT_OPS" 0 || return 1
  check_ports_free $((ICAHT_PORT + 1))
  code="$(icaht_admin icaht -o "$TMP/icaht.register-full.json" -w '%{http_code}' -X POST \
    http://icaht/v1/services -d "$(icaht_record icaht bench-full $((ICAHT_PORT + 1)))")"
  [ "$code" = 201 ] || { note "icaht: register bench-full returned $code"; return 1; }
}

# nginx: run.sh's proxy settings, `listen ... ssl` with the certificate (no session cache, as
# nginx's default); tickets on (nginx's default) except on PORT+1.
start_nginx() {
  cat >"$TMP/nginx.conf" <<EOF
$(nginx_common nginx)
http {
  access_log off;
$(nginx_proxy_http)
  ssl_certificate $CERT;
  ssl_certificate_key $KEY;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets on;
  log_format resumed '\$ssl_session_reused';
  server {
    listen 127.0.0.1:$NGINX_PORT ssl backlog=4096;
    location / { proxy_pass http://backend; }
  }
  server {
    listen 127.0.0.1:$((NGINX_PORT + 1)) ssl backlog=4096;
    ssl_session_tickets off;
    ssl_session_cache off;
    location / { proxy_pass http://backend; }
  }
  server {
    listen 127.0.0.1:$((NGINX_PORT + 2)) ssl;
    access_log $TMP/nginx.probe.log resumed;
    location / { proxy_pass http://backend; }
  }
}
EOF
  check_ports_free "$NGINX_PORT" $((NGINX_PORT + 1)) $((NGINX_PORT + 2))
  start_bg "$TMP/nginx.log" taskset -c "$PROXY_CPU" nginx -p "$TMP" -e "$TMP/nginx.error.log" -c "$TMP/nginx.conf"
  PROXY_PID=$LAST_PID; PROXY_PORT=$NGINX_PORT
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}

# HAProxy: run.sh's settings, `bind ... ssl crt` with the certificate and key; no session cache
# (tune.ssl.cachesize 0, as icaht and nginx), tickets on (HAProxy's default) except on PORT+1.
start_haproxy() {
  {
    haproxy_head "$TMP/haproxy.pid" "tune.ssl.cachesize 0" "ssl-default-bind-options ssl-min-ver TLSv1.2"
    cat <<EOF
frontend main
  bind 127.0.0.1:$HAPROXY_PORT ssl crt $CERTS/server-and-key.pem
  default_backend main
frontend full
  bind 127.0.0.1:$((HAPROXY_PORT + 1)) ssl crt $CERTS/server-and-key.pem no-tls-tickets
  default_backend main
frontend probe
  bind 127.0.0.1:$((HAPROXY_PORT + 2)) ssl crt $CERTS/server-and-key.pem
  log stdout format raw local0
  log-format "resumed=%[ssl_fc_is_resumed]"
  default_backend main
backend main
  server backend 127.0.0.1:$BACKEND_PORT
EOF
  } >"$TMP/haproxy.cfg"
  check_ports_free "$HAPROXY_PORT" $((HAPROXY_PORT + 1)) $((HAPROXY_PORT + 2))
  haproxy -c -q -f "$TMP/haproxy.cfg" || die "bad haproxy config $TMP/haproxy.cfg"
  start_bg "$TMP/haproxy.log" taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy.cfg"
  PROXY_PID=$LAST_PID; PROXY_PORT=$HAPROXY_PORT
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}

# ---------------------------------------------------------------------------- checks
GET_5B=$'GET /5B HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'

# s_client PORT ARGS...: one GET /5B over TLS, verifying the certificate against the CA.
s_client() {
  local port="$1"; shift
  printf '%s' "$GET_5B" | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
    -servername localhost -CAfile "$CA" -verify_return_error -ign_eof "$@" 2>&1
}

# resumed_count PROXY: "resumed total" handshakes so far on PORT (icaht) or PORT+2 (the others).
resumed_count() {
  case "$1" in
    icaht) curl -s --max-time 5 "http://127.0.0.1:$ICAHT_OPS/metrics" |
             awk '/^icaht_tls_handshakes_total\{service="bench",/ {t += $2; if (/resumed="true"/) r += $2}
                  END {print r + 0, t + 0}' ;;
    nginx) echo "$(grep -cx r "$TMP/nginx.probe.log" 2>/dev/null || true) $(wc -l <"$TMP/nginx.probe.log" 2>/dev/null || echo 0)" ;;
    haproxy) echo "$(grep -c 'resumed=1' "$TMP/haproxy.log" || true) $(grep -c 'resumed=' "$TMP/haproxy.log" || true)" ;;
  esac
}

# check_tls PROXY: the bodies through PORT and PORT+1, the negotiated parameters, resumption
# where it should (not) happen, and how often wrk resumes; dies on any failure.
check_tls() {
  local p="$1" port s got r0 t0 r1 t1 probe
  for port in "$PROXY_PORT" $((PROXY_PORT + 1)); do
    for s in 5B 1MiB; do
      got="$(curl -sS --cacert "$CA" --max-time 10 -o "$TMP/got.$s" -w '%{http_code}' "https://127.0.0.1:$port/$s" 2>&1)" || true
      [ "$got" = 200 ] && cmp -s "$TMP/got.$s" "$TMP/www/$s" ||
        die "$p: GET https://127.0.0.1:$port/$s answered '$got' with a body other than the backend's"
    done
  done
  s_client "$PROXY_PORT" -brief -sess_out "$TMP/$p.session" >"$TMP/$p.s_client" || true
  grep -q '^Verification: OK' "$TMP/$p.s_client" && grep -q '^hello' "$TMP/$p.s_client" ||
    die "$p: openssl s_client failed: $(head -20 "$TMP/$p.s_client")"
  TLS_PARAMS[$p]="$(grep -E '^(Protocol version|Ciphersuite|Server Temp Key):' "$TMP/$p.s_client" | cut -d: -f2 | xargs | sed 's/ TLS/, TLS/; s/ X25519/, X25519/')"
  got="$(s_client "$PROXY_PORT" -sess_in "$TMP/$p.session")" || true
  grep -q '^Reused, TLSv1.3' <<<"$got" ||
    die "$p: a session from port $PROXY_PORT did not resume there (tickets on): $(grep -iE '^(New|Reused)|error' <<<"$got" | head -3 | tr '\n' ' ')"
  # No ticket arrives there (s_client writes no session), or one that does not resume.
  s_client $((PROXY_PORT + 1)) -sess_out "$TMP/$p.session-full" >/dev/null || true
  got="New, TLSv1.3 (no session ticket)"
  [ ! -e "$TMP/$p.session-full" ] || got="$(s_client $((PROXY_PORT + 1)) -sess_in "$TMP/$p.session-full")" || true
  grep -q '^New, TLSv1.3' <<<"$got" ||
    die "$p: port $((PROXY_PORT + 1)) did not make a new session (tickets and caches should be off): $(grep -iE '^(New|Reused)|error' <<<"$got" | head -3 | tr '\n' ' ')"
  # How often wrk's reconnects resume, on PORT's settings.
  probe=$PROXY_PORT
  [ "$p" = icaht ] || probe=$((PROXY_PORT + 2))
  read -r r0 t0 < <(resumed_count "$p")
  taskset -c "$LOAD_CPU" wrk -t1 -c"$HS_CONNS" -d1s -H "Connection: close" "https://127.0.0.1:$probe/5B" >"$TMP/$p.probe" 2>&1 ||
    die "$p: wrk probe failed: $(tail -3 "$TMP/$p.probe")"
  sleep 0.5  # HAProxy and nginx write their log lines as the connections end
  read -r r1 t1 < <(resumed_count "$p")
  [ $((t1 - t0)) -gt 0 ] || die "$p: the resumption probe counted no handshake"
  RESUMED[$p]="$((r1 - r0)) of $((t1 - t0)) ($(( (r1 - r0) * 100 / (t1 - t0) )) %)"
  log "$p: ${TLS_PARAMS[$p]}; wrk resumed ${RESUMED[$p]}"
}

declare -A TLS_PARAMS RESUMED
start_all() {
  local p
  for p in $PROXIES; do
    PROXY_PID=""; PROXY_PORT=""
    "start_$p" || die "$p failed to start; log: $(tail -5 "$TMP/$p.log" 2>/dev/null | tr '\n' ' ')"
    P_PID[$p]="$PROXY_PID"; P_PORT[$p]="$PROXY_PORT"; P_MANY[$p]=""
    log "== $p (pid $PROXY_PID, ports $PROXY_PORT-$((PROXY_PORT + 1)))"
    check_tls "$p"
  done
}

# ---------------------------------------------------------------------------- measuring
CSV_TMP="$TMP/results.csv"
python3 -c "import sys; sys.path.insert(0, '$HERE'); import report; print(','.join(report.COLUMNS))" >"$CSV_TMP"

# measure_case CASE: one measured run of CASE for every proxy, back to back.
measure_case() {
  local p url
  for p in $PROXIES; do
    use "$p" || continue
    STALLED=0
    url="https://127.0.0.1:$PROXY_PORT"
    case "$1" in
      5B|1MiB) run_case "$p" tls "tls_$1" "$CONNS" 1 "$url/$1" || true ;;
      new) run_case "$p" tls tls_new "$HS_CONNS" 1 "$url/5B" -H "Connection: close" || true ;;
      full) run_case "$p" tls tls_full "$HS_CONNS" 1 "https://127.0.0.1:$((PROXY_PORT + 1))/5B" \
              -H "Connection: close" || true ;;
    esac
    if [ "$STALLED" = 1 ]; then
      note "$p: stopped after a run in which no request completed; its later cases are skipped"
      stop_pid "$PROXY_PID"
      P_DEAD[$p]=1
    fi
  done
}

LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
TREE_AT_START="$(tree_state "$REPO")"
START_TS="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start_all
for RUN in $(seq 1 "$REPEAT"); do
  for c in $CASES; do measure_case "$c"; done
done
stop_all
LOAD_AT_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
cp "$CSV_TMP" "$RESULTS_DIR/tls.csv"
{
  echo "## TLS side by side: icaht-sidecar vs nginx vs HAProxy (loopback, ECDSA P-256)"
  echo
  echo "Command: \`QUICK=${QUICK:-0} WARMUP=$WARMUP DURATION=$DURATION REPEAT=$REPEAT PROXIES=\"$PROXIES\" CASES=\"$CASES\" CONNS=$CONNS HS_CONNS=$HS_CONNS benchmarks/wrk/tls.sh\`"
  echo
  echo "Run $START_TS on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r)."
  echo "Tree at the start of the run: $TREE_AT_START."
  [[ " $PROXIES " != *" icaht "* ]] ||
    echo "icaht-sidecar: $SIDECAR, built $(date -r "$SIDECAR" -u +%Y-%m-%dT%H:%M:%SZ)$(tree_of "$SIDECAR") (tls.sh does not rebuild it)."
  echo "($WARMUP s warm-up + $DURATION s measured per case, median of $REPEAT run(s); load average at start $LOAD_AT_START, at end $LOAD_AT_END.)"
  echo
  echo "Set up as run.sh: every proxy pinned to CPU $PROXY_CPU, one loaded at a time, each case measured for every"
  echo "proxy back to back; the plain-HTTP backend (nginx 1 worker) and \`wrk -t1\` share CPU $LOAD_CPU, so wrk's own"
  echo "TLS work is on the load side. CPU µs/req = (utime+stime of the proxy's processes over the measured"
  echo "run) / requests. One certificate for all: ECDSA P-256 leaf signed by a P-256 CA (openssl CLI), the leaf"
  echo "alone served; TLS 1.2 and 1.3 allowed, no server-side session cache; tickets on except for"
  echo "\"full handshake\" (icaht \`\"session_tickets\": false\`, nginx \`ssl_session_tickets off; ssl_session_cache off\`,"
  echo "HAProxy \`no-tls-tickets\` with \`tune.ssl.cachesize 0\`). icaht \`--shards 1 --access-log off\`, its service"
  echo "record run.sh's plus \`\"tls\": {\"cert_file\", \"key_file\"}\`; nginx \`listen ... ssl\`, \`ssl_protocols TLSv1.2 TLSv1.3\`,"
  echo "run.sh's proxy settings (upstream \`keepalive 64\`); HAProxy \`bind ... ssl crt\`, \`nbthread 1\`, \`http-reuse always\`."
  echo "Versions: $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v 2>/dev/null | head -1 | awk '{print "HAProxy " $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $(openssl version | awk '{print $1, $2}')."
  echo
  echo "Negotiated with \`openssl s_client\` (protocol, suite, key exchange), and how many of a 1 s \`wrk -c$HS_CONNS"
  echo "-H 'Connection: close'\` probe's handshakes were resumptions (tickets on; icaht's \`icaht_tls_handshakes_total\`,"
  echo "nginx's \`\$ssl_session_reused\`, HAProxy's \`ssl_fc_is_resumed\` on a logging twin of the listener):"
  echo
  for p in $PROXIES; do echo "- $p: ${TLS_PARAMS[$p]:-–}; wrk resumed ${RESUMED[$p]:-–}"; done
  echo
  if [ -s "$NOTES" ]; then echo "Problems seen during the run:"; echo; cat "$NOTES"; echo; fi
} >"$TMP/header.md"
python3 "$REPORT" tls "$RESULTS_DIR/tls.csv" "$RESULTS_DIR/tls.md" "$TMP/header.md"
echo
echo "results: $RESULTS_DIR/tls.md $RESULTS_DIR/tls.csv"

fail_on_bad_runs
