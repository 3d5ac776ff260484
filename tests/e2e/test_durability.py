#!/usr/bin/env python3
"""Durable registrations (issue 11): an acknowledged change survives a kill -9 right after its
answer (write-ahead journal, synced before the answer), a torn or corrupt journal tail is
reported and its intact prefix kept (the journal as it was set aside), and a loop of kill -9 at
random moments under concurrent registrations loses no acknowledged change and leaves no
unacknowledged one half-applied."""

import glob
import os
import random
import threading
import time

import harness
from harness import E2ETestCase, admin_call, record


class DurabilityTest(E2ETestCase):
    def restart(self, first, name):
        """A daemon on the first one's state dir and port range (1 shard: quick to start)."""
        return self.start_daemon(args=harness.sharing_state(first, shards=1), name=name)

    def names(self, d):
        return sorted(s["name"] for s in d.services()["services"])

    def test_acknowledged_registration_survives_kill_9(self):
        first = self.start_daemon(shards=1)
        for i in range(10):
            d = first if i == 0 else self.restart(first, "run%d" % i)
            d.register(record("svc%d" % i, ["127.0.0.1:9"]))
            if i % 3 == 2:
                d.deregister("svc%d" % (i - 1))
            d.kill()
        last = self.restart(first, "last")
        expected = sorted("svc%d" % i for i in range(10) if i % 3 != 1)
        self.assertEqual(self.names(last), expected)

    def test_torn_and_corrupt_journal_tails_keep_the_intact_prefix(self):
        first = self.start_daemon(shards=1)
        for name in ("a", "b", "c"):
            first.register(record(name, ["127.0.0.1:9"]))
        first.kill()  # no snapshot at exit: the three are in the journal
        journal = os.path.join(first.state_dir, "services.journal")
        with open(journal, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        self.assertEqual(len(lines), 3, lines)

        # A torn last line (a crash in the middle of the append).
        with open(journal, "wb") as f:
            f.write(b"".join(lines) + lines[0][:20])
        d = self.restart(first, "torn")
        self.assertEqual(self.names(d), ["a", "b", "c"])
        self.assertIn("line 4", d.stderr())
        self.assertIn("torn", d.stderr())
        self.assertEqual(len(glob.glob(journal + ".bad-*")), 1)
        d.register(record("d", ["127.0.0.1:9"]))  # appended after the intact prefix
        d.kill()
        d = self.restart(first, "after-torn")
        self.assertEqual(self.names(d), ["a", "b", "c", "d"])
        d.kill()

        # A flipped byte in an entry: it and everything after it are not used.
        with open(journal, "rb") as f:
            data = f.read()
        self.assertEqual(data, b"", "the restore folded the journal into the snapshot")
        d = self.restart(first, "fresh")
        for name in ("e", "f"):
            d.register(record(name, ["127.0.0.1:9"]))
        d.kill()
        with open(journal, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        self.assertEqual(len(lines), 2)
        lines[0] = lines[0].replace(b'"e"', b'"x"', 1)
        with open(journal, "wb") as f:
            f.write(b"".join(lines))
        d = self.restart(first, "corrupt")
        self.assertEqual(self.names(d), ["a", "b", "c", "d"])
        self.assertIn("checksum mismatch", d.stderr())
        self.assertEqual(len(glob.glob(journal + ".bad-*")), 2)

    def test_kill_9_loop_under_concurrent_registrations(self):
        rounds = int(os.environ.get("ICAHT_KILL_ROUNDS", "100"))
        first = self.start_daemon(shards=1)
        rng = random.Random(11)
        acknowledged = {}  # name -> upstream it was registered with
        attempted = {}
        counter = [0]
        lock = threading.Lock()
        d = first
        for r in range(rounds):
            stop = threading.Event()

            def client(d=d, stop=stop):
                while not stop.is_set():
                    with lock:
                        counter[0] += 1
                        n = counter[0]
                    name = "s%05d" % n
                    upstream = "127.0.0.1:%d" % (1000 + n % 50000)
                    attempted[name] = upstream
                    try:
                        resp = admin_call(d.admin_socket, "POST", "/v1/services",
                                          record(name, [upstream]), timeout=5)
                    except OSError:
                        return  # the daemon is gone
                    if resp.status == 201:
                        with lock:
                            acknowledged[name] = upstream
            clients = [threading.Thread(target=client) for _ in range(4)]
            for t in clients:
                t.start()
            time.sleep(rng.uniform(0.01, 0.12))
            d.kill()
            stop.set()
            for t in clients:
                t.join(10)
            if d is not first:
                d.cleanup()  # its port window goes back (the state dir is the first one's)
            d = self.restart(first, "round%d" % r)
            saved = {s["name"]: s for s in d.services()["services"]}
            lost = sorted(set(acknowledged) - set(saved))
            self.assertEqual(lost, [], "acknowledged registrations lost in round %d" % r)
            for name, s in saved.items():
                # Present means whole: the record as it was sent (acknowledged or not).
                self.assertIn(name, attempted)
                self.assertEqual([u["address"] for u in s["upstreams"]], [attempted[name]])
            # Keep the range from filling: drop what is there (acknowledged deletions).
            if len(saved) > 100:
                for name in list(saved)[:80]:
                    d.deregister(name)
                    acknowledged.pop(name, None)
        d.kill()
        self.assertGreater(counter[0], rounds, "the clients sent too few registrations to test")


if __name__ == "__main__":
    harness.main()
