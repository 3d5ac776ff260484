#!/usr/bin/env bash
# The edge-policy budget (issue 9): the same service with and without JWT
# (a cached RS256 token) + CORS (an allowed Origin) + a rate limit keyed by
# client IP (never refusing), interleaved in one run: `icaht` is the plain
# service, `icaht_rid` the one with the policy, wrk sending the token and the
# Origin to both (the same traffic: only the policy differs). Reports CPU per
# request of each (run.sh's tables) and the paired difference, the policy's
# cost, against its budget (1.5 µs).
#
#   benchmarks/wrk/edge_policy.sh            # SIZES=5B CONNS=64 REPEAT=5 by default
#   REPEAT=7 DURATION=5 benchmarks/wrk/edge_policy.sh
#
# Needs python3 with PyJWT and cryptography (Debian: python3-jwt python3-cryptography).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
KEYS="$(mktemp -d /tmp/icaht-edge-bench.XXXXXX)"
trap 'rm -rf "$KEYS"' EXIT

# A key pair, its JWKS file and one token valid for two hours.
TOKEN="$("$PY" - "$KEYS" <<'EOF'
import json, sys, time
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
out = sys.argv[1]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
public.update({"kid": "bench-1", "alg": "RS256", "use": "sig"})
with open(out + "/jwks.json", "w") as f:
    json.dump({"keys": [public]}, f)
now = int(time.time())
claims = {"iss": "https://id.bench", "aud": "bench", "sub": "bench-user", "iat": now,
          "exp": now + 7200, "scope": "read"}
print(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench-1"}))
EOF
)"

RID_FIELDS="$(printf '%s' \
  '"auth": {"jwt": {"issuer": "https://id.bench", "audiences": ["bench"], ' \
  '"jwks_file": "'"$KEYS"'/jwks.json", "algorithms": ["RS256"], ' \
  '"forward_claims": {"sub": "X-User-Id"}}}, ' \
  '"cors": {"allow_origins": ["https://app.bench"], "expose_headers": ["X-Request-Id"]}, ' \
  '"rate_limit": {"requests_per_second": 10000000, "burst": 1000000000, "key": "client_ip"}')"
export RID_FIELDS
export RID_LABEL="JWT (cached) + CORS + rate limit" RID_BUDGET_US=1.5
export WRK_HEADERS="Authorization: Bearer $TOKEN|Origin: https://app.bench"
export PROXIES="${PROXIES:-icaht icaht_rid}"
export SIZES="${SIZES:-5B}" CONNS="${CONNS:-64}" SCENARIOS="${SCENARIOS:-matrix}"
export REPEAT="${REPEAT:-5}"
export RESULTS_DIR="${RESULTS_DIR:-/tmp/icaht-edge-policy}"
"$HERE/run.sh"
