#!/usr/bin/env python3
"""What `meson install` ships (issue 11): the starting configuration passes --check-config, and
the systemd unit's sandbox keeps `systemd-analyze security` exposure low (when systemd-analyze
is here)."""

import os
import re
import shutil
import subprocess

import harness

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEMD = os.path.join(SOURCE, "systemd")


class InstallTest(harness.E2ETestCase):
    def test_shipped_config_is_valid(self):
        p = subprocess.run([harness.SIDECAR, "--config", os.path.join(SYSTEMD, "config.json"),
                            "--check-config"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout + p.stderr)

    def test_unit_exposure(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is not installed")
        p = subprocess.run([analyze, "security", "--offline=true",
                            os.path.join(SYSTEMD, "icaht-sidecar.service")],
                           capture_output=True, text=True, timeout=30)
        m = re.search(r"Overall exposure level for icaht-sidecar.service: ([0-9.]+)", p.stdout)
        if m is None and "offline" in p.stderr:
            self.skipTest("this systemd-analyze has no --offline: " + p.stderr.strip())
        self.assertIsNotNone(m, p.stdout + p.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0, p.stdout)
        for setting in ("Type=notify", "WatchdogSec=", "ProtectSystem=strict", "NoNewPrivileges=yes",
                        "SystemCallFilter=@system-service io_uring_setup"):
            with open(os.path.join(SYSTEMD, "icaht-sidecar.service")) as f:
                self.assertIn(setting, f.read())


if __name__ == "__main__":
    harness.main()
