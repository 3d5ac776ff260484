# enriched.sh's targets: each proxy's configuration for the enriched scenario and how it is
# started (sourced by enriched.sh after common.sh, the key and token, the trace collector and
# the backend; uses their variables: TMP, KEYS, ORIGIN, BACKEND_PORT, COLLECTOR_PORT, the
# ports, ACCESS_LOG, PROXY_CPU, SIDECAR, SIDECAR_BASE).
# shellcheck shell=bash
# shellcheck disable=SC2153,SC2154  # the variables above are enriched.sh's

# icaht_record NAME SERVICE PORT: one service with every feature of the scenario (icaht_bare:
# none, as run.sh's).
icaht_record() {
  if [ "$1" = icaht_bare ]; then
    printf '{"name":"%s","upstreams":["127.0.0.1:%s"],"port":%s%s}' "$2" "$BACKEND_PORT" "$3" \
      "${ICAHT_BARE_FIELDS:+,$ICAHT_BARE_FIELDS}"
    return
  fi
  printf '%s' '{"name": "'"$2"'", "upstreams": ["127.0.0.1:'"$BACKEND_PORT"'"], "port": '"$3"', ' \
    '"request_id": {}, ' \
    '"auth": {"jwt": {"issuer": "https://id.bench", "audiences": ["bench"], ' \
    '"jwks_file": "'"$KEYS"'/jwks.json", "algorithms": ["RS256"], ' \
    '"forward_claims": {"sub": "X-User-Id"}}}, ' \
    '"cors": {"allow_origins": ["'"$ORIGIN"'"], "expose_headers": ["X-Request-Id"]}, ' \
    '"rate_limit": {"requests_per_second": 10000000, "burst": 1000000000, "key": "client_ip"}, ' \
    '"tracing": {"sample_ratio": 0.01}}'
}

start_icaht_bare() {
  # shellcheck disable=SC2086  # ICAHT_BARE_ARGS is a list of flags
  start_icaht_daemon icaht_bare "$SIDECAR" "$ICAHT_BARE_PORT" "$ICAHT_BARE_OPS" 0 ${ICAHT_BARE_ARGS:-}
}
start_icaht() {
  start_icaht_daemon icaht "$SIDECAR" "$ICAHT_PORT" "$ICAHT_OPS" 0 \
    --access-log "${ACCESS_LOG[icaht]}" \
    --trace-endpoint "http://127.0.0.1:$COLLECTOR_PORT/v1/traces"
}
start_icaht_base() {
  start_icaht_daemon icaht_base "$SIDECAR_BASE" "$ICAHT_BASE_PORT" "$ICAHT_BASE_OPS" 0 \
    --access-log "${ACCESS_LOG[icaht_base]}" \
    --trace-endpoint "http://127.0.0.1:$COLLECTOR_PORT/v1/traces"
}

# HAProxy: run.sh's settings plus the enrichment. Every check is an `http-request deny ... 401`;
# the token's signature is checked last (the cheap checks first, as one would configure it).
# Its log lines go to stdout, which is the access log file. (Opened O_APPEND, but HAProxy's
# F_SETFL O_NONBLOCK on it clears that: it keeps writing at its own offset after a truncation.)
# haproxy_config NAME PORT PROM_PORT CACHE: the config of target NAME; CACHE=1 skips the signature
# check for a token found in the stick-table of verified tokens (and adds a verified one to it).
haproxy_config() {
  local name="$1" port="$2" prom="$3" cache="$4" skip=""
  if [ "$cache" = 1 ]; then skip="{ sc_get_gpt0(1) -m int 1 } ||"; fi
  haproxy_head "$TMP/$name.pid"
  cat <<EOF
frontend main
  bind 127.0.0.1:$port
  log stdout format raw local0
  log-format '{"time":"%tr","frontend":"%f","method":"%HM","path":%{+Q}HU,"protocol":"%HV","status":%ST,"request_bytes":%U,"response_bytes":%B,"duration_ms":%Ta,"upstream_ms":%Tr,"upstream":"%si:%sp","request_id":"%ID","user":"%[var(txn.sub)]","client":"%ci","user_agent":%{+Q}[capture.req.hdr(0)]}'
  capture request header User-Agent len 128
  unique-id-format %[uuid()]
  unique-id-header X-Request-Id
  http-request set-var(txn.origin) req.hdr(origin)
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.jwt_alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 unless { var(txn.jwt_alg) -m str RS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str https://id.bench }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.aud') -m str bench }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.exp','int'),sub(txn.now) -m int gt 0 }
EOF
  if [ "$cache" = 1 ]; then
    echo "  http-request track-sc1 var(txn.bearer),sha2(256) table verified_tokens"
  fi
  echo "  http-request deny deny_status 401 unless $skip { var(txn.bearer),jwt_verify(txn.jwt_alg,\"$KEYS/public.pem\") -m int 1 }"
  if [ "$cache" = 1 ]; then
    echo "  http-request sc-set-gpt0(1) 1"
  fi
  cat <<EOF
  http-request set-var(txn.sub) var(txn.bearer),jwt_payload_query('\$.sub')
  http-request set-header X-User-Id %[var(txn.sub)]
  http-request track-sc0 src table ratelimit
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }
  http-response set-header X-Request-Id %[unique-id]
  http-response set-header Access-Control-Allow-Origin %[var(txn.origin)] if { var(txn.origin) -m str $ORIGIN }
  http-response set-header Access-Control-Expose-Headers X-Request-Id if { var(txn.origin) -m str $ORIGIN }
  http-response add-header Vary Origin
  default_backend main
frontend prometheus
  bind 127.0.0.1:$prom
  http-request use-service prometheus-exporter if { path /metrics }
backend ratelimit
  stick-table type ip size 100k expire 30s store http_req_rate(10s)
backend main
  server backend 127.0.0.1:$BACKEND_PORT
EOF
  if [ "$cache" = 1 ]; then
    printf '%s\n' "backend verified_tokens" \
      "  stick-table type binary len 32 size 10k expire 60s store gpt0"
  fi
}

