#!/usr/bin/env python3
"""When io_uring is refused (EPERM, as under a seccomp profile), the daemon exits at start
with one line that says so and how to fix it."""

import os
import subprocess
import tempfile
import unittest

import harness


class UringRefusedTest(unittest.TestCase):
    def test_refused_io_uring_exits_with_one_clear_line(self):
        shim = os.environ.get("ICAHT_URING_REFUSE_SHIM")
        if not shim or not harness.SIDECAR:
            self.skipTest("shim or daemon not built")
        with tempfile.TemporaryDirectory() as tmp:
            # An ASan build wants its runtime first; the shim has none to clash with.
            env = dict(os.environ, LD_PRELOAD=shim,
                       ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
            proc = subprocess.run(
                [harness.SIDECAR, "--admin-socket", os.path.join(tmp, "admin.sock"),
                 "--state-dir", tmp, "--ops-listen", "127.0.0.1:0", "--shards", "1"],
                env=env, capture_output=True, text=True, timeout=20)
        self.assertNotEqual(proc.returncode, 0)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn("io_uring", lines[0])
        self.assertIn("seccomp", lines[0])
        self.assertIn("Operation not permitted", lines[0])


if __name__ == "__main__":
    harness.main()
