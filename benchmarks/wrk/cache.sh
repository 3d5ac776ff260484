#!/usr/bin/env bash
# The response cache's payoff (issue 16): a cache hit against a proxied miss of the same answer
# and against nginx's proxy_cache hit, interleaved in one run (the backend's answers carry
# `Cache-Control: max-age=3600`, so every cache may store them):
#   icaht      the plain service (no cache): every request proxied, the miss
#   icaht_rid  the same binary, its record with `"cache": {}`: after the warm-up every request
#              is a hit (checked before measuring: X-Cache: HIT)
#   nginx      1 worker, proxy_cache on a tmpfs (/dev/shm), proxy_cache_valid 200 1h: every
#              request a hit too (checked: X-Cache-Status: HIT)
# Reports CPU per request of each (run.sh's tables) and the paired ratios hit/miss (issue 16's
# goal: at most 0.6) and hit/nginx (goal: below 1).
#
#   benchmarks/wrk/cache.sh                  # SIZES="1KiB 16KiB" CONNS="1 64" REPEAT=3 by default
#   QUICK=1 REPEAT=1 benchmarks/wrk/cache.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export RID_FIELDS='"cache": {}'
export RID_LABEL="the response cache, every request a hit"
export BACKEND_CACHE_CONTROL=1 NGINX_CACHE=1 REPORT_GOALS=cache
export EXPECT_HIT="icaht_rid:x-cache nginx:x-cache-status"
export PROXIES="${PROXIES:-icaht icaht_rid nginx}"
export SIZES="${SIZES:-1KiB 16KiB}" CONNS="${CONNS:-1 64}" SCENARIOS="${SCENARIOS:-matrix}"
export REPEAT="${REPEAT:-3}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/icaht-cache}"
"$HERE/run.sh"
