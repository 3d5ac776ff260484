# shellcheck shell=bash disable=SC2034  # sourced; sets globals for its caller
# Shared by run.sh, tls.sh and enriched.sh (sourced, never run on its own): logging, tools, starting and
# stopping processes, CPU accounting from /proc, the nginx backend, an icaht daemon with one
# service, and one measured wrk run (run_case). Source it at the top level of the script (it
# declares global arrays).
#
# The caller sets: HERE REPO REPORT (report.py), PROXY_CPU LOAD_CPU, BASE,
# BACKEND_PORT, BUILD_DIR SIDECAR, PROXIES (for stop_all), and CSV_TMP and RUN before run_case;
# for start_icaht_daemon it defines icaht_record NAME SERVICE PORT (the service record JSON), and
# SCENARIOS/MANY when it has run.sh's many-services set.

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------- settings
# durations_from_env REPEAT: WARMUP and DURATION of each measured case (QUICK=1: a short smoke
# run) and how many runs, from the environment or these defaults.
durations_from_env() {
  if [ "${QUICK:-0}" = 1 ]; then
    WARMUP="${WARMUP:-1}"; DURATION="${DURATION:-2}"
  else
    WARMUP="${WARMUP:-2}"; DURATION="${DURATION:-8}"
  fi
  REPEAT="${REPEAT:-$1}"
}

# fail_on_bad_runs: exits 1, naming them, when a run in $CSV_TMP saw a non-2xx answer or a socket
# error, or $NOTES holds a problem: such a run is unusable (its numbers are still reported).
fail_on_bad_runs() {
  local bad
  bad="$(awk -F, 'NR > 1 && ($16 > 0 || $17 > 0) {print $1 " " $3 " run " $5 ": non-2xx " $16 ", socket errors " $17}' "$CSV_TMP")"
  if [ -n "$bad" ] || [ -s "$NOTES" ]; then
    echo "$(basename "$0"): FAILED: ${bad:+$bad; }$(tr '\n' ' ' <"$NOTES")" >&2
    exit 1
  fi
}

# haproxy_head PIDFILE [GLOBAL_LINE...]: the start of every HAProxy config here, run.sh's settings:
# one thread, keep-alive both sides with connection reuse, long timeouts; each GLOBAL_LINE is
# added to the global section. The caller's frontends and backends follow.
haproxy_head() {
  local line
  printf 'global\n  nbthread 1\n  maxconn 8192\n  pidfile %s\n' "$1"
  shift
  for line in "$@"; do printf '  %s\n' "$line"; done
  cat <<EOF
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
EOF
}

# ---------------------------------------------------------------------------- tools
# need_tools REQUIRED... [-- WANTED...]: when any is missing, installs Debian's packages for all
# of them (as root, with apt-get); then dies if a REQUIRED one is still missing.
need_tools() {
  local req=() want=() missing=() t seen=0
  for t in "$@"; do
    if [ "$t" = -- ]; then seen=1; elif [ "$seen" = 0 ]; then req+=("$t"); else want+=("$t"); fi
  done
  for t in "${req[@]}" "${want[@]+"${want[@]}"}"; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local pkgs="nginx-light haproxy wrk gnuplot-nox"
  [[ " ${missing[*]} " == *" openssl "* ]] && pkgs="$pkgs openssl"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing: $pkgs (missing: ${missing[*]})"
    # shellcheck disable=SC2086  # a list of packages
    apt-get install -y $pkgs >/dev/null ||
      { apt-get update >/dev/null && apt-get install -y $pkgs >/dev/null; }
  fi
  for t in "${req[@]}"; do
    command -v "$t" >/dev/null || die "$t is required (Debian: apt-get install nginx-light haproxy wrk)"
  done
}

