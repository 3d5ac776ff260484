#!/usr/bin/env bash
# Issue 17's scale goals with every feature of the enriched scenario configured on every
# service: request IDs, JWT (RS256, a JWKS file), CORS, a rate limit, metrics, tracing at 1 %
# (to a loopback collector that answers 200) and a JSON access log to a file. Runs
# benchmarks/rss.sh with those records: RSS with 1,000 and 10,000 services (goal with 2 shards:
# <= 100 MiB), register -> serving p99 with 8,900 services registered before (goal <= 5 ms at
# that size; LAT_BASE), and GET /metrics with traffic on 1,000
# services (goal <= 50 ms). Writes benchmarks/results/rss_enriched.{md,csv}.
#
#   benchmarks/rss_enriched.sh              # SHARDS="1 2" COUNTS="1 1000 10000" by default
#   SHARDS=2 COUNTS="1000 10000" benchmarks/rss_enriched.sh
#
# Needs python3 with cryptography (Debian: python3-cryptography).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d /tmp/icaht-rss-enriched.XXXXXX)"
COLLECTOR_PID=""
cleanup() {
  [ -z "$COLLECTOR_PID" ] || kill "$COLLECTOR_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$WORK/jwks.json" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric import rsa
numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
def b64(n):
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
with open(sys.argv[1], "w") as f:
    json.dump({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                         "n": b64(numbers.n), "e": b64(numbers.e)}]}, f)
PY

# A collector that takes every span batch (none is expected: the services get one request
# each at most, and 1 % of those are sampled).
COLLECTOR_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 - "$COLLECTOR_PORT" >/dev/null 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
COLLECTOR_PID=$!

RECORD_FIELDS="$(python3 - "$WORK/jwks.json" <<'PY'
import json, sys
print(json.dumps({
    "request_id": {},
    "auth": {"jwt": {"issuer": "https://id.bench", "audiences": ["bench"], "jwks_file": sys.argv[1],
                     "algorithms": ["RS256"], "required": False}},
    "cors": {"allow_origins": ["https://app.bench"]},
    "rate_limit": {"requests_per_second": 1000000, "key": "client_ip"},
    "tracing": {"sample_ratio": 0.01},
}))
PY
)"
export RECORD_FIELDS
export DAEMON_ARGS="--access-log $WORK/access.log --trace-endpoint http://127.0.0.1:$COLLECTOR_PORT/v1/traces"
# The latency at that size: 1,000 timed registrations after 8,900 (9,900 services: 2 shards
# need a descriptor per service each, and RLIMIT_NOFILE is 20,000 here).
export LAT_BASE="${LAT_BASE:-8900}"
export RESULTS_NAME="${RESULTS_NAME:-rss_enriched}" HAPROXY="${HAPROXY:-0}" METRICS_AT="${METRICS_AT:-1000}"
"$HERE/rss.sh"
