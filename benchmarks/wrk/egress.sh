#!/usr/bin/env bash
# The egress listener's cost (issue 14): a local application calling a service by name
# through the egress (Host: bench) against calling the service's own port, same binary, same
# upstream, interleaved in one run:
#   icaht      the service port (its record: no filters)
#   icaht_rid  the same binary and record, the load sent to its egress listener instead (its
#              chain: request ID, the caller's kept), Host: bench naming the service
# Reports CPU per request of each (run.sh's tables) and the paired ratio icaht_rid / icaht
# (issue 14's goal: at most 1.1).
#
#   benchmarks/wrk/egress.sh                 # SIZES="5B 16KiB" CONNS=64 REPEAT=5 by default
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE="${BENCH_PORT_BASE:-30000}"
export RID_PORT=$((BASE + 104))
export RID_ARGS="--egress-listen 127.0.0.1:$RID_PORT"
export RID_FIELDS='"egress": {"via_ingress": false}'
export WRK_HEADERS="Host: bench"
export RID_LABEL="the egress listener (Host: bench) instead of the service port" RID_BUDGET_US=1
export PROXIES="${PROXIES:-icaht icaht_rid}"
export SIZES="${SIZES:-5B 16KiB}" CONNS="${CONNS:-64}" SCENARIOS="${SCENARIOS:-matrix}"
export REPEAT="${REPEAT:-5}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/icaht-egress}"
"$HERE/run.sh"
