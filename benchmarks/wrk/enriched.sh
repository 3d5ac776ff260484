#!/usr/bin/env bash
# The enriched scenario (issue 17): icaht-sidecar (1 shard) vs HAProxy (1 thread) vs nginx
# (1 worker), each doing the request-path work a sidecar is deployed for, side by side on
# loopback, pinned and interleaved as run.sh does.
#
# Every target proxies run.sh's backend (nginx, 1 worker, fixed bodies) and is configured with:
#   icaht    one service with request_id, auth.jwt (RS256 from a JWKS file, iss/aud/exp checked,
#            `sub` forwarded as X-User-Id; the verified token is cached), cors (one allowed origin,
#            X-Request-Id exposed), rate_limit per client IP (far above the offered load), tracing
#            at sample_ratio 0.01 exported to a loopback OTLP/HTTP collector, metrics (always on,
#            the ops port), --access-log FILE (JSON lines)
#   haproxy  unique-id-format %[uuid()] + unique-id-header X-Request-Id (echoed on the answer),
#            http-request set-var(txn.bearer) http_auth_bearer + jwt_verify with the same key
#            (alg, iss, aud and exp checked too, sub forwarded; HAProxy has no verified-token
#            cache: it checks the signature on every request), a stick-table http_req_rate limit
#            (never reached), the Prometheus exporter on its own frontend, a JSON log-format
#            written to a file (`log stdout`, stdout redirected to the file), CORS headers with
#            http-response set-header
#   nginx    $request_id (an incoming X-Request-Id kept) forwarded and echoed, limit_req (never
#            reached), a JSON log_format to a file (buffer=64k flush=1s, as icaht's 64 KiB
#            buffer), CORS headers with add_header, stub_status on its own port. No JWT (stock
#            nginx cannot verify one) and no tracing: it does less work than the other two.
#   haproxy_jwtcache  (in the default set) haproxy's config, its signature check skipped for a
#            token whose SHA-256 is in a stick-table of verified tokens (60 s): the nearest
#            HAProxy gets to icaht's cache of verified tokens, to show what the per-request RSA
#            verification costs it. The goals are measured against plain `haproxy`, as issue 17
#            says; the summary has the ratios against this one too.
# No tracing on HAProxy either (its OpenTracing filter needs a tracer plugin Debian does not ship).
#   icaht_bare  (named in PROXIES only) the same binary with a plain service and no access log,
#            as run.sh's icaht: the report then gives the enrichment's cost, icaht - icaht_bare,
#            paired run by run. ICAHT_BARE_FIELDS='"cors": {...}' (JSON members added to its
#            record) and ICAHT_BARE_ARGS='--access-log /tmp/x.log' (daemon flags) give it one
#            feature, to find which one costs what (the report then calls it icaht_bare still).
#   icaht_base  (named in PROXIES only) the icaht target (same record, same flags) on another
#            binary, SIDECAR_BASE (e.g. a build of the previous commit): the report then gives
#            icaht − icaht_base, paired run by run (a change's cost or saving, interleaved).
#
# Before measuring it checks every target and stops with an error when one fails: a GET with the
# token and an allowed Origin gets 200, the right body, a request ID header and
# Access-Control-Allow-Origin, and the upstream got that request ID (and the token's sub as
# X-User-Id: icaht, HAProxy; the backend's /echo-headers says); a bad token (signed by another
# key), an expired token and no token get 401 (icaht, HAProxy); the access log file grows by a
# JSON line carrying the answer's request ID; the metrics endpoint answers. wrk sends the token
# and the Origin with every request.
# Then REPEAT times: for each body size, each target back to back (interleaved), a warm-up and
# a measured `wrk -t1 -c$CONNS --latency` (common.sh's run_case: req/s, p50/p99, the proxy's
# user and system CPU per request from /proc). The access logs are truncated after every run
# so that long runs do not fill the disk (HAProxy's file then has a hole up to its offset:
# see log_data_bytes).
# Exits 1 when any run had non-2xx answers (a 401 or 429 would mean the setup is wrong), socket
# errors, dropped access log lines or another problem (listed in the report).
#
# Writes benchmarks/results/enriched.{md,csv} (RESULTS_DIR overrides) and prints the tables.
#
# Environment (all optional):
#   QUICK=1              1 s warm-up + 2 s measured runs (default 2 s + 8 s)
#   WARMUP=S DURATION=S  override the durations; REPEAT=N runs per case (default 3; median reported)
#   PROXIES="icaht haproxy haproxy_jwtcache nginx" (icaht_bare, icaht_base too)
#   SIZES="5B 16KiB" (1KiB, 1MiB too)  CONNS=64
#   PROXY_CPU=0 LOAD_CPU=1  BENCH_PORT_BASE=30000 (uses BASE+80, +104 .. +106, +111, +112,
#                        +121 .. +124, +194 .. +197)
#   BUILD_DIR=build-bench  SIDECAR=path/to/icaht-sidecar  KEEP_TMP=1 (keep keys, configs, logs)
# Needs nginx, haproxy (2.5 or later: jwt_verify), wrk, curl, and python3 with PyJWT and
# cryptography (Debian: python3-jwt python3-cryptography) to make the key and the token.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
REPORT="$HERE/report.py"

