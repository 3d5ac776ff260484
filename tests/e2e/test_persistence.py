#!/usr/bin/env python3
"""Registrations survive a restart (state dir), static services are not persisted,
and a damaged state file is set aside without keeping the daemon down. Restoring goes record by
record: a bad record is refused alone, a service whose port is taken stays registered (not
serving) and binds when the port frees up, every damaged file is kept, and admin calls answer
503 until the restore is complete."""

import glob
import json
import os
import socket
import threading
import time

import harness

from harness import E2ETestCase, LOOPBACK, admin_call, curl, record, url, wait_until


class PersistenceTest(E2ETestCase):
    def restart_args(self, first):
        """Flags for a second daemon sharing the first one's state dir and port range."""
        return harness.sharing_state(first)

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
        self.assertEqual(len(glob.glob(path + ".bad-*")), 1)
        self.assertIn("ignoring saved registrations", second.stderr())
        # A second damage keeps the first copy: a new, timestamped one is added.
        self.assertEqual(second.stop(), 0)
        with open(path, "w") as f:
            f.write('{"services": 7}')
        third = self.start_daemon(args=self.restart_args(first), name="after-second-damage")
        self.assertEqual(third.services()["services"], [])
        copies = sorted(glob.glob(path + ".bad-*"))
        self.assertEqual(len(copies), 2, copies)
        self.assertEqual([_read(c) for c in copies].count('{"services": 7}'), 1)

    def test_restore_keeps_good_records_refuses_bad_ones_and_waits_for_busy_ports(self):
        first = self.start_daemon(shards=2)
        up = self.start_upstream("up")
        good = first.register(record("good", [up.address]))["port"]
        busy = first.spare_ports[0]
        first.register(record("busy", [up.address], port=busy))
        self.assertEqual(first.stop(), 0)
        path = os.path.join(first.state_dir, "services.json")
        saved = json.loads(_read(path))
        saved["services"] += [
            {"name": "bad-port", "upstreams": [up.address], "port": "x"},
            {"name": "newer", "upstreams": [up.address], "port": first.spare_ports[1],
             "field_from_a_newer_version": 1},
            {"name": "good", "upstreams": [up.address]},  # a duplicate name
        ]
        with open(path, "w") as f:
            json.dump(saved, f)
        original = _read(path)
        # Another process holds the busy service's port when the daemon restarts.
        taker = socket.socket()
        taker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taker.bind((LOOPBACK, busy))
        taker.listen()
        self.addCleanup(taker.close)

        second = self.start_daemon(args=self.restart_args(first), name="restored")
        services = {s["name"]: s for s in second.services()["services"]}
        self.assertEqual(sorted(services), ["busy", "good"])
        self.assertTrue(services["good"]["serving"])
        self.assertFalse(services["busy"]["serving"])
        self.assertEqual(services["busy"]["port"], busy)
        self.assertEqual(curl(url(good, "/good")).status, 200)
        log = second.stderr()
        self.assertIn("services[2] ('bad-port'): field 'services[2].port'", log)
        self.assertIn("services[3] ('newer'): unknown field "
                      "'services[3].field_from_a_newer_version'", log)
        self.assertIn("not restoring saved service 'good': service 'good' is already", log)
        # The file as it was is kept; the saved state drops the refused records only.
        copies = glob.glob(path + ".bad-*")
        self.assertEqual([_read(c) for c in copies], [original])
        wait_until(lambda: sorted(s["name"] for s in json.loads(_read(path))["services"])
                   == ["busy", "good"], timeout=5, what="state rewritten without refused records")
        # The busy service can be updated meanwhile; it binds once the port is free.
        r = second.admin("PUT", "/v1/services/busy", record("busy", [up.address], version="2"))
        self.assertEqual(r.status, 200, r)
        taker.close()
        wait_until(lambda: second.admin("GET", "/v1/services/busy").json["serving"], timeout=10,
                   what="busy service serving after its port freed")
        self.assertEqual(second.admin("GET", "/v1/services/busy").json["version"], "2")
        self.assertEqual(curl(url(busy, "/busy")).json["upstream"], "up")

    def test_admin_calls_wait_for_the_whole_restore(self):
        first = self.start_daemon(shards=2)
        self.assertEqual(first.stop(), 0)
        n = 100
        with open(os.path.join(first.state_dir, "services.json"), "w") as f:
            json.dump({"services": [
                {"name": "s%03d" % i, "upstreams": ["127.0.0.1:9"], "port": first.range_start + i}
                for i in range(n)]}, f)
        answers = []
        stop = threading.Event()

        def poll():
            # From the daemon's first instant: every answer is 503 or the whole list.
            while not stop.is_set():
                try:
                    r = admin_call(first.admin_socket, "GET", "/v1/services", timeout=5)
                    answers.append((r.status, len(r.json["services"]) if r.status == 200 else
                                    r.json["error"]["code"]))
                except (OSError, ValueError, KeyError, TypeError):
                    time.sleep(0.001)

        t = threading.Thread(target=poll)
        t.start()
        try:
            self.start_daemon(args=self.restart_args(first), admin_socket=first.admin_socket,
                              name="restoring")
        finally:
            stop.set()
            t.join(timeout=10)
        self.assertTrue(answers)
        for status, what in answers:
            self.assertIn((status, what), [(503, "unavailable"), (200, n)])


def _read(path):
    with open(path) as f:
        return f.read()


if __name__ == "__main__":
    harness.main()
