#!/usr/bin/env python3
"""--config (with static services), --check-config, and flag errors."""

import json
import os
import subprocess
import tempfile

import harness
from harness import E2ETestCase, LOOPBACK, SIDECAR, curl, record, url


def run_sidecar(*args, timeout=15):
    return subprocess.run([SIDECAR] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


class ConfigTest(E2ETestCase):
    def setUp(self):
        if not SIDECAR:
            self.skipTest("ICAHT_SIDECAR is not set")
        self.tmp = tempfile.mkdtemp(prefix="icaht-e2e-config-", dir="/tmp")
        self.addCleanup(harness.shutil.rmtree, self.tmp, True)

    def write(self, name, content):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content, indent=2))
        return path

    def good_config(self, d, services):
        return {
            "admin_socket": d.admin_socket,
            "ops_listen": "%s:%d" % (LOOPBACK, d.ops_port),
            "shards": 2,
            "port_range": "%d-%d" % (d.range_start, d.range_end),
            "state_dir": d.state_dir,
            "bind_address": LOOPBACK,
            "services": services,
        }

    def test_static_services_are_served(self):
        a = self.start_upstream("a")
        b = self.start_upstream("b")
        paths = {}

        def args(d):
            fixed_port = d.range_start + 7
            paths["port"] = fixed_port
            cfg = self.good_config(d, [
                record("static-fixed", [a.address], port=fixed_port, version="s1"),
                record("static-auto", [{"address": b.address, "weight": 1}]),
            ])
            paths["config"] = self.write("daemon.json", cfg)
            return ["--config", paths["config"]]

        d = self.start_daemon(args=args)
        services = {s["name"]: s for s in d.services()["services"]}
        self.assertEqual(sorted(services), ["static-auto", "static-fixed"])
        self.assertEqual(services["static-fixed"]["port"], paths["port"])
        self.assertEqual(services["static-fixed"]["version"], "s1")
        auto_port = services["static-auto"]["port"]
        self.assertTrue(d.range_start <= auto_port <= d.range_end)
        self.assertEqual(curl(url(paths["port"], "/static-fixed")).json["upstream"], "a")
        self.assertEqual(curl(url(auto_port, "/static-auto")).json["upstream"], "b")
        # The admin API works next to static services.
        c = self.start_upstream("c")
        self.assertEqual(curl(url(d.register(record("dyn", [c.address]))["port"], "/")).status,
                         200)

        # --check-config accepts the very file the daemon runs with.
        p = run_sidecar("--check-config", "--config", paths["config"])
        self.assertEqual(p.returncode, 0, p)

    def test_flags_override_config_file(self):
        up = self.start_upstream("a")

        def args(d):
            cfg = self.good_config(d, [])
            cfg["port_range"] = "%d-%d" % (d.range_start, d.range_start + 9)
            path = self.write("override.json", cfg)
            return ["--config", path, "--port-range",
                    "%d-%d" % (d.range_start + 100, d.range_start + 109)]

        d = self.start_daemon(args=args)
        port = d.register(record("s", [up.address]))["port"]
        self.assertTrue(d.range_start + 100 <= port <= d.range_start + 109,
                        "port %d not from the --port-range flag" % port)

    def test_check_config_good_file(self):
        cfg = {
            "admin_socket": os.path.join(self.tmp, "admin.sock"),
            "ops_listen": "127.0.0.1:9901",
            "shards": 2,
            "port_range": "30100-30199",
            "state_dir": os.path.join(self.tmp, "state"),
            "bind_address": "127.0.0.1",
            "services": [record("orders", ["127.0.0.1:8080", {"address": "127.0.0.1:8081",
                                                              "weight": 2}], port=30105)],
        }
        p = run_sidecar("--check-config", "--config", self.write("good.json", cfg))
        self.assertEqual(p.returncode, 0, p)
        # Validation only: nothing was started or created.
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "admin.sock")))
        # An empty object is a valid config too (all defaults).
        p = run_sidecar("--check-config", "--config", self.write("empty.json", "{}"))
        self.assertEqual(p.returncode, 0, p)

    def check_bad(self, name, content, *mentions):
        path = self.write(name, content)
        p = run_sidecar("--check-config", "--config", path)
        self.assertNotEqual(p.returncode, 0, "bad config %s accepted: %r" % (name, content))
        message = p.stderr + p.stdout
        self.assertIn(path, message, "message should name the file: %r" % message)
        for m in mentions:
            self.assertIn(m, message, "message should mention %r: %r" % (m, message))
        return message

    def test_check_config_bad_files(self):
        self.check_bad("range.json", {"port_range": "9000-100"}, "port_range")
        self.check_bad("range2.json", {"port_range": "abc"}, "port_range")
        self.check_bad("shards.json", {"shards": "two"}, "shards")
        self.check_bad("noups.json", {"services": [{"name": "orders"}]},
                       "services[0]", "upstreams")
        self.check_bad("badup.json", {"services": [record("ok", ["127.0.0.1:1"]),
                                                   record("bad", ["nope"])]},
                       "services[1]", "upstreams[0]")
        self.check_bad("invalid.json", '{"shards": 2,', )
        self.check_bad("unknown.json", {"shardz": 2}, "shardz")
        self.check_bad("dup.json", {"services": [record("x", ["127.0.0.1:1"]),
                                                 record("x", ["127.0.0.1:2"])]},
                       "services")

    def test_missing_config_file(self):
        path = os.path.join(self.tmp, "does-not-exist.json")
        p = run_sidecar("--check-config", "--config", path)
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn(path, p.stderr)

    def test_bad_config_refuses_to_start(self):
        path = self.write("bad.json", {"port_range": "9000-100"})
        p = run_sidecar("--config", path)
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn(path, p.stderr)
        self.assertIn("port_range", p.stderr)

    def test_unknown_flag(self):
        p = run_sidecar("--definitely-not-a-flag")
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn("definitely-not-a-flag", p.stderr)
        p = run_sidecar("--port-range", "1-2-3", "--check-config")
        self.assertNotEqual(p.returncode, 0, p)
        self.assertIn("port", p.stderr)

    def test_help(self):
        p = run_sidecar("--help")
        self.assertEqual(p.returncode, 0, p)
        for flag in ("--admin-socket", "--ops-listen", "--shards", "--port-range",
                     "--state-dir", "--config", "--check-config"):
            self.assertIn(flag, p.stdout + p.stderr)


if __name__ == "__main__":
    harness.main()