PROXIES="${PROXIES:-icaht haproxy haproxy_jwtcache nginx}"
SIZES="${SIZES:-5B 16KiB}"
CONNS="${CONNS:-64}"
PROXY_CPU="${PROXY_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
BASE="${BENCH_PORT_BASE:-30000}"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
SIDECAR="${SIDECAR:-$BUILD_DIR/src/icaht-sidecar}"
RESULTS_DIR="${RESULTS_DIR:-$REPO/benchmarks/results}"

BACKEND_PORT=$((BASE + 80))
ICAHT_PORT=$((BASE + 104))
NGINX_PORT=$((BASE + 111))
NGINX_STATUS=$((BASE + 112))
HAPROXY_PORT=$((BASE + 121))
HAPROXY_PROM=$((BASE + 122))
HAPROXY_JWTCACHE_PORT=$((BASE + 123))
HAPROXY_JWTCACHE_PROM=$((BASE + 124))
ICAHT_OPS=$((BASE + 194))
COLLECTOR_PORT=$((BASE + 195))
ICAHT_BARE_PORT=$((BASE + 105))
ICAHT_BARE_OPS=$((BASE + 196))
ICAHT_BASE_PORT=$((BASE + 106))
ICAHT_BASE_OPS=$((BASE + 197))

ORIGIN="https://app.bench"

# shellcheck source=common.sh
source "$HERE/common.sh"
durations_from_env 3

for v in WARMUP DURATION REPEAT CONNS PROXY_CPU LOAD_CPU BASE; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[ "$BASE" -ge 1024 ] && [ $((BASE + 599)) -le 65535 ] || die "BENCH_PORT_BASE out of range"
for p in $PROXIES; do
  case "$p" in icaht|icaht_bare|icaht_base|haproxy|haproxy_jwtcache|nginx) ;;
    *) die "unknown proxy '$p' (icaht icaht_bare icaht_base haproxy haproxy_jwtcache nginx)";; esac
done
if [[ " $PROXIES " == *" icaht_base "* ]]; then
  [ -x "${SIDECAR_BASE:-}" ] || die "icaht_base needs SIDECAR_BASE=path/to/icaht-sidecar (not built here)"
fi
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs: proxy and load share a CPU"

need_tools nginx haproxy wrk taskset python3 curl ss
# PyJWT and cryptography: Debian's python3 has them as packages; a pyenv python3 first in PATH
# usually does not.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import jwt, cryptography' 2>/dev/null ||
  die "$PY lacks PyJWT or cryptography (Debian: apt-get install python3-jwt python3-cryptography)"
if [[ " $PROXIES " == *" haproxy"* ]]; then
  [ "$(haproxy -vv 2>/dev/null | grep -c 'Prometheus exporter')" -gt 0 ] ||
    die "this haproxy is built without the Prometheus exporter (USE_PROMEX)"
