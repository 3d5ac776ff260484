#!/usr/bin/env bash
# Custom middleware side by side (issue 15): the same service without and with a native plugin
# or a Lua script, interleaved in one run (run.sh's tables): `icaht` is the plain service,
# `icaht_rid` the one with the middleware. Reports CPU per request of each and the paired
# difference, the middleware's cost.
#
#   KIND=native benchmarks/wrk/plugins.sh   # the maintenance example, switched off (its file
#                                           # absent: one access() a second, else a no-op)
#   KIND=lua benchmarks/wrk/plugins.sh      # on_request sets one header (the default)
#   REPEAT=5 DURATION=5 KIND=lua benchmarks/wrk/plugins.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
KIND="${KIND:-lua}"
WORK="$(mktemp -d /tmp/icaht-plugins-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

case "$KIND" in
  lua)
    printf 'function on_request(req) req:set_header("x-lua", "yes") end\n' >"$WORK/bench.lua"
    export RID_FIELDS='"lua": {"file": "'"$WORK"'/bench.lua"}'
    export RID_LABEL="a Lua on_request setting one header" RID_BUDGET_US=1
    ;;
  native)
    [ -f "$BUILD_DIR/build.ninja" ] ||
      meson setup "$BUILD_DIR" "$REPO" --buildtype=release -Db_ndebug=true >/dev/null
    ninja -C "$BUILD_DIR" plugins/examples/libicaht_maintenance.so >/dev/null
    PLUGIN_DIR="$BUILD_DIR/plugins/examples"
    export RID_FIELDS='"plugins": [{"path": "'"$PLUGIN_DIR"'/libicaht_maintenance.so", "config": {"file": "'"$WORK"'/absent"}}]'
    export RID_ARGS="--plugin-dir $PLUGIN_DIR"
    export RID_LABEL="a native plugin that lets every request through" RID_BUDGET_US=0.1
    ;;
  *) echo "KIND must be lua or native" >&2; exit 2 ;;
esac
export BUILD_DIR
export PROXIES="${PROXIES:-icaht icaht_rid}"
export SIZES="${SIZES:-5B}" CONNS="${CONNS:-64}" SCENARIOS="${SCENARIOS:-matrix}"
export REPEAT="${REPEAT:-3}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/icaht-plugins-$KIND}"
"$HERE/run.sh"
