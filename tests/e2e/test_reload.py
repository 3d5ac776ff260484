#!/usr/bin/env python3
"""Reload (issue 11): POST /v1/reload and SIGHUP read the --config file again; static services
are added, updated in place (ports kept) and removed; the log level changes at once; settings
that cannot change at runtime are reported as needing a restart; a broken file is refused with
its reason and changes nothing; systemd hears RELOADING=1 (with MONOTONIC_USEC) then READY=1."""

import json
import os
import signal

import harness
from harness import E2ETestCase, curl, record, url, wait_until
from test_systemd_notify import NotifyReceiver


class ReloadTest(E2ETestCase):
    def write(self, path, services, **settings):
        doc = dict(settings, services=services)
        with open(path, "w") as f:
            json.dump(doc, f)

    def names(self, d):
        return {s["name"]: s for s in d.services()["services"]}

    def test_reload_diffs_static_services(self):
        a_up = self.start_upstream("a-up")
        b_up = self.start_upstream("b-up")
        receiver = NotifyReceiver()
        self.addCleanup(receiver.close)
        conf = os.path.join(harness.tempfile.mkdtemp(prefix="icaht-reload-"), "config.json")
        self.addCleanup(harness.shutil.rmtree, os.path.dirname(conf), True)
        self.write(conf, [record("a", [a_up.address]), record("b", [b_up.address])])
        d = self.start_daemon(shards=2, extra_args=("--config", conf),
                              env=dict(os.environ, NOTIFY_SOCKET=receiver.path))
        before = self.names(d)
        d.register(record("dyn", [a_up.address]))  # admin-registered: a reload leaves it be

        # a: new upstream; b: gone; c: new; a setting only a restart changes.
        self.write(conf, [record("a", [b_up.address]), record("c", [a_up.address])],
                   log_level="debug", drain_timeout_ms=1234, egress_allow=["*.example.com"])
        r = d.admin("POST", "/v1/reload")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"added": ["c"], "updated": ["a"], "removed": ["b"],
                                  "unchanged": 0, "failed": [],
                                  "restart_needed": ["egress_allow", "drain_timeout_ms"]})
        now = self.names(d)
        self.assertEqual(sorted(now), ["a", "c", "dyn"])
        self.assertEqual(now["a"]["port"], before["a"]["port"])  # updated in place
        self.assertEqual(curl(url(now["a"]["port"], "/a")).json["upstream"], "b-up")
        self.assertEqual(curl(url(now["c"]["port"], "/c")).status, 200)
        reloading = receiver.lines("RELOADING=1")
        self.assertEqual(len(reloading), 1)
        self.assertIn("MONOTONIC_USEC=", reloading[0][1])
        wait_until(lambda: [t for t, _ in receiver.lines("READY=1") if t >= reloading[0][0]], 5,
                   what="READY=1 after the reload")

        # The same file again: nothing to do.
        r = d.admin("POST", "/v1/reload")
        self.assertEqual((r.json["added"], r.json["updated"], r.json["removed"],
                          r.json["unchanged"]), ([], [], [], 2))

        # A broken file: refused with its reason, nothing changes.
        with open(conf, "w") as f:
            f.write('{"services": [{"name": "x"')
        r = d.admin("POST", "/v1/reload")
        self.assertEqual(r.status, 400, r)
        self.assertIn("config.json", r.json["error"]["message"])
        self.assertEqual(sorted(self.names(d)), ["a", "c", "dyn"])
        self.assertIn("reload refused", d.stderr())

        # SIGHUP does the same.
        self.write(conf, [record("a", [b_up.address]), record("c", [a_up.address]),
                          record("e", [a_up.address])])
        d.send_signal(signal.SIGHUP)
        wait_until(lambda: "e" in self.names(d), 10, what="the service SIGHUP added")
        wait_until(lambda: "reloaded: 1 added" in d.stderr(), 5, what="the reload logged")

        # The reloaded statics are not saved as admin registrations: after a restart
        # without the file only "dyn" comes back.
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    harness.main()