fi
[[ " $PROXIES " != *" icaht"* ]] || ensure_sidecar
init_tmp icaht-enriched
for s in $SIZES; do [ -n "${BODY_SIZE[$s]:-}" ] || die "unknown size '$s' (5B 1KiB 16KiB 1MiB)"; done

# ---------------------------------------------------------------------------- key and token
# An RS256 key pair: the public half as a JWKS (icaht) and as a PEM file (HAProxy); one token
# valid for a day, sent by every request; a bad token with the same header and claims signed by
# another key (only the signature is wrong); an expired one signed by the right key.
KEYS="$TMP/keys"
mkdir -p "$KEYS"
"$PY" - "$KEYS" <<'EOF' || die "making the key and tokens failed"
import json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
out = sys.argv[1]
key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
public.update({"kid": "bench-1", "alg": "RS256", "use": "sig"})
with open(out + "/jwks.json", "w") as f:
    json.dump({"keys": [public]}, f)
with open(out + "/public.pem", "wb") as f:
    f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
now = int(time.time())
claims = {"iss": "https://id.bench", "aud": "bench", "sub": "bench-user", "iat": now,
          "exp": now + 86400, "scope": "read"}
expired = dict(claims, iat=now - 7200, exp=now - 3600)
for name, k, c in (("token", key, claims), ("bad_token", other, claims),
                   ("expired_token", key, expired)):
    with open(f"{out}/{name}", "w") as f:
        f.write(jwt.encode(c, k, algorithm="RS256", headers={"kid": "bench-1"}))
EOF
TOKEN="$(cat "$KEYS/token")"
BAD_TOKEN="$(cat "$KEYS/bad_token")"
EXPIRED_TOKEN="$(cat "$KEYS/expired_token")"

# ---------------------------------------------------------------------------- trace collector
# Accepts every POST with 200 and counts them (the export's cost is icaht's, not this one's).
# On LOAD_CPU: at 1 % sampling it gets a few posts a second.
COLLECTOR_COUNT="$TMP/collector.count"
check_ports_free "$COLLECTOR_PORT"
# (A file, not a here-document: a background command's stdin is /dev/null.)
cat >"$TMP/collector.py" <<'PY'
import http.server, sys
posts = 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        global posts
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        posts += 1
        with open(sys.argv[2], "w") as f:
            f.write(f"{posts}\n")
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
start_bg "$TMP/collector.log" taskset -c "$LOAD_CPU" python3 "$TMP/collector.py" "$COLLECTOR_PORT" "$COLLECTOR_COUNT"
COLLECTOR_PID=$LAST_PID
wait_listen "$COLLECTOR_PORT" "$COLLECTOR_PID" || die "the trace collector did not start: $(cat "$TMP/collector.log")"

# ---------------------------------------------------------------------------- backend, proxies
make_bodies
start_backend
LOGS="$TMP/logs"
mkdir -p "$LOGS"
declare -A ACCESS_LOG=([icaht]="$LOGS/icaht.access.log" [haproxy]="$LOGS/haproxy.access.log"
                       [haproxy_jwtcache]="$LOGS/haproxy_jwtcache.access.log"
                       [nginx]="$LOGS/nginx.access.log" [icaht_base]="$LOGS/icaht_base.access.log")

# The targets' configurations and start functions.
# shellcheck source=enriched_proxies.sh
source "$HERE/enriched_proxies.sh"

# ---------------------------------------------------------------------------- checks
# get PROXY PATH [curl args...]: one GET; prints "STATUS" and writes the head to $TMP/PROXY.head,
# the body to $TMP/PROXY.body.
get() {
  local p="$1" path="$2"; shift 2
  curl -s --max-time 10 -D "$TMP/$p.head" -o "$TMP/$p.body" -w '%{http_code}' "$@" \
    "http://127.0.0.1:$PROXY_PORT$path" || echo "curl-failed"
}

# header PROXY NAME: the value of the last header NAME in $TMP/PROXY.head.
header() {
  tr -d '\r' <"$TMP/$1.head" | awk -v h="$2" 'tolower($1) == tolower(h) ":" { $1 = ""; v = substr($0, 2) } END { print v }'
}

