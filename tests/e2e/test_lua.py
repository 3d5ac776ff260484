#!/usr/bin/env python3
"""Lua middleware (issue 15, the record's `lua`) through the real daemon on 2 shards to a real
loopback upstream: a script's request header reaches the upstream from every shard; an
API-key table in the record's config answers 401 locally; on_response changes the status and
adds a field; on_log writes a custom line to the daemon's log; a script that raises an error
and one that loops forever are both answered 500 and contained (the daemon and the same
script keep serving); a changed script is reloaded on every shard; a script that does not
compile is refused at registration naming the field and the line."""

import json
import os
import shutil
import tempfile

import harness
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_wire import get_on_new_connection as get

TMP = tempfile.mkdtemp(prefix="icaht-lua-")

SCRIPT = r"""
local keys = icaht.config.keys or {}

function on_request(req)
  local mode = req:header("x-mode")
  if mode == "error" then error("asked to fail") end
  if mode == "loop" then while true do end end
  if req:path():sub(1, 8) == "/private" then
    local who = keys[req:header("x-api-key") or ""]
    if not who then
      return req:respond(401, "unknown key\n", {["www-authenticate"] = "ApiKey"})
    end
    req:remove_header("x-api-key")
    req:set_header("x-caller", who)
  end
  icaht.shared.n = (icaht.shared.n or 0) + 1
  req:set_header("x-lua", "shard" .. icaht.shard)
end

function on_response(req, resp)
  resp:set_header("x-upstream-status", tostring(resp:status()))
  if req:path() == "/teapot" then resp:set_status(418) end
end

function on_log(e)
  if e.path == "/logme" then
    icaht.log(string.format("custom-line %s %s %d", e.method, e.path, e.status))
  end
end
"""


def write(path, text):
    """Replaces the file atomically (a new inode), as editors and deploy tools do."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class LuaTest(SharedDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(shutil.rmtree, TMP, True)

    def setUp(self):
        super().setUp()
        self.up = self.start_http_upstream("up")

    def register(self, name, text=SCRIPT, config=None):
        path = os.path.join(TMP, name + ".lua")
        write(path, text)
        lua = {"file": path}
        if config is not None:
            lua["config"] = config
        return self.d.register(record(name, [self.up.address], lua=lua))["port"], path

    def test_header_set_on_every_shard(self):
        port, _ = self.register("headers")
        shards = set()
        for _ in range(16):
            status, _, body, _ = get(port, "/x")
            self.assertEqual(status, 200, body)
            shards.add(json.loads(body)["headers"].get("x-lua"))
        self.assertTrue(shards <= {"shard0", "shard1"}, shards)
        self.assertTrue(shards, shards)

    def test_api_key_table_answers_locally(self):
        port, _ = self.register("keys", config={"keys": {"k-1": "billing"}})
        before = self.up.count
        status, headers, body, _ = get(port, "/private/a", {"X-API-Key": "nope"})
        self.assertEqual((status, body), (401, b"unknown key\n"))
        self.assertEqual(headers.get("www-authenticate"), "ApiKey")
        self.assertEqual(self.up.count, before)
        status, _, body, _ = get(port, "/private/a", {"X-API-Key": "k-1"})
        self.assertEqual(status, 200)
        seen = json.loads(body)["headers"]
        self.assertEqual(seen.get("x-caller"), "billing")
        self.assertNotIn("x-api-key", seen)

    def test_response_phase_and_custom_log_line(self):
        port, _ = self.register("phases")
        status, headers, _, _ = get(port, "/teapot")
        self.assertEqual(status, 418)
        self.assertEqual(headers.get("x-upstream-status"), "200")
        self.assertEqual(get(port, "/logme")[0], 200)
        wait_until(lambda: "custom-line GET /logme 200" in self.d.stderr(), 5,
                   what="the script's log line")

    def test_errors_and_runaway_loops_are_contained(self):
        port, _ = self.register("contained")
        status, _, body, _ = get(port, "/", {"X-Mode": "error"})
        self.assertEqual(status, 500)
        # Failure lines are rate-limited (one a second per shard): ask until one is written.
        wait_until(lambda: get(port, "/", {"X-Mode": "error"})[0] == 500 and
                   "contained.lua:6: asked to fail" in self.d.stderr(), 15, interval=0.2,
                   what="the error logged with the script's line")
        for _ in range(4):  # on both shards
            status, _, _, seconds = get(port, "/", {"X-Mode": "loop"}, timeout=30)
            self.assertEqual(status, 500)
            self.assertLess(seconds, 10)
        wait_until(lambda: get(port, "/", {"X-Mode": "loop"}, timeout=30)[0] == 500 and
                   "instruction limit" in self.d.stderr(), 15, interval=0.2,
                   what="the instruction limit logged")
        self.assertTrue(self.d.alive())
        for _ in range(6):
            self.assertEqual(get(port, "/fine")[0], 200)

    def test_changed_script_is_reloaded_on_every_shard(self):
        def script(version):
            return ('function on_request(req) req:set_header("x-version", "%s:" .. icaht.shard) '
                    'end\n' % version)
        port, path = self.register("reload", script(1))

        def answers():
            """{"version:shard"} over 8 requests (spread over the shards by the kernel)."""
            return {json.loads(get(port, "/")[2])["headers"].get("x-version") for _ in range(8)}

        def versions():
            return {a.split(":")[0] for a in answers()}
        self.assertEqual(versions(), {"1"})
        write(path, script(2))
        # Every shard, not just the ones a few requests happened to reach, must have loaded
        # version 2 before it is broken (a shard that never did keeps version 1).
        seen = set()

        def on_every_shard():
            now = answers()
            seen.update(now)
            return {a.split(":")[0] for a in now} == {"2"} and seen >= {"2:0", "2:1"}
        wait_until(on_every_shard, 10, what="version 2 on every shard")
        # A broken version is logged and the last good one stays.
        write(path, "function on_request(req) this is not lua\n")
        # (A shard looks at the file when a request comes, at most once a second.)
        wait_until(lambda: versions() == {"2"} and self.d.stderr().count("reload.lua:1:") >= 2,
                   10, what="the load error on both shards")
        self.assertEqual(versions(), {"2"})

    def test_bad_scripts_are_refused(self):
        bad = os.path.join(TMP, "bad.lua")
        write(bad, "local x = 1\nfunction on_request(req)\n  x = = 2\nend\n")
        cases = [
            ({"file": bad}, "lua.file", "bad.lua:3:"),
            ({"file": os.path.join(TMP, "missing.lua")}, "lua.file", "missing.lua"),
            ({"file": "relative.lua"}, "lua.file", "absolute"),
            ({"file": bad, "config": 3}, "lua.config", "must be an object"),
            ({}, "lua.file", "required"),
        ]
        for lua, field, words in cases:
            r = self.d.admin("POST", "/v1/services", record("refused", [self.up.address], lua=lua))
            self.assertApiError(r, 400, "invalid_argument", ["'%s'" % field, words])
        self.assertEqual(self.d.admin("GET", "/v1/services/refused").status, 404)

    def test_record_reads_back(self):
        _, path = self.register("readback", config={"a": [1, 2]})
        got = self.d.admin("GET", "/v1/services/readback").json
        self.assertEqual(got["lua"], {"file": path, "config": {"a": [1, 2]}})


if __name__ == "__main__":
    harness.main()
