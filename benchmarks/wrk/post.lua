-- POST with a fixed body (16 KiB by default; POST_BYTES overrides) on every request.
-- The backend of run.sh answers POST /post with a 3-byte "ok\n" after reading the body, so this
-- measures the request-body direction: the proxy receives, forwards and frames 16 KiB upstream.
-- usage: wrk -s benchmarks/wrk/post.lua -c 64 http://127.0.0.1:PORT/post
local size = tonumber(os.getenv("POST_BYTES") or "") or 16384
wrk.method = "POST"
wrk.body = string.rep("x", size)
wrk.headers["Content-Type"] = "application/octet-stream"
-- wrk.format() adds Content-Length for a non-nil body.
