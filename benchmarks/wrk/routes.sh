#!/usr/bin/env bash
# Traffic splitting's cost (issue 19): the same service with and without ten
# routes, interleaved in one run: `icaht` is the plain service, `icaht_rid`
# the routed one, whose nine first routes test path prefixes, headers and a
# method the traffic never has and whose last splits every request 50/50
# between two subsets (both selecting the one instance): a Match over ten
# routes, a weighted pick and a subset's balancing per request. Reports CPU
# per request of each (run.sh's tables) and the paired difference.
#
#   benchmarks/wrk/routes.sh            # SIZES=5B CONNS=64 REPEAT=5 by default
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROUTES=""
for i in 1 2 3 4 5 6 7 8 9; do
  ROUTES+='{"match": {"path_prefix": "/api/v'"$i"'/", "headers": [{"name": "x-canary", "exact": "'"$i"'"}]}, "to": {"subset": "a"}}, '
done
RID_FIELDS="$(printf '%s' \
  '"subsets": [{"name": "a", "labels": {}}, {"name": "b", "labels": {}}], ' \
  '"routes": [' "$ROUTES" '{"to": [{"subset": "a", "weight": 50}, {"subset": "b", "weight": 50}]}]')"
export RID_FIELDS
export RID_LABEL="10 routes (9 missed, a 50/50 split)" RID_BUDGET_US="${RID_BUDGET_US:-0.2}"
export PROXIES="${PROXIES:-icaht icaht_rid}"
export SIZES="${SIZES:-5B}" CONNS="${CONNS:-64}" SCENARIOS="${SCENARIOS:-matrix}"
export REPEAT="${REPEAT:-5}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/icaht-routes}"
"$HERE/run.sh"