log_size() { stat -c %s "${ACCESS_LOG[$1]}" 2>/dev/null || echo 0; }
# log_data_bytes PROXY: the bytes the log file holds on disk (not its size: HAProxy writes past
# a truncation at its old offset, leaving a hole that holds nothing).
log_data_bytes() { du -B1 "${ACCESS_LOG[$1]}" 2>/dev/null | cut -f1 || echo 0; }

# metrics_ok PROXY: its metrics endpoint answers 200 with its usual content.
metrics_ok() {
  local url pat
  case "$1" in
    icaht) url="http://127.0.0.1:$ICAHT_OPS/metrics"; pat='^icaht_requests_total' ;;
    icaht_base) url="http://127.0.0.1:$ICAHT_BASE_OPS/metrics"; pat='^icaht_requests_total' ;;
    haproxy) url="http://127.0.0.1:$HAPROXY_PROM/metrics"; pat='^haproxy_frontend_http_requests_total' ;;
    haproxy_jwtcache) url="http://127.0.0.1:$HAPROXY_JWTCACHE_PROM/metrics"
                      pat='^haproxy_frontend_http_requests_total' ;;
    nginx) url="http://127.0.0.1:$NGINX_STATUS/metrics"; pat='^Active connections' ;;
  esac
  # Into a file first: grep -q ending early would fail curl with SIGPIPE under pipefail.
  curl -sf --max-time 10 -o "$TMP/$1.metrics" "$url" && grep -q "$pat" "$TMP/$1.metrics"
}

# check PROXY: dies unless PROXY does the scenario's work (see the top of this file);
# icaht_bare only has to answer.
check() {
  local p="$1" s code rid acao size0 last
  local -a good=(-H "Authorization: Bearer $TOKEN" -H "Origin: $ORIGIN")
  if [ "$p" = icaht_bare ]; then
    for s in $SIZES; do
      code="$(get "$p" "/$s" "${good[@]}")"
      [ "$code" = 200 ] && cmp -s "$TMP/$p.body" "$TMP/www/$s" ||
        die "$p: GET /$s answered '$code' (or a body other than the backend's)"
    done
    log "$p: answers (nothing configured)"
    return
  fi
  size0="$(log_size "$p")"
  for s in $SIZES; do
    code="$(get "$p" "/$s" "${good[@]}")"
    [ "$code" = 200 ] && cmp -s "$TMP/$p.body" "$TMP/www/$s" ||
      die "$p: GET /$s with the token answered '$code' (or a body other than the backend's)"
  done
  # What the upstream got: the ID the client sees (and the JWT's sub where there is a JWT).
  code="$(get "$p" /echo-headers "${good[@]}")"
  rid="$(header "$p" X-Request-Id)"
  acao="$(header "$p" Access-Control-Allow-Origin)"
  [ "$code" = 200 ] && grep -qxF "x-request-id: $rid" "$TMP/$p.body" ||
    die "$p: the upstream got '$(head -1 "$TMP/$p.body")', the client X-Request-Id '$rid'"
  if [ "$p" != nginx ]; then
    grep -qxF "x-user-id: bench-user" "$TMP/$p.body" ||
      die "$p: the upstream got '$(tail -1 "$TMP/$p.body")', expected the token's sub (bench-user)"
  fi
  [ -n "$rid" ] || die "$p: the answer has no X-Request-Id: $(tr -d '\r' <"$TMP/$p.head" | tr '\n' '|')"
  [ "$acao" = "$ORIGIN" ] ||
    die "$p: Access-Control-Allow-Origin is '$acao', expected '$ORIGIN': $(tr -d '\r' <"$TMP/$p.head" | tr '\n' '|')"
  if [ "$p" != nginx ]; then
    code="$(get "$p" /5B -H "Authorization: Bearer $BAD_TOKEN" -H "Origin: $ORIGIN")"
    [ "$code" = 401 ] || die "$p: a token signed by another key answered '$code', expected 401"
    code="$(get "$p" /5B -H "Authorization: Bearer $EXPIRED_TOKEN" -H "Origin: $ORIGIN")"
    [ "$code" = 401 ] || die "$p: an expired token answered '$code', expected 401"
    code="$(get "$p" /5B -H "Origin: $ORIGIN")"
    [ "$code" = 401 ] || die "$p: a request without a token answered '$code', expected 401"
  fi
  # The log is written from a buffer (icaht within 50 ms, nginx within 1 s): wait up to 5 s
  # for the line of the last good request (found by its request ID).
  for _ in $(seq 50); do
    [ "$(log_size "$p")" -gt "$size0" ] && grep -qF "$rid" "${ACCESS_LOG[$p]}" && break
    sleep 0.1
  done
  [ "$(log_size "$p")" -gt "$size0" ] || die "$p: the access log ${ACCESS_LOG[$p]} did not grow"
  last="$(grep -F "$rid" "${ACCESS_LOG[$p]}" | tail -1)"
  [ -n "$last" ] || die "$p: no access log line with the request ID $rid: $(tail -2 "${ACCESS_LOG[$p]}")"
  "$PY" -c 'import json, sys; json.loads(sys.argv[1])' "$last" 2>/dev/null ||
    die "$p: the access log line is not JSON: $last"
  metrics_ok "$p" || die "$p: its metrics endpoint did not answer as expected"
  log "$p: 200 with X-Request-Id ($rid) and Access-Control-Allow-Origin$( [ "$p" = nginx ] || echo ", bad, expired or no token 401"); access log line: $last"
  LOG_LINE[$p]="$last"
}

