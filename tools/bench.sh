#!/usr/bin/env bash
# Builds a release tree (build-bench) and runs the benchmark suite:
#   micro  Google Benchmark micro benchmarks (benchmarks/micro/)  -> benchmarks/results/micro.{md,json}
#   wrk    side-by-side load test vs nginx and HAProxy (benchmarks/wrk/run.sh)
#          -> benchmarks/results/latest.{md,csv,png}
#   enriched  the enriched scenario (issue 17): icaht, HAProxy and nginx each with request IDs,
#          JWT, CORS, a rate limit, metrics, an access log (benchmarks/wrk/enriched.sh)
#          -> benchmarks/results/enriched.{md,csv}
#   rss    RSS with idle services and register->serving latency (benchmarks/rss.sh)
#          -> benchmarks/results/rss.{md,csv}; the same with every enriched feature on every
#          record (benchmarks/rss_enriched.sh) -> benchmarks/results/rss_enriched.{md,csv}
# usage: tools/bench.sh [--quick] [micro] [wrk] [enriched] [rss]     (no part named: all four)
# --quick: QUICK=1 for the wrk and enriched runs (2 s each) and short micro runs. Other knobs are
# the environment variables documented in benchmarks/wrk/run.sh, enriched.sh and benchmarks/rss.sh.
# SIDECAR=path/to/icaht-sidecar: use that binary and build nothing (not with micro, which needs
# the build tree's benchmark executables).
# Needs: nginx, haproxy, wrk, gnuplot (Debian: nginx-light haproxy wrk gnuplot-nox; run.sh
# installs them with apt-get when run as root), libbenchmark-dev, liburing-dev, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO/build-bench}"
RESULTS_DIR="${RESULTS_DIR:-$REPO/benchmarks/results}"
export BUILD_DIR RESULTS_DIR

parts=()
for a in "$@"; do
  case "$a" in
    --quick) export QUICK=1 ;;
    micro|wrk|enriched|rss) parts+=("$a") ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
[ ${#parts[@]} -gt 0 ] || parts=(micro wrk enriched rss)
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------- build
MICRO=(http_parser_benchmark header_rewrite_benchmark msg_ring_benchmark json_benchmark)
if [ -n "${SIDECAR:-}" ]; then
  # A given binary (e.g. a prebuilt release): the scripts use it; nothing is built.
  if want micro; then
    echo "bench.sh: micro needs the build tree's benchmarks; name the other parts, or unset SIDECAR" >&2
    exit 2
  fi
  [ -x "$SIDECAR" ] || { echo "bench.sh: SIDECAR=$SIDECAR is not an executable" >&2; exit 2; }
  export SIDECAR
  echo "using $SIDECAR (SIDECAR set: nothing built)"
else
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --buildtype=release -Db_ndebug=true -Dbenchmarks=true >/dev/null
  fi
  targets=(src/icaht-sidecar tools/icahtctl/icahtctl)
  want micro && for b in "${MICRO[@]}"; do targets+=("benchmarks/$b"); done
  echo "building ${targets[*]} in $BUILD_DIR"
  ninja -C "$BUILD_DIR" "${targets[@]}" >"$BUILD_DIR/bench-build.log" 2>&1 ||
    { tail -30 "$BUILD_DIR/bench-build.log"; echo "bench.sh: build failed" >&2; exit 1; }
fi
mkdir -p "$RESULTS_DIR"

status=0
# ---------------------------------------------------------------------------- micro
if want micro; then
  min_time="${MICRO_MIN_TIME:-0.5}"
  [ "${QUICK:-0}" = 1 ] && min_time=0.1
  : >"$RESULTS_DIR/micro.txt"
  jsons=()
  for b in "${MICRO[@]}"; do
    echo "== $b"
    if ! timeout 600 "$BUILD_DIR/benchmarks/$b" --benchmark_min_time="$min_time" \
        --benchmark_out="$RESULTS_DIR/.$b.json" --benchmark_out_format=json \
        | tee -a "$RESULTS_DIR/micro.txt"; then
      echo "bench.sh: $b failed" >&2; status=1
    fi
    [ -s "$RESULTS_DIR/.$b.json" ] && jsons+=("$RESULTS_DIR/.$b.json")
  done
  python3 - "$RESULTS_DIR/micro.md" "$RESULTS_DIR/micro.json" "${jsons[@]}" <<'PY'
import json, os, sys
md, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
merged = {"context": None, "benchmarks": []}
lines = ["## Micro benchmarks (Google Benchmark, release build)", "",
         "Command: `tools/bench.sh micro`. Time per iteration; for BM_MsgRing* it is wall time",
         "(two threads, the ring's wake-ups included).", "",
         "| executable | benchmark | time | CPU | iterations | throughput | label |",
         "|---|---|---:|---:|---:|---:|---|"]
def t(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.1f} ns"
for f in files:
    d = json.load(open(f))
    merged["context"] = merged["context"] or d.get("context")
    exe = os.path.basename(f)[1:-5]
    for b in d["benchmarks"]:
        merged["benchmarks"].append(dict(b, executable=exe))
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        thr = ""
        if "bytes_per_second" in b:
            thr = f"{b['bytes_per_second'] / 2**20:,.0f} MiB/s"
        elif "items_per_second" in b:
            thr = f"{b['items_per_second']:,.0f} items/s"
        lines.append(f"| {exe} | {b['name']} | {t(b['real_time'] * scale)} | "
                     f"{t(b['cpu_time'] * scale)} | {b['iterations']:,} | {thr} | "
                     f"{b.get('label', '')} |")
    os.remove(f)
ctx = merged["context"] or {}
lines += ["", f"Host: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
          f"load average {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))} at the start."]
json.dump(merged, open(out, "w"), indent=1)
open(md, "w").write("\n".join(lines) + "\n")
PY
fi

# ---------------------------------------------------------------------------- wrk, enriched, rss
if want wrk; then
  echo "== benchmarks/wrk/run.sh"
  benchmarks/wrk/run.sh || { echo "bench.sh: wrk/run.sh failed" >&2; status=1; }
fi
if want enriched; then
  echo "== benchmarks/wrk/enriched.sh"
  benchmarks/wrk/enriched.sh || { echo "bench.sh: wrk/enriched.sh failed" >&2; status=1; }
fi
if want rss; then
  echo "== benchmarks/rss.sh"
  benchmarks/rss.sh || { echo "bench.sh: rss.sh failed" >&2; status=1; }
  echo "== benchmarks/rss_enriched.sh"
  benchmarks/rss_enriched.sh || { echo "bench.sh: rss_enriched.sh failed" >&2; status=1; }
fi

echo
echo "results in $RESULTS_DIR:"
want micro && echo "  micro.md micro.json micro.txt   micro benchmarks"
want wrk && echo "  latest.md latest.csv latest.png side-by-side vs nginx and HAProxy"
want enriched && echo "  enriched.md enriched.csv       the enriched scenario vs HAProxy and nginx"
want rss && echo "  rss.md rss.csv register_latency.jsonl   memory and register->serving (rss_enriched.*: every feature on)"
exit $status
