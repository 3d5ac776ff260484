#!/usr/bin/env python3
"""Native plugins (issue 15, the record's `plugins`) through the real daemon on 2 shards, with
the example plugins meson builds (plugins/examples) and --plugin-dir pointed at their build
directory: the HMAC plugin's signature reaches the upstream on every shard; the maintenance
plugin answers 503 locally while its file exists and the upstream never sees those requests;
a plugin that pauses (the HMAC plugin's delay_ms) holds its request on a host timer while the
shard serves others, then resumes it signed; a path outside --plugin-dir, a missing file and
a config the plugin refuses are each refused naming the field, and leave the registry as it
was; the record reads back with its plugins; a plugin that misbehaves (an unknown verdict,
invalid or oversized headers, a framing header, RESPOND or PAUSE not set up) gets each such
request answered 500 with a log line, and the daemon keeps serving. The plugins are copied into
a plugin directory of the test's own."""

import hashlib
import hmac
import json
import os
import shutil
import tempfile
import threading
import time

import harness
from harness import record, wait_until
from http_peers import SharedDaemonTestCase
from http_wire import get_on_new_connection as get

BUILT = os.environ.get("ICAHT_PLUGIN_DIR", "")
TMP = tempfile.mkdtemp(prefix="icaht-plugins-")
PLUGIN_DIR = os.path.join(TMP, "plugins")
HMAC = os.path.join(PLUGIN_DIR, "libicaht_hmac_sign.so")
MAINTENANCE = os.path.join(PLUGIN_DIR, "libicaht_maintenance.so")
MISBEHAVING = os.path.join(PLUGIN_DIR, "libicaht_misbehaving.so")


def signature(key, method, path):
    return hmac.new(key.encode(), ("%s %s" % (method, path)).encode(), hashlib.sha256).hexdigest()


