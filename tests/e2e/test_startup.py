#!/usr/bin/env python3
"""Start-up failures exit non-zero within a second with one clear line (also after the shards
started); "another daemon is running" is decided by the state directory's lock, so a restart
right after a kill -9 starts; a clean exit removes the admin socket (if it is still ours)."""

import os
import signal
import socket
import subprocess
import time

import harness
from harness import LOOPBACK, E2ETestCase, curl, record, url

EXIT_WITHIN_S = 1.0


def _read(path):
    with open(path) as f:
        return f.read()


class StartupTest(E2ETestCase):
    def setUp(self):
        self.first = self.start_daemon(shards=2)

    def args(self, admin_socket=None, state_dir=None, ops_port=None, extra=()):
        """Flags for another daemon, by default sharing nothing with the first one."""
        d = self.first
        tmp = os.path.join(d.dir, "other-%d" % len(os.listdir(d.dir)))
        os.makedirs(tmp)
        ops_port = ops_port or d.spare_ports[-1]
        return [harness.SIDECAR,
                "--admin-socket", admin_socket or os.path.join(tmp, "admin.sock"),
                "--state-dir", state_dir or os.path.join(tmp, "state"),
                "--ops-listen", "%s:%d" % (LOOPBACK, ops_port),
                "--egress-listen", "%s:%d" % (LOOPBACK, d.spare_ports[-2]),
                "--shards", "2",
                "--port-range", "%d-%d" % (d.spare_ports[0], d.spare_ports[9]),
                "--bind-address", LOOPBACK] + list(extra)

    def assert_fails_fast(self, argv, *needles):
        t0 = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                              stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
        self.assertNotEqual(proc.returncode, 0, proc.stderr)
        self.assertLess(elapsed, EXIT_WITHIN_S, "took %.2fs to fail: %s" % (elapsed, proc.stderr))
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        for needle in needles:
            self.assertIn(needle, lines[0])
        return lines[0]

    def test_second_daemon_on_the_same_socket_and_state_dir(self):
        self.assert_fails_fast(self.args(admin_socket=self.first.admin_socket,
                                         state_dir=self.first.state_dir),
                               "another icaht-sidecar (pid %d)" % self.first.proc.pid,
                               self.first.state_dir)
        self.assertEqual(self.first.admin("GET", "/v1/services").status, 200)

    def test_second_daemon_on_the_same_socket_with_its_own_state_dir(self):
        self.assert_fails_fast(self.args(admin_socket=self.first.admin_socket),
                               "admin socket", "in use by pid %d" % self.first.proc.pid)
        self.assertEqual(self.first.admin("GET", "/v1/services").status, 200)

    def test_ops_port_taken(self):
        self.assert_fails_fast(self.args(ops_port=self.first.ops_port), "ops listener",
                               "in use")

    def test_bad_state_dir(self):
        path = os.path.join(self.first.dir, "a-file")
        with open(path, "w") as f:
            f.write("not a directory\n")
        self.assert_fails_fast(self.args(state_dir=path), "state directory")

    def test_egress_port_in_use(self):
        # Not shared through SO_REUSEPORT with whoever holds it: start-up fails, naming the flag.
        self.assert_fails_fast(
            self.args(extra=["--egress-listen", "%s:%d" % (LOOPBACK, self.first.egress_port)]),
            "--egress-listen", "in use")

    def test_unreadable_egress_ca(self):
        self.assert_fails_fast(
            self.args(extra=["--egress-allow", "*.example.com", "--egress-ca", "/nonexistent.pem"]),
            "--egress-ca: /nonexistent.pem")

    def test_static_service_failing_after_the_shards_started(self):
        # The port is held by a plain listener: the shards' bind fails, after they started.
        taken = socket.socket()
        taken.bind((LOOPBACK, 0))
        taken.listen()
        self.addCleanup(taken.close)
        config = os.path.join(self.first.dir, "static.json")
        with open(config, "w") as f:
            f.write('{"services": [{"name": "s", "upstreams": ["127.0.0.1:1"], "port": %d}]}'
                    % taken.getsockname()[1])
        self.assert_fails_fast(self.args(extra=["--config", config]), "static service 's'")

    def test_restarts_right_after_kill_9_all_start(self):
        up = self.start_upstream("up")
        port = self.first.register(record("svc", [up.address]))["port"]
        # Saved (in the journal) before the answer came.
        self.assertIn('"svc"', _read(os.path.join(self.first.state_dir, "services.journal")))
        argv = self.first.argv
        current = self.first
        for i in range(30):
            # The next one starts at once, before the killed one is reaped (or even gone).
            killed = current
            killed.proc.send_signal(signal.SIGKILL)
            current = harness.Daemon(args=argv[1:], admin_socket=self.first.admin_socket,
                                     ops_port=self.first.ops_port, name="restart-%d" % i)
            self._daemons.append(current)
            self.addCleanup(self._stop_daemon, current)
            current.start()
            killed.proc.wait(timeout=10)
        self.assertEqual([s["name"] for s in current.services()["services"]], ["svc"])
        self.assertEqual(curl(url(port, "/svc")).json["upstream"], "up")

    def test_clean_exit_removes_the_admin_socket(self):
        self.assertEqual(self.first.stop(), 0)
        self.assertFalse(os.path.exists(self.first.admin_socket))

    def test_clean_exit_leaves_a_socket_that_is_not_ours(self):
        # Someone replaced the file while we ran: it is theirs, we leave it.
        os.unlink(self.first.admin_socket)
        theirs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        theirs.bind(self.first.admin_socket)
        self.addCleanup(theirs.close)
        self.assertEqual(self.first.stop(), 0)
        self.assertTrue(os.path.exists(self.first.admin_socket))


if __name__ == "__main__":
    harness.main()
