#!/usr/bin/env python3
"""Registrations survive a restart (state dir), static services are not persisted,
and a damaged state file is set aside without keeping the daemon down."""

import json
import os
import unittest

import harness

from harness import E2ETestCase, LOOPBACK, curl, record, url


class PersistenceTest(E2ETestCase):
    def restart_args(self, first):
        """Flags for a second daemon sharing the first one's state dir and port range."""
        def args(d):
            return ["--admin-socket", d.admin_socket,
                    "--ops-listen", "%s:%d" % (LOOPBACK, d.ops_port),
                    "--shards", "2",
                    "--port-range", "%d-%d" % (first.range_start, first.range_end),
                    "--state-dir", first.state_dir,
                    "--bind-address", LOOPBACK]
        return args

    def test_registrations_survive_restart(self):
        first = self.start_daemon(shards=2)
        up = self.start_upstream("up")
        auto = first.register(record("auto", [up.address]))["port"]
        fixed_port = first.spare_ports[0]
        first.register(record("fixed", [up.address], port=fixed_port))
        before = first.services()
        self.assertEqual(first.stop(), 0)

        second = self.start_daemon(args=self.restart_args(first), name="restarted")
        self.assertEqual(second.services(), before)
        for port, prefix in ((auto, "/auto"), (fixed_port, "/fixed")):
            r = curl(url(port, prefix))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(json.loads(r.body)["upstream"], "up")

        # A deregistration is persisted too.
        second.deregister("auto")
        self.assertEqual(second.stop(), 0)
        third = self.start_daemon(args=self.restart_args(first), name="third")
        self.assertEqual([s["name"] for s in third.services()["services"]], ["fixed"])

    def test_damaged_state_file_is_set_aside(self):
        first = self.start_daemon(shards=1)
        self.assertEqual(first.stop(), 0)
        path = os.path.join(first.state_dir, "services.json")
        with open(path, "w") as f:
            f.write('{"services": [{"name": "x"')
        second = self.start_daemon(args=self.restart_args(first), name="after-damage")
        self.assertEqual(second.services()["services"], [])
        self.assertTrue(os.path.exists(path + ".bad"))
        self.assertIn("ignoring saved registrations", second.stderr())


if __name__ == "__main__":
    harness.main()