class PluginsTest(SharedDaemonTestCase):
    @classmethod
    def daemon_args(cls):
        return ("--plugin-dir", PLUGIN_DIR)

    @classmethod
    def setUpClass(cls):
        built = [os.path.join(BUILT, "libicaht_hmac_sign.so"),
                 os.path.join(BUILT, "libicaht_maintenance.so"),
                 os.environ.get("ICAHT_MISBEHAVING_PLUGIN", "")]
        if not all(os.path.exists(p) for p in built):
            raise harness.unittest.SkipTest("the plugins are not built (ICAHT_PLUGIN_DIR)")
        os.makedirs(PLUGIN_DIR, exist_ok=True)
        for p in built:
            shutil.copy(p, PLUGIN_DIR)
        super().setUpClass()
        cls.addClassCleanup(shutil.rmtree, TMP, True)

    def setUp(self):
        super().setUp()
        self.up = self.start_http_upstream("up")

    def register(self, name, plugins):
        return self.d.register(record(name, [self.up.address], plugins=plugins))["port"]

    def test_signature_header_on_every_shard(self):
        port = self.register("signed", [{"path": HMAC, "config": {"key": "k1"}}])
        for i in range(12):
            path = "/signed/item/%d" % i
            status, _, body, _ = get(port, path + "?q=1")
            self.assertEqual(status, 200, body)
            seen = json.loads(body)["headers"]
            self.assertEqual(seen.get("x-icaht-signature"), signature("k1", "GET", path))
        self.assertEqual(self.up.count, 12)

    def test_signature_header_name_from_config(self):
        port = self.register("signed2", [{"path": HMAC,
                                          "config": {"key": "other", "header": "x-sig"}}])
        status, _, body, _ = get(port, "/a", headers={"X-Sig": "forged"})
        self.assertEqual(status, 200)
        seen = json.loads(body)["headers"]
        self.assertEqual(seen.get("x-sig"), signature("other", "GET", "/a"))  # replaced

    def test_maintenance_answers_locally_while_the_file_exists(self):
        switch = os.path.join(TMP, "maintenance-on")
        port = self.register("maint", [{"path": MAINTENANCE, "config": {
            "file": switch, "message": "back soon\n", "retry_after_s": 30,
            "check_interval_ms": 50}}])
        self.assertEqual(get(port)[0], 200)
        before = self.up.count
        with open(switch, "w"):
            pass
        created = time.monotonic()
        # Every shard looks at the file within its interval (50 ms): once it
        # has passed, none may answer from its last look.
        wait_until(lambda: time.monotonic() - created > 0.1
                   and all(get(port)[0] == 503 for _ in range(6)), 5,
                   what="503 from every shard")
        status, headers, body, _ = get(port)
        self.assertEqual((status, body), (503, b"back soon\n"))
        self.assertEqual(headers.get("retry-after"), "30")
        upstream_seen = self.up.count
        for _ in range(5):
            self.assertEqual(get(port)[0], 503)
        self.assertEqual(self.up.count, upstream_seen, "a 503 went upstream")
        self.assertGreater(upstream_seen, before - 1)
        os.unlink(switch)
        wait_until(lambda: all(get(port)[0] == 200 for _ in range(6)), 5,
                   what="200 again on every shard")

    def test_pause_and_resume_on_a_timer(self):
        slow = self.register("paused", [{"path": HMAC, "config": {"key": "k", "delay_ms": 400}}])
        fast = self.register("unpaused", [{"path": HMAC, "config": {"key": "k"}}])
        results = {}

        def slow_request():
            results["slow"] = get(slow, "/p")
        t = threading.Thread(target=slow_request)
        t.start()
        # While it is paused, the shards go on serving (a second paused exchange too).
        wait_until(lambda: self.d.alive() and get(fast, "/f")[0] == 200, 5, what="fast answer")
        fast_status, _, _, fast_seconds = get(fast, "/f")
        t.join(10)
        status, _, body, seconds = results["slow"]
        self.assertEqual(status, 200, body)
        self.assertGreaterEqual(seconds, 0.38)
        self.assertLess(fast_seconds, 0.3)
        self.assertEqual(json.loads(body)["headers"].get("x-icaht-signature"),
                         signature("k", "GET", "/p"))

    def test_bad_records_are_refused_and_change_nothing(self):
        outside = os.path.join(TMP, "libicaht_hmac_sign.so")
        shutil.copy(HMAC, outside)
        cases = [
            ({"path": outside}, "plugins[0].path", "outside the plugin directory"),
            ({"path": os.path.join(PLUGIN_DIR, os.path.relpath(outside, PLUGIN_DIR))},
             "plugins[0].path", "outside"),
            ({"path": os.path.join(PLUGIN_DIR, "nonexistent.so")}, "plugins[0].path", ""),
            ({"path": HMAC, "config": {}}, "plugins[0].config", "key"),
            ({"path": HMAC, "config": []}, "plugins[0].config", "must be an object"),
            ({"path": "relative.so"}, "plugins[0].path", "absolute"),
            ({"path": HMAC, "other": 1}, "plugins[0].other", "unknown"),
        ]
        for plugin, field, words in cases:
            r = self.d.admin("POST", "/v1/services",
                             record("refused", [self.up.address], plugins=[plugin]))
            self.assertApiError(r, 400, "invalid_argument", ["'%s'" % field, words])
        self.assertEqual(self.d.admin("GET", "/v1/services/refused").status, 404)
        # A PUT that adds a bad plugin leaves the service as it was.
        port = self.register("kept", [])
        r = self.d.admin("PUT", "/v1/services/kept",
                         record("kept", [self.up.address], plugins=[{"path": outside}]))
        self.assertEqual(r.status, 400)
        self.assertNotIn("plugins", self.d.admin("GET", "/v1/services/kept").json)
        self.assertEqual(get(port)[0], 200)

    def test_misbehaving_plugin_is_contained(self):
        port = self.register("misbehaving", [{"path": MISBEHAVING}])
        status, _, body, _ = get(port)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["headers"].get("x-behaved"), "yes")
        before = self.up.count
        for how in ("verdict", "crlf", "name", "big", "framing", "respond", "pause"):
            status, _, body, _ = get(port, headers={"X-Misbehave": how})
            self.assertEqual((status, body), (500, b"middleware error\n"), how)
            self.assertEqual(get(port)[0], 200, "after %s" % how)
        self.assertEqual(self.up.count, before + 7, "a refused request went upstream")
        self.assertIn("plugin 'misbehaving' (service 'misbehaving') on_request:", self.d.stderr())
        self.assertTrue(self.d.alive())

    def test_record_reads_back(self):
        self.register("readback", [{"path": HMAC, "config": {"key": "k", "delay_ms": 0}}])
        got = self.d.admin("GET", "/v1/services/readback").json
        self.assertEqual(got["plugins"], [{"path": HMAC, "config": {"key": "k", "delay_ms": 0}}])


if __name__ == "__main__":
    harness.main()