declare -A LOG_LINE
start_all() {
  local p
  for p in $PROXIES; do
    PROXY_PID=""; PROXY_PORT=""
    "start_$p" || die "$p failed to start; log: $(tail -5 "$TMP/$p.log" 2>/dev/null | tr '\n' ' ')"
    P_PID[$p]="$PROXY_PID"; P_PORT[$p]="$PROXY_PORT"; P_MANY[$p]=""
    log "== $p (pid $PROXY_PID, port $PROXY_PORT)"
    check "$p"
  done
}

# ---------------------------------------------------------------------------- measuring
CSV_TMP="$TMP/results.csv"
python3 -c "import sys; sys.path.insert(0, '$HERE'); import report; print(','.join(report.COLUMNS))" >"$CSV_TMP"
declare -A LOG_BYTES LOG_LINES
for p in $PROXIES; do LOG_BYTES[$p]=0; LOG_LINES[$p]=0; done
# The targets that write an access log.
LOGGED=""
for p in $PROXIES; do [ -z "${ACCESS_LOG[$p]:-}" ] || LOGGED+=" $p"; done

# measure_case SIZE: one measured run of SIZE for every proxy, back to back; then what each wrote
# to its access log is counted and the log truncated.
measure_case() {
  local p
  for p in $PROXIES; do
    use "$p" || continue
    STALLED=0
    run_case "$p" enriched "$1" "$CONNS" 1 "http://127.0.0.1:$PROXY_PORT/$1" \
      -H "Authorization: Bearer $TOKEN" -H "Origin: $ORIGIN" || true
    if [ "$STALLED" = 1 ]; then
      note "$p: stopped after a run in which no request completed; its later cases are skipped"
      stop_pid "$PROXY_PID"
      P_DEAD[$p]=1
    fi
  done
  sleep 1.2  # the last buffered lines (nginx flushes within 1 s)
  for p in $LOGGED; do
    LOG_BYTES[$p]=$((LOG_BYTES[$p] + $(log_data_bytes "$p")))
    LOG_LINES[$p]=$((LOG_LINES[$p] + $(wc -l <"${ACCESS_LOG[$p]}" 2>/dev/null || echo 0)))
    : >"${ACCESS_LOG[$p]}"
  done
}

LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
TREE_AT_START="$(tree_state "$REPO")"
START_TS="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start_all
for RUN in $(seq 1 "$REPEAT"); do
  for s in $SIZES; do measure_case "$s"; done
