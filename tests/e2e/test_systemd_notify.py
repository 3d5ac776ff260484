#!/usr/bin/env python3
"""sd_notify through a real receiver (issue 11): a datagram socket in NOTIFY_SOCKET, as systemd
gives a Type=notify service. READY=1 comes only once restored registrations serve; WATCHDOG=1
keep-alives follow every half WATCHDOG_USEC while the shards answer their pings (none when
WATCHDOG_PID names another process); STOPPING=1 at SIGTERM."""

import os
import socket
import tempfile
import threading
import time

import harness
from harness import E2ETestCase, record


class NotifyReceiver:
    """What systemd does with NOTIFY_SOCKET: a datagram socket; keeps (time, message)."""

    def __init__(self, on_message=None):
        self.dir = tempfile.mkdtemp(prefix="icaht-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []
        self.on_message = on_message
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            text = data.decode()
            self.messages.append((time.monotonic(), text))
            if self.on_message:
                self.on_message(text)

    def lines(self, prefix):
        return [(t, m) for t, m in self.messages for line in m.split("\n")
                if line.startswith(prefix)]

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class SystemdNotifyTest(E2ETestCase):
    def notified_daemon(self, first, receiver, name, **env_extra):
        env = dict(os.environ, NOTIFY_SOCKET=receiver.path, **env_extra)
        return self.start_daemon(args=harness.sharing_state(first), env=env, name=name)

    def test_ready_after_restore_watchdog_and_stopping(self):
        up = self.start_upstream("up")
        first = self.start_daemon(shards=1)
        port = first.register(record("saved", [up.address]))["port"]
        self.assertEqual(first.stop(), 0)

        served_at_ready = []

        def on_message(text):
            if "READY=1" in text.split("\n"):
                # The moment systemd would start dependent units: the restored port serves.
                served_at_ready.append(harness.curl(harness.url(port, "/saved")).status)
        receiver = NotifyReceiver(on_message)
        self.addCleanup(receiver.close)
        d = self.notified_daemon(first, receiver, "notified", WATCHDOG_USEC="300000")
        harness.wait_until(lambda: served_at_ready, 5, what="READY=1")
        self.assertEqual(served_at_ready, [200])
        ready_at = receiver.lines("READY=1")[0][0]
        harness.wait_until(lambda: len([t for t, _ in receiver.lines("WATCHDOG=1")
                                        if t > ready_at]) >= 4, 5,
                           what="WATCHDOG=1 keep-alives every 150 ms")
        times = [t for t, _ in receiver.lines("WATCHDOG=1")]
        gaps = [b - a for a, b in zip(times[1:], times[2:])]
        self.assertTrue(all(g < 0.3 for g in gaps), gaps)  # within the 300 ms interval
        self.assertEqual(d.stop(), 0)
        self.assertTrue(receiver.lines("STOPPING=1"))

    def test_no_watchdog_for_another_process(self):
        first = self.start_daemon(shards=1)
        self.assertEqual(first.stop(), 0)
        receiver = NotifyReceiver()
        self.addCleanup(receiver.close)
        d = self.notified_daemon(first, receiver, "other-pid", WATCHDOG_USEC="200000",
                                 WATCHDOG_PID="1")
        harness.wait_until(lambda: receiver.lines("READY=1"), 5, what="READY=1")
        # Keep-alives would come every 100 ms: use the daemon for three intervals.
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            self.assertEqual(d.admin("GET", "/v1/services").status, 200)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(receiver.lines("WATCHDOG=1"), [])


if __name__ == "__main__":
    harness.main()
