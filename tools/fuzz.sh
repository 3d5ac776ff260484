#!/usr/bin/env bash
# Usage: tools/fuzz.sh [SECONDS]   (default 60)
# Builds the libFuzzer targets in build-fuzz (configuring it with clang if needed), runs each for
# SECONDS on a scratch copy of its committed corpus (tests/fuzz/corpus/<name>) with its
# dictionary (tests/fuzz/<name>.dict, else tests/fuzz/http.dict), and prints "<target>: N execs"
# per target. Exits non-zero if a target fails to build or finds a crash, leak, sanitizer report
# or timeout; the offending inputs are kept in build-fuzz/fuzz-artifacts/.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
seconds="${1:-60}"
dir=build-fuzz
targets=(request_parser_fuzz response_parser_fuzz chunked_fuzz trace_context_fuzz tls_handshake_fuzz)

if [ ! -f "$dir/build.ninja" ]; then
  CXX=clang++ meson setup "$dir" -Dfuzzers=true -Dbenchmarks=false -Db_lundef=false >/dev/null ||
    { echo "meson setup $dir failed"; exit 1; }
fi
ninja -C "$dir" "${targets[@]/#/tests/fuzz/}" >"$dir/fuzz-build.log" 2>&1 ||
  { tail -40 "$dir/fuzz-build.log"; echo "building the fuzz targets failed"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$root/$dir/fuzz-artifacts"
status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus" "$artifacts"
  cp "tests/fuzz/corpus/${t%_fuzz}/"* "$corpus/" 2>/dev/null
  log="$work/$t.log"
  dict="$root/tests/fuzz/${t%_fuzz}.dict"
  [ -f "$dict" ] || dict="$root/tests/fuzz/http.dict"
  (cd "$work" && "$root/$dir/tests/fuzz/$t" "$corpus" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -dict="$dict" -print_final_stats=1 \
    -artifact_prefix="$artifacts/$t-") >"$log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  echo "$t: ${execs:-0} execs"
  if [ $rc -ne 0 ]; then
    status=1
    tail -40 "$log"
    echo "$t FAILED (exit $rc); inputs in $artifacts"
  fi
done
exit $status
