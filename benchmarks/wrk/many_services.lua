-- Requests spread over many services. Each icaht service has its own port (routing is by port,
-- not by Host), and a wrk connection is bound to one address, so the spread is done per wrk
-- thread: setup() gives thread i the port PORTS[i % #PORTS]. Run with as many threads as ports
-- (-t 100 -c 100 for 100 services: one keep-alive connection per service) so every service gets
-- traffic; with fewer threads only the first -t ports are used.
--
-- PORTS (env): "LO-HI" or "P1,P2,..."; HOST (env) defaults to 127.0.0.1.
-- usage: PORTS=30400-30499 wrk -t100 -c100 -s benchmarks/wrk/many_services.lua http://127.0.0.1:30400/5
--
-- Honest caveat: 100 wrk threads on one CPU are a heavier client than one thread, so req/s here
-- says less than CPU per request, which is what this scenario is for (per-service state,
-- listener and pool lookups, cache footprint of 100 services' worth of connections).

local host = os.getenv("HOST") or "127.0.0.1"
local spec = os.getenv("PORTS") or error("many_services.lua: set PORTS=LO-HI or P1,P2,...")
local ports = {}
local lo, hi = spec:match("^(%d+)-(%d+)$")
if lo then
  for p = tonumber(lo), tonumber(hi) do ports[#ports + 1] = p end
else
  for p in spec:gmatch("%d+") do ports[#ports + 1] = tonumber(p) end
end
assert(#ports > 0, "many_services.lua: PORTS is empty")

local next_index = 0
function setup(thread)
  local port = ports[next_index % #ports + 1]
  next_index = next_index + 1
  local addrs = wrk.lookup(host, tostring(port))
  assert(addrs and #addrs > 0, "cannot resolve " .. host .. ":" .. port)
  thread.addr = addrs[1]
  thread:set("port", port)
end