done

# icaht's own account of its log and its spans (before it stops).
ICAHT_OBS="–"
if [[ " $PROXIES " == *" icaht "* ]] && [ -z "${P_DEAD[icaht]:-}" ]; then
  ICAHT_OBS="$(curl -s --max-time 10 "http://127.0.0.1:$ICAHT_OPS/metrics" |
    awk '/^icaht_(access_log_lines|access_log_dropped|spans_exported|spans_dropped)_total/ {
           printf "%s%s %s", sep, $1, $2; sep = ", " }')"
  dropped="$(sed -n 's/.*icaht_access_log_dropped_total \([0-9]*\).*/\1/p' <<<"$ICAHT_OBS")"
  [ "${dropped:-0}" = 0 ] || note "icaht dropped $dropped access log lines (its writer fell behind)"
fi
POSTS="$(cat "$COLLECTOR_COUNT" 2>/dev/null || echo 0)"
[[ " $PROXIES " != *" icaht "* ]] || [ "$POSTS" -gt 0 ] ||
  note "the trace collector got no export from icaht (1 % sampling should have made some)"
stop_all
LOAD_AT_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------- report
mkdir -p "$RESULTS_DIR"
cp "$CSV_TMP" "$RESULTS_DIR/enriched.csv"
{
  echo "## The enriched scenario: icaht-sidecar vs HAProxy vs nginx, each doing a sidecar's request work (loopback)"
  echo
  echo "Command: \`SIDECAR=$SIDECAR QUICK=${QUICK:-0} WARMUP=$WARMUP DURATION=$DURATION REPEAT=$REPEAT PROXIES=\"$PROXIES\" SIZES=\"$SIZES\" CONNS=$CONNS benchmarks/wrk/enriched.sh\`"
  echo
  echo "Run $START_TS on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r)."
  echo "Tree at the start of the run: $TREE_AT_START."
  [[ " $PROXIES " != *" icaht "* ]] ||
    echo "icaht-sidecar: $SIDECAR, built $(date -r "$SIDECAR" -u +%Y-%m-%dT%H:%M:%SZ)$(tree_of "$SIDECAR") (enriched.sh does not rebuild it)."
  echo "($WARMUP s warm-up + $DURATION s measured per case, median of $REPEAT run(s); load average at start $LOAD_AT_START, at end $LOAD_AT_END.)"
  echo
  echo "Set up as run.sh: every proxy pinned to CPU $PROXY_CPU, one loaded at a time, each case measured for every"
  echo "proxy back to back (interleaved); the backend (nginx 1 worker, static files) and \`wrk -t1 -c$CONNS\` share"
  echo "CPU $LOAD_CPU. Every request carries \`Authorization: Bearer <RS256 token>\` and \`Origin: $ORIGIN\`."
  echo "CPU µs/req = (utime+stime of the proxy's processes over the measured run) / requests."
  echo "Versions: $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v 2>/dev/null | head -1 | awk '{print "HAProxy " $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')."
  echo
  echo "| work | icaht-sidecar (1 shard) | HAProxy (1 thread) | nginx (1 worker) |"
  echo "|---|---|---|---|"
  echo "| request ID | \`request_id: {}\` (UUIDv4, forwarded, echoed) | \`unique-id-format %[uuid()]\`, \`unique-id-header X-Request-Id\`, echoed with \`http-response set-header\` | \`\$request_id\` (incoming kept), forwarded and echoed |"
  echo "| JWT | RS256 from a JWKS file; iss, aud, exp; \`sub\` → X-User-Id; verified token cached | \`http_auth_bearer\` → \`txn.bearer\`, alg/iss/aud/exp with \`jwt_*_query\`, \`jwt_verify\` (PEM key) on every request, \`sub\` → X-User-Id | **none** (stock nginx cannot verify a JWT) |"
  echo "| CORS | \`cors\`, one allowed origin, X-Request-Id exposed | \`http-response set-header\` Access-Control-Allow-Origin / -Expose-Headers when Origin matches, Vary | \`add_header\` through \`map \$http_origin\`, the same headers |"
  echo "| rate limit | \`rate_limit\` per client IP, 10⁷/s (never refuses) | \`stick-table\` \`http_req_rate(10s)\`, \`track-sc0 src\`, deny above 10⁸ | \`limit_req\` per IP, 10⁷ r/s, burst 10⁶ nodelay |"
  echo "| metrics | always on (ops port \`/metrics\`) | \`prometheus-exporter\` on its own frontend | \`stub_status\` on its own port |"
  echo "| access log | \`--access-log FILE\`, JSON lines (64 KiB buffer, ≤ 50 ms) | JSON \`log-format\`, \`log stdout\` into the file (a write per line) | JSON \`log_format\`, \`buffer=64k flush=1s\` |"
  echo "| tracing | \`tracing: {sample_ratio: 0.01}\`, OTLP/HTTP JSON to a loopback collector | **none** (its OpenTracing filter needs a tracer plugin) | **none** |"
  echo
  if [[ " $PROXIES " == *" icaht_bare "* ]]; then
    echo "icaht_bare: the same binary, a plain service (run.sh's record), \`--access-log off\`: the enrichment's"
    echo "cost is icaht − icaht_bare, paired run by run.${ICAHT_BARE_FIELDS:+ Its record adds \`$ICAHT_BARE_FIELDS\`.}${ICAHT_BARE_ARGS:+ Its flags add \`$ICAHT_BARE_ARGS\`.}"
    echo
  fi
  if [[ " $PROXIES " == *" icaht_base "* ]]; then
    echo "icaht_base: the icaht target (same record, same flags) on $SIDECAR_BASE$(tree_of "$SIDECAR_BASE"):"
    echo "icaht − icaht_base is the change's cost (or saving), paired run by run."
    echo
  fi
  if [[ " $PROXIES " == *" haproxy_jwtcache "* ]]; then
    echo "haproxy_jwtcache: the HAProxy config above, with a cache of verified tokens as icaht has:"
    echo "\`http-request track-sc1 var(txn.bearer),sha2(256) table verified_tokens\` (\`stick-table type binary len 32"
    echo "store gpt0 expire 60s\`), \`jwt_verify\` only \`unless { sc_get_gpt0(1) -m int 1 } || ...\`, then \`sc-set-gpt0(1) 1\`"
    echo "(alg, iss, aud and exp still checked on every request). The goals are against plain \`haproxy\`."
    echo
  fi
  echo "Checked before measuring, for each: 200 with the backend's body, X-Request-Id and Access-Control-Allow-Origin;"
  echo "the upstream got the same request ID (and X-User-Id from the token's sub: icaht, HAProxy); a bad token (another"
  echo "key), an expired one and none 401 (icaht, HAProxy); the access log grew by a JSON line with the answer's ID;"
  echo "metrics answered. \"proxy CPU\" is the share of one CPU the proxy used: well below ~95 % the load side (wrk and"
  echo "the backend on one CPU) limited req/s and latency, and a proxy serving fewer requests per wake-up pays more"
  echo "system time per request; compare CPU per request with that in mind."
  echo "Access log lines written over all runs (warm-ups included):$(for p in $LOGGED; do printf ' %s %s (%s MiB);' "$p" "${LOG_LINES[$p]}" $((LOG_BYTES[$p] / 1048576)); done)"
  echo "icaht's counters at the end: ${ICAHT_OBS:-–}; trace collector posts received: $POSTS."
  echo
  echo "Example access log lines:"
  echo
  for p in $LOGGED; do echo "- $p: \`${LOG_LINE[$p]:-–}\`"; done
  echo
  if [ -s "$NOTES" ]; then echo "Problems seen during the run:"; echo; cat "$NOTES"; echo; fi
} >"$TMP/header.md"
python3 "$REPORT" enriched "$RESULTS_DIR/enriched.csv" "$RESULTS_DIR/enriched.md" "$TMP/header.md"
echo
echo "results: $RESULTS_DIR/enriched.md $RESULTS_DIR/enriched.csv"

fail_on_bad_runs
