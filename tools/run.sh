#!/usr/bin/env bash
# Builds icaht-sidecar and runs it on its embedded defaults (admin socket and
# state under $XDG_RUNTIME_DIR/icaht, or ./run; ops on 127.0.0.1:9901).
# Extra arguments go to the daemon, e.g. tools/run.sh --shards 1.
set -eu
cd "$(dirname "$0")/.."
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build src/icaht-sidecar tools/icahtctl/icahtctl >/dev/null
exec build/src/icaht-sidecar "$@"