# ensure_sidecar: builds $SIDECAR (release, as tools/bench.sh does) when it does not exist yet;
# an existing binary is used as it is, however old.
ensure_sidecar() {
  [ -x "$SIDECAR" ] && return 0
  log "building $SIDECAR"
  [ -f "$BUILD_DIR/build.ninja" ] ||
    meson setup "$BUILD_DIR" "$REPO" --buildtype=release -Db_ndebug=true >/dev/null
  ninja -C "$BUILD_DIR" src/icaht-sidecar >/dev/null
}

# ---------------------------------------------------------------------------- processes
# init_tmp PREFIX: a temp dir $TMP ($TMP_BASE/PREFIX.XXXXXX, /tmp by default) removed on exit with every process
# start_bg started (and the dirs a script adds to EXTRA_TMP, e.g. one on a tmpfs); the notes
# file; the fd limit.
init_tmp() {
  TMP="$(mktemp -d "${TMP_BASE:-/tmp}/$1.XXXXXX")"
  chmod 755 "$TMP"
  PIDS=()
  EXTRA_TMP=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  CLK_TCK="$(getconf CLK_TCK)"
  # Proxies with many connections (HAProxy sizes its FD limit from maxconn) need more than 1024.
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  NOTES="$TMP/notes.md"
  : >"$NOTES"
}