# haproxy_start NAME PORT PROM_PORT CACHE: writes, checks (haproxy -c) and starts target NAME.
haproxy_start() {
  local name="$1" cfg="$TMP/$1.cfg"
  haproxy_config "$@" >"$cfg"
  check_ports_free "$2" "$3"
  haproxy -c -q -f "$cfg" >"$TMP/$name.check" 2>&1 ||
    die "bad haproxy config $cfg: $(cat "$TMP/$name.check")"
  # exec: the shell becomes haproxy (the pid is HAProxy's), with stdout on the access log.
  start_bg "$TMP/$name.log" taskset -c "$PROXY_CPU" \
    sh -c 'exec haproxy -db -f "$1" >>"$2"' sh "$cfg" "${ACCESS_LOG[$name]}"
  PROXY_PID=$LAST_PID; PROXY_PORT=$2
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}
start_haproxy() { haproxy_start haproxy "$HAPROXY_PORT" "$HAPROXY_PROM" 0; }
start_haproxy_jwtcache() {
  haproxy_start haproxy_jwtcache "$HAPROXY_JWTCACHE_PORT" "$HAPROXY_JWTCACHE_PROM" 1
}

# nginx: run.sh's proxy settings plus the enrichment nginx can do without extra modules.
start_nginx() {
  cat >"$TMP/nginx.conf" <<EOF
$(nginx_common nginx)
http {
$(nginx_proxy_http)

  # Request IDs: an incoming X-Request-Id is kept (as icaht's trust_incoming), else \$request_id.
  map \$http_x_request_id \$rid { default \$http_x_request_id; "" \$request_id; }
  # CORS: only the allowed origin is echoed (an empty value adds no header).
  map \$http_origin \$cors_origin { default ""; "$ORIGIN" \$http_origin; }
  map \$http_origin \$cors_expose { default ""; "$ORIGIN" "X-Request-Id"; }
  limit_req_zone \$binary_remote_addr zone=perip:10m rate=10000000r/s;
  log_format enriched escape=json '{"time":"\$time_iso8601","method":"\$request_method",'
    '"path":"\$request_uri","protocol":"\$server_protocol","status":\$status,'
    '"request_bytes":\$request_length,"response_bytes":\$bytes_sent,'
    '"duration_s":\$request_time,"upstream_s":"\$upstream_header_time",'
    '"upstream":"\$upstream_addr","request_id":"\$rid","client":"\$remote_addr",'
    '"user_agent":"\$http_user_agent"}';

  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    access_log ${ACCESS_LOG[nginx]} enriched buffer=64k flush=1s;
    limit_req zone=perip burst=1000000 nodelay;
    limit_req_status 429;
    location / {
      proxy_pass http://backend;
      proxy_set_header Connection "";
      proxy_set_header X-Request-Id \$rid;
      add_header X-Request-Id \$rid always;
      add_header Access-Control-Allow-Origin \$cors_origin always;
      add_header Access-Control-Expose-Headers \$cors_expose always;
      add_header Vary Origin always;
    }
  }
  server {
    listen 127.0.0.1:$NGINX_STATUS;
    access_log off;
    location = /metrics { stub_status; }
  }
}
EOF
  check_ports_free "$NGINX_PORT" "$NGINX_STATUS"
  start_bg "$TMP/nginx.log" taskset -c "$PROXY_CPU" nginx -p "$TMP" -e "$TMP/nginx.error.log" -c "$TMP/nginx.conf"
  PROXY_PID=$LAST_PID; PROXY_PORT=$NGINX_PORT
  wait_listen "$PROXY_PORT" "$PROXY_PID"
}
