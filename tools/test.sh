#!/usr/bin/env bash
# Builds the sidecar and runs the whole test suite: unit tests, end-to-end
# tests (real daemon, real peers on loopback), and -- with --full or when CI is
# set -- the same suite under ASan+UBSan and a short run of every fuzzer.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
full=0
[ "${CI:-}" = "true" ] && full=1
[ "${1:-}" = "--full" ] && full=1
[ "${1:-}" = "--quick" ] && full=0

passed=0
failed=0
skipped=0

# count_log BUILD_DIR: add the results of a meson testlog to the totals.
count_log() {
  local log="$1/meson-logs/testlog.json"
  if [ ! -f "$log" ]; then failed=$((failed + 1)); return; fi
  read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

# run_suite BUILD_DIR [meson setup args...]   (SETUP_ENV: VAR=value pairs for meson setup)
SETUP_ENV=()
run_suite() {
  local dir="$1"; shift
  if [ ! -f "$dir/build.ninja" ]; then
    if ! env "${SETUP_ENV[@]}" meson setup "$dir" "$@" >"$dir.setup.log" 2>&1; then
      tail -20 "$dir.setup.log"; echo "meson setup $dir failed"; failed=$((failed + 1)); return
    fi
  fi
  if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
    tail -40 "$dir.ninja.log"; echo "build in $dir failed"; failed=$((failed + 1)); return
  fi
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${MESON_TEST_ARGS[@]}"
  count_log "$dir"
}

# Line tables only (-g1): enough for sanitizer reports and backtraces, and a
# third less compile time at -O2 than full debug information. Everything is
# built in unity blocks of four files (a third less compile time; each unit
# test file keeps its helpers in a namespace named after it, so that blocks
# do not collide), and the micro benchmarks are left to tools/bench.sh.
MESON_TEST_ARGS=()
run_suite build -Dcpp_args=-g1 -Dunity=on -Dbenchmarks=false

if [ $full = 1 ]; then
  # Sanitizers: the same tests against an ASan+UBSan build (slow e2e-only extras excluded).
  # UBSan's vptr check is off: at the fd limit (the fd-exhaustion tests) its first look at a
  # type needs a pipe to probe memory, fails with EMFILE and reports every such call as an
  # "invalid vptr" (a false positive that aborts the daemon with halt_on_error).
  # Compiled with clang when there is one (.ci/run installs it for the fuzzers): at -O0 with
  # the sanitizers it compiles this tree in two thirds of g++'s time, and the plain suite
  # above keeps g++ covered.
  MESON_TEST_ARGS=(--no-suite slow)
  if command -v clang++ >/dev/null; then SETUP_ENV=(CXX=clang++ CC=clang); fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=false -Dunity=on \
    -Dbuildtype=debug "-Dcpp_args=['-fno-sanitize=vptr','-g1']"
  if [ -x tools/fuzz.sh ]; then
    if tools/fuzz.sh "${FUZZ_SECONDS:-60}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  fi
fi

if [ $skipped -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