# stop_pid PID: SIGTERM, wait up to STOP_WAIT_TENTHS tenths of a second (default 50), then
# SIGKILL; also reaps its children (nginx workers). Sets STOP_RC to the exit status.
stop_pid() {
  local pid="$1" kids i
  STOP_RC=0
  kids="$(pgrep -P "$pid" 2>/dev/null || true)"
  if kill -TERM "$pid" 2>/dev/null; then
    for i in $(seq "${STOP_WAIT_TENTHS:-50}"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null && log "warning: pid $pid needed SIGKILL"
  fi
  wait "$pid" 2>/dev/null || STOP_RC=$?
  for i in $kids; do kill -KILL "$i" 2>/dev/null || true; done
  local keep=()
  for i in "${PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    log "kept $TMP ${EXTRA_TMP[*]+"${EXTRA_TMP[*]}"}"
  else
    rm -rf "$TMP" "${EXTRA_TMP[@]+"${EXTRA_TMP[@]}"}"
  fi
}

# start_bg LOGFILE CMD...: starts CMD in the background; sets LAST_PID.
start_bg() {
  local logf="$1"; shift
  "$@" >"$logf" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

port_in_use() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

check_ports_free() {
  local p
  for p in "$@"; do port_in_use "$p" && die "port $p is in use (set BENCH_PORT_BASE)"; done
  return 0
}

# wait_listen PORT PID [TENTHS]: until something accepts on PORT (10 s unless TENTHS tenths of a
# second), failing if PID died.
wait_listen() {
  local i
  for i in $(seq "${3:-100}"); do
    kill -0 "$2" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# pid_tree PID: PID and all its descendants.
pid_tree() {
  local queue=("$1") tree=() p
  while [ ${#queue[@]} -gt 0 ]; do
    p="${queue[0]}"; queue=("${queue[@]:1}")
    tree+=("$p")
    # shellcheck disable=SC2207
    queue+=($(pgrep -P "$p" 2>/dev/null || true))
    [ ${#tree[@]} -lt 64 ] || break
  done
  echo "${tree[@]}"
}

# cpu_ticks PID: "utime stime" in clock ticks, summed over PID's tree (each /proc/PID/stat
# already covers all threads of that process).
cpu_ticks() {
  local u=0 s=0 p line rest
  for p in $(pid_tree "$1"); do
    line="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    rest="${line##*) }"
    # shellcheck disable=SC2086
    set -- $rest
    u=$((u + ${12})); s=$((s + ${13}))
  done
  echo "$u $s"
}

rss_kib() {
  local t=0 p v
  for p in $(pid_tree "$1"); do
    v="$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)" || continue
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

note() { echo "- $*" >>"$NOTES"; log "NOTE: $*"; }

# ---------------------------------------------------------------------------- backend
# make_bodies: the backend's files (5B, 1KiB, 16KiB, 1MiB) and a 16 KiB POST body; BODY_SIZE by
# name.
declare -A BODY_SIZE=([5B]=5 [1KiB]=1024 [16KiB]=16384 [1MiB]=1048576)
make_bodies() {
  mkdir -p "$TMP/www" "$TMP/nginx-tmp"
  printf 'hello' >"$TMP/www/5B"
  head -c 1024 /dev/zero | tr '\0' 'k' >"$TMP/www/1KiB"
  head -c 16384 /dev/zero | tr '\0' 'a' >"$TMP/www/16KiB"
  head -c 1048576 /dev/zero | tr '\0' 'b' >"$TMP/www/1MiB"
  head -c 16384 /dev/zero | tr '\0' 'p' >"$TMP/post.body"
}

# nginx_common NAME: the top of an nginx config with everything under $TMP.
nginx_common() {
  cat <<EOF
worker_processes 1;
daemon off;
master_process on;
user root;
pid $TMP/$1.pid;
error_log $TMP/$1.error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
EOF
}

# nginx_proxy_http: the proxy settings inside every nginx proxy's `http {}` here (run.sh's):
# long keep-alive both sides, 16 KiB buffers in memory only, and the `backend` upstream with a
# pool of 64 kept-alive connections.
nginx_proxy_http() {
  cat <<EOF
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path $TMP/nginx-tmp/body;
  proxy_temp_path $TMP/nginx-tmp/proxy;
  client_max_body_size 16m;
  client_body_buffer_size 64k;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_buffer_size 16k;
  proxy_buffers 8 16k;
  proxy_max_temp_file_size 0;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; keepalive_requests 10000000; }
EOF
}

# start_backend: nginx (1 worker, pinned to LOAD_CPU) serving $TMP/www on BACKEND_PORT, with
# POST /post -> "ok\n" and GET /echo-headers -> the X-Request-Id and X-User-Id it got; sets
# BACKEND_PID. BACKEND_CACHE_CONTROL=1 adds `Cache-Control: max-age=3600` to its answers
# (storable by a shared cache: cache.sh).
start_backend() {
  local cc=""
  [ "${BACKEND_CACHE_CONTROL:-0}" = 1 ] && cc='add_header Cache-Control "max-age=3600";'
  cat >"$TMP/backend.conf" <<EOF
$(nginx_common backend)
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path $TMP/nginx-tmp/backend-body;
  open_file_cache max=16;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    root $TMP/www;
    $cc
    location = /post { client_max_body_size 16m; client_body_buffer_size 1m; return 200 "ok\n"; }
    # What a proxy forwarded (enriched.sh's checks; never loaded).
    location = /echo-headers {
      default_type text/plain;
      return 200 "x-request-id: \$http_x_request_id\nx-user-id: \$http_x_user_id\n";
    }
  }
}
EOF
  check_ports_free "$BACKEND_PORT"
  start_bg "$TMP/backend.log" taskset -c "$LOAD_CPU" nginx -p "$TMP" -e "$TMP/backend.error.log" -c "$TMP/backend.conf"
  BACKEND_PID=$LAST_PID
  wait_listen "$BACKEND_PORT" "$BACKEND_PID" || { cat "$TMP/backend.log" "$TMP/backend.error.log" >&2; die "backend did not start"; }
  log "backend nginx pid $BACKEND_PID on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU)"
}

# ---------------------------------------------------------------------------- icaht
# Every icaht target is its own daemon under $TMP/NAME, with its admin socket and state dir there
# and its log in $TMP/NAME.log.
icaht_admin() {  # icaht_admin NAME curl-args...
  local name="$1"; shift
  curl -sS --max-time 10 --unix-socket "$TMP/$name/admin.sock" "$@"
}

# start_icaht_daemon NAME BINARY PORT OPS_PORT MANY_BASE [FLAGS...]: one shard, access log off
# (unless FLAGS say otherwise), one service.
start_icaht_daemon() {
  local name="$1" bin="$2" port="$3" ops="$4" many="$5" dir="$TMP/$1" i code
  local -a egress=()
  shift 5
  # Builds with an egress listener bind 127.0.0.1:7000 by default: one per daemon (a
  # variant that measures it passes its own --egress-listen after this).
  # The help text is read whole first: `--help | grep -q` under pipefail fails now and then
  # (grep exits at the match, the binary's next write gets SIGPIPE), and the daemon then
  # binds 7000. Builds from before the egress list the flag as "not in this build" and
  # refuse `off`: only a help line offering `|off` gets it.
  grep -q -- '--egress-listen HOST:PORT|off' <<<"$("$bin" --help 2>&1)" && egress=(--egress-listen off)
  rm -rf "$dir"; mkdir -p "$dir/state"
  check_ports_free "$port" "$ops"
  if [[ " ${SCENARIOS:-} " == *" many "* ]]; then
    check_ports_free $(seq "$many" $((many + ${MANY:-1} - 1)))
  fi
  start_bg "$TMP/$name.log" taskset -c "$PROXY_CPU" "$bin" --shards 1 \
    --admin-socket "$dir/admin.sock" --ops-listen "127.0.0.1:$ops" \
    --port-range "$((BASE + 100))-$((BASE + 599))" --state-dir "$dir/state" \
    --access-log off --log-level warn "${egress[@]}" "$@"
  PROXY_PID=$LAST_PID; PROXY_PORT=$port; MANY_PORTS=""
  for i in $(seq 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$ops/ready" || true)"
    [ "$code" = 200 ] && break
    kill -0 "$PROXY_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  [ "$code" = 200 ] || return 1
  code="$(icaht_admin "$name" -o "$TMP/$name.register.json" -w '%{http_code}' -X POST http://icaht/v1/services \
    -d "$(icaht_record "$name" bench "$port")")"
  [ "$code" = 201 ] || { note "$name: register returned $code: $(cat "$TMP/$name.register.json")"; return 1; }
}

# ---------------------------------------------------------------------------- measuring
# run_case PROXY SCENARIO BODY CONNS THREADS URL [wrk args...]: warm-up, then a measured run.
run_case() {
  local p="$1" scen="$2" body="$3" conns="$4" threads="$5" url="$6"; shift 6
  local out="$TMP/wrk.$p.$scen.$body.c$conns.r$RUN.txt"
  local u0=- s0=- u1=- s1=- t0 t1 rss="" rc=0
  local lim=$((WARMUP + DURATION + 60))
  timeout "$lim" taskset -c "$LOAD_CPU" wrk -t"$threads" -c"$conns" -d"${WARMUP}s" --timeout 5s "$@" "$url" \
    >"$out.warmup" 2>&1 || { note "$p $body c=$conns: warm-up wrk failed (rc $?): $(tail -3 "$out.warmup" | tr '\n' ' ')"; return 1; }
  if [ -n "$PROXY_PID" ]; then read -r u0 s0 < <(cpu_ticks "$PROXY_PID"); fi
  local perf_pid=""
  if [ -n "${PERF_DIR:-}" ] && [ -n "$PROXY_PID" ]; then
    # PERF_DIR: a perf profile of the proxy over the measured run, for finding where its time goes
    # (perf's own cost shows in the CPU columns, so such a run is for profiles, not for ratios).
    perf record -F "${PERF_FREQ:-2999}" -g -o "$PERF_DIR/$p.$body.c$conns.r$RUN.data" \
      -p "$(pid_tree "$PROXY_PID" | tr ' ' ,)" -- sleep "$DURATION" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  t0="$(date +%s.%N)"
  timeout "$lim" taskset -c "$LOAD_CPU" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 5s --latency "$@" "$url" \
    >"$out" 2>&1 || rc=$?
  t1="$(date +%s.%N)"
  if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
  if [ -n "$PROXY_PID" ]; then
    read -r u1 s1 < <(cpu_ticks "$PROXY_PID")
    rss="$(rss_kib "$PROXY_PID")"
  fi
  if [ "$rc" != 0 ]; then note "$p $body c=$conns: wrk failed (rc $rc): $(tail -3 "$out" | tr '\n' ' ')"; return 1; fi
  if ! python3 "$REPORT" parse "$out" "$p" "$scen" "$body" "$conns" "$RUN" "$CLK_TCK" \
      "$u0" "$s0" "$u1" "$s1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$rss" >>"$CSV_TMP"; then
    note "$p $body c=$conns: could not parse wrk output: $(head -c 300 "$out" | tr '\n' ' ')"; return 1
  fi
  if grep -q "Non-2xx or 3xx responses" "$out"; then
    note "$p $body c=$conns: $(grep 'Non-2xx' "$out" | xargs) of $(grep -o '^ *[0-9]* requests in' "$out" | xargs)"
  fi
  if grep -q "^ *0 requests in" "$out"; then note "$p $body c=$conns: no request completed"; STALLED=1; fi
  if grep -q "Socket errors" "$out"; then note "$p $body c=$conns: $(grep 'Socket errors' "$out" | xargs)"; fi
  log "$(tail -1 "$CSV_TMP")"
}

# alive PROXY: the proxy process still runs (a crash is noted once and ends its runs).
alive() {
  local rc
  [ -z "$PROXY_PID" ] && return 0
  kill -0 "$PROXY_PID" 2>/dev/null && return 0
  wait "$PROXY_PID" 2>/dev/null && rc=0 || rc=$?
  note "$1 died during the run (exit status $rc); log tail: $(tail -5 "$TMP/$1.log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

# Set by the script's start_all: each target's pid, port, many-services ports; dead ones.
declare -A P_PID P_PORT P_MANY P_DEAD

# use PROXY: makes PROXY the target of run_case; false (and noted once) if it died.
use() {
  [ -z "${P_DEAD[$1]:-}" ] || return 1
  PROXY_PID="${P_PID[$1]}"; PROXY_PORT="${P_PORT[$1]}"; MANY_PORTS="${P_MANY[$1]}"
  alive "$1" && return 0
  P_DEAD[$1]=1
  return 1
}

# stop_all: stops every started target; notes an icaht exit status other than 0 and errors in
# icaht logs.
stop_all() {
  local p
  for p in $PROXIES; do
    [ -n "${P_PID[$p]:-}" ] || continue
    use "$p" || continue
    stop_pid "$PROXY_PID"
    if [[ "$p" == icaht* ]] && [ "$STOP_RC" != 0 ]; then
      note "$p: exit status $STOP_RC after SIGTERM (expected 0); log tail: $(tail -3 "$TMP/$p.log" | tr '\n' ' ')"
    fi
  done
  for p in icaht icaht_base icaht_rid; do
    if [ -s "$TMP/$p.log" ] && grep -qiE "error|check failed" "$TMP/$p.log"; then
      note "$p log has errors: $(grep -iE 'error|check failed' "$TMP/$p.log" | sort | uniq -c | sort -rn | head -5 | tr '\n' ' ')"
    fi
  done
}

# tree_of BINARY: ", tree <commit>" when BINARY lies in a git work tree (e.g. a worktree of an
# earlier commit), with " with uncommitted changes" when that tree is dirty.
tree_of() {
  local d c
  d="$(dirname "$1")"
  c="$(git -C "$d" rev-parse --short HEAD 2>/dev/null)" || return 0
  echo ", tree $c$( [ -n "$(git -C "$d" status --porcelain --untracked-files=no 2>/dev/null | head -1)" ] && echo ' with uncommitted changes' || true)"
}

# tree_state DIR: DIR's commit, with " with uncommitted changes" when its tree is dirty.
tree_state() {
  echo "$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null | head -1)" ] && echo ' with uncommitted changes' || true)"
}
