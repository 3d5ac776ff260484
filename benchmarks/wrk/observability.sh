#!/usr/bin/env bash
# The observability budget (issue 10): metrics + a JSON access log + tracing at
# 1 % sampling, exported to a loopback collector, against a build from before
# any of them (metrics cannot be turned off), interleaved in one run:
#   icaht_base  SIDECAR_BASE: the commit before metrics (default: built here
#               from BASE_REV in a worktree under /tmp)
#   icaht       this build, access log off, no tracing (metrics alone)
#   icaht_rid   this build with --access-log FILE, --trace-endpoint and the
#               service's "tracing": {"sample_ratio": 0.01}
# Reports CPU per request of each (run.sh's tables) and the paired difference
# icaht_rid - icaht_base against the budget (1 µs).
#
#   benchmarks/wrk/observability.sh                 # SIZES=5B CONNS=64 REPEAT=5 by default
#   SIDECAR_BASE=/path/to/old/icaht-sidecar REPEAT=7 benchmarks/wrk/observability.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BASE_REV="${BASE_REV:-9f6dbbd^}"
WORK="$(mktemp -d /tmp/icaht-obs-bench.XXXXXX)"
COLLECTOR_PID=""
cleanup() {
  [ -n "$COLLECTOR_PID" ] && kill "$COLLECTOR_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${SIDECAR_BASE:-}" ]; then
  base_tree="/tmp/icaht-obs-base"
  if [ ! -x "$base_tree/build-bench/src/icaht-sidecar" ]; then
    echo "building the base ($BASE_REV) in $base_tree" >&2
    git -C "$REPO" worktree add --force --detach "$base_tree" "$BASE_REV" >/dev/null
    meson setup "$base_tree/build-bench" "$base_tree" --buildtype=release -Db_ndebug=true >/dev/null
    ninja -C "$base_tree/build-bench" src/icaht-sidecar >/dev/null
  fi
  SIDECAR_BASE="$base_tree/build-bench/src/icaht-sidecar"
fi
export SIDECAR_BASE

# A collector that accepts every post (the export's cost is the daemon's, not this one's).
COLLECTOR_PORT="${COLLECTOR_PORT:-30790}"
python3 - "$COLLECTOR_PORT" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
COLLECTOR_PID=$!

export RID_FIELDS='"tracing": {"sample_ratio": 0.01}'
export RID_ARGS="--access-log $WORK/access.log --trace-endpoint http://127.0.0.1:$COLLECTOR_PORT/v1/traces"
export RID_LABEL="metrics + access log + tracing (1 %)" RID_BUDGET_US=1 RID_AGAINST=icaht_base
export PROXIES="${PROXIES:-icaht_base icaht icaht_rid}"
export SIZES="${SIZES:-5B}" CONNS="${CONNS:-64}" SCENARIOS="${SCENARIOS:-matrix}"
export REPEAT="${REPEAT:-5}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/icaht-observability}"
"$HERE/run.sh"
