#!/usr/bin/env python3
"""The real icahtctl binary against the real daemon."""

import json
import os
import tempfile

import harness
from harness import E2ETestCase, curl, icahtctl, url


class IcahtctlTest(E2ETestCase):
    def setUp(self):
        self.d = self.start_daemon(shards=2)
        self.a = self.start_upstream("a")
        self.b = self.start_upstream("b")

    def ctl(self, *args, **kw):
        return icahtctl(*args, socket_path=self.d.admin_socket, **kw)

    def assertOk(self, p):
        self.assertEqual(p.returncode, 0, "rc=%d\nstdout=%s\nstderr=%s" % (
            p.returncode, p.stdout, p.stderr))

    def table(self, out):
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertEqual(lines[0].split(), ["NAME", "PORT", "UPSTREAMS", "VERSION"], out)
        return lines

    def test_register_list_get_update_deregister(self):
        p = self.ctl("register", "--name", "orders", "--upstream", self.a.address,
                     "--upstream", self.b.address + "=2", "--version", "1.0")
        self.assertOk(p)
        lines = self.table(p.stdout)
        cols = lines[1].split()
        self.assertEqual(cols[0], "orders")
        port = int(cols[1])
        self.assertTrue(self.d.range_start <= port <= self.d.range_end)
        self.assertEqual(cols[2], "%s,%s=2" % (self.a.address, self.b.address))
        self.assertEqual(cols[3], "1.0")
        self.assertEqual(lines[-1], "orders registered on port %d" % port)
        # What the daemon stored.
        rec = self.d.admin("GET", "/v1/services/orders").json
        self.assertEqual(rec["upstreams"], [{"address": self.a.address, "weight": 1},
                                            {"address": self.b.address, "weight": 2}])
        self.assertEqual(rec["version"], "1.0")
        self.assertEqual(curl(url(port, "/orders")).status, 200)

        p = self.ctl("register", "--name", "billing", "--upstream", self.b.address)
        self.assertOk(p)
        billing_port = int(self.table(p.stdout)[1].split()[1])

        p = self.ctl("list")
        self.assertOk(p)
        lines = self.table(p.stdout)
        self.assertEqual([l.split()[0] for l in lines[1:]], ["billing", "orders"])
        self.assertEqual(lines[1].split()[1:], [str(billing_port), self.b.address, "-"])

        p = self.ctl("get", "orders")
        self.assertOk(p)
        self.assertEqual(self.table(p.stdout)[1].split()[:2], ["orders", str(port)])

        p = self.ctl("update", "orders", "--upstream", self.b.address, "--version", "2.0")
        self.assertOk(p)
        cols = self.table(p.stdout)[1].split()
        self.assertEqual(cols, ["orders", str(port), self.b.address, "2.0"])
        rec2 = self.d.admin("GET", "/v1/services/orders").json
        self.assertEqual(rec2["upstreams"], [{"address": self.b.address, "weight": 1}])
        # update keeps every other field of the record.
        self.assertEqual({k: v for k, v in rec2.items() if k not in ("upstreams", "version")},
                         {k: v for k, v in rec.items() if k not in ("upstreams", "version")})
        for i in range(4):
            self.assertEqual(curl(url(port, "/orders/%d" % i)).json["upstream"], "b")

        # --version alone keeps the upstreams.
        self.assertOk(self.ctl("update", "orders", "--version", "2.1"))
        rec3 = self.d.admin("GET", "/v1/services/orders").json
        self.assertEqual((rec3["version"], rec3["upstreams"]), ("2.1", rec2["upstreams"]))

        p = self.ctl("deregister", "orders")
        self.assertOk(p)
        self.assertIn("orders", p.stdout)
        self.assertEqual(self.d.admin("GET", "/v1/services/orders").status, 404)
        self.assertTrue(harness.connect_refused(port))

    def test_json_output(self):
        p = self.ctl("--json", "register", "--name", "orders", "--upstream", self.a.address)
        self.assertOk(p)
        self.assertEqual(len(p.stdout.strip().splitlines()), 1, p.stdout)
        rec = json.loads(p.stdout)
        self.assertEqual(rec["name"], "orders")
        # GET (list, get) adds "serving" to the record that register returns.
        rec = dict(rec, serving=True)
        self.assertEqual(rec, self.d.admin("GET", "/v1/services/orders").json)

        p = self.ctl("--json", "list")
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout), {"services": [rec]})

        p = self.ctl("get", "orders", "--json")  # --json after the command works too
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout), rec)

        p = self.ctl("--json", "update", "orders", "--upstream", self.b.address)
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout)["upstreams"],
                         [{"address": self.b.address, "weight": 1}])

        p = self.ctl("--json", "deregister", "orders")
        self.assertOk(p)
        self.assertEqual(p.stdout.strip(), "")

    def test_json_escaping_round_trips(self):
        version = 'v"1\\2/ü€'
        p = self.ctl("--json", "register", "--name", "esc", "--upstream", self.a.address,
                     "--version", version)
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout)["version"], version)
        self.assertEqual(self.d.admin("GET", "/v1/services/esc").json["version"], version)
        # update copies the other fields verbatim, escapes included.
        self.assertOk(self.ctl("update", "esc", "--upstream", self.b.address))
        self.assertEqual(self.d.admin("GET", "/v1/services/esc").json["version"], version)
        p = self.ctl("get", "esc")
        self.assertOk(p)
        self.assertIn(version, p.stdout)

    def test_admin_socket_speaks_http_to_curl(self):
        self.assertOk(self.ctl("register", "--name", "orders", "--upstream", self.a.address))
        p = harness.subprocess.run(
            [harness.CURL, "-sS", "--max-time", "10", "--unix-socket", self.d.admin_socket,
             "-w", "\n%{http_code}", "http://icaht/v1/services"],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        body, _, code = p.stdout.rpartition("\n")
        self.assertEqual(code, "200")
        self.assertEqual([s["name"] for s in json.loads(body)["services"]], ["orders"])

    def test_register_from_file_and_stdin(self):
        rec = {"name": "filed", "upstreams": [self.a.address], "version": "f1",
               "timeouts": {"connect_ms": 500, "request_ms": 2000, "idle_ms": 30000,
                            "total_ms": 900, "trust_header": True}}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(rec, f)
        self.addCleanup(os.unlink, f.name)
        p = self.ctl("register", "--file", f.name)
        self.assertOk(p)
        got = self.d.admin("GET", "/v1/services/filed").json
        self.assertEqual(got["timeouts"], rec["timeouts"])
        self.assertEqual(got["version"], "f1")

        rec2 = dict(rec, name="piped")
        p = self.ctl("--json", "register", "--file", "-", stdin=json.dumps(rec2))
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout)["name"], "piped")

        # update --file replaces the whole record.
        rec3 = dict(rec, upstreams=[self.b.address], version="f2")
        p = self.ctl("update", "filed", "--file", "-", stdin=json.dumps(rec3))
        self.assertOk(p)
        self.assertEqual(self.d.admin("GET", "/v1/services/filed").json["version"], "f2")

    def test_api_errors_exit_1(self):
        p = self.ctl("get", "nope")
        self.assertEqual(p.returncode, 1, p)
        self.assertRegex(p.stderr, r"^icahtctl: .*nope.* \(not_found, HTTP 404\)\n$")
        self.assertEqual(p.stdout, "")

        self.assertOk(self.ctl("register", "--name", "dup", "--upstream", self.a.address))
        p = self.ctl("register", "--name", "dup", "--upstream", self.a.address)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("(already_exists, HTTP 409)", p.stderr)

        p = self.ctl("register", "--name", "bad", "--upstream", "not-an-address")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("upstreams[0]", p.stderr)
        self.assertIn("(invalid_argument, HTTP 400)", p.stderr)

        p = self.ctl("register", "--file", "-", stdin="{not json")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("(invalid_argument, HTTP 400)", p.stderr)

        for args in (("deregister", "nope"), ("update", "nope", "--upstream", self.a.address)):
            p = self.ctl(*args)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("(not_found, HTTP 404)", p.stderr)

    def test_usage_errors_exit_2(self):
        for args in ((), ("bogus",), ("--bogus", "list"), ("register",),
                     ("register", "--name", "x"), ("register", "--upstream", "127.0.0.1:1"),
                     ("register", "--name", "x", "--upstream", "127.0.0.1:1", "--port", "0"),
                     ("register", "--name", "x", "--upstream", "127.0.0.1:1=heavy"),
                     ("register", "--name"), ("get",), ("get", "a", "b"), ("deregister",),
                     ("list", "extra"), ("update", "orders"), ("get", "x", "--bogus")):
            with self.subTest(args=args):
                p = self.ctl(*args)
                self.assertEqual(p.returncode, 2, p)
                self.assertTrue(p.stderr.startswith("icahtctl: "), p.stderr)
                self.assertIn("usage:", p.stderr)
        # The registry was never touched.
        self.assertEqual(self.d.services(), {"services": []})

    def test_help(self):
        p = self.ctl("--help")
        self.assertOk(p)
        for cmd in ("register", "deregister", "list", "get", "update"):
            self.assertIn(cmd, p.stdout)
        for cmd in ("register", "deregister", "list", "get", "update"):
            p = self.ctl(cmd, "--help")
            self.assertOk(p)
            self.assertIn("usage: icahtctl " + cmd, p.stdout)

    def test_default_socket_from_environment(self):
        env = dict(os.environ, ICAHT_ADMIN_SOCKET=self.d.admin_socket)
        p = icahtctl("list", env=env)
        self.assertOk(p)
        # XDG_RUNTIME_DIR/icaht/admin.sock when ICAHT_ADMIN_SOCKET is unset.
        env = {k: v for k, v in os.environ.items() if k != "ICAHT_ADMIN_SOCKET"}
        with tempfile.TemporaryDirectory(dir="/tmp") as xdg:
            os.mkdir(os.path.join(xdg, "icaht"))
            os.symlink(self.d.admin_socket, os.path.join(xdg, "icaht", "admin.sock"))
            p = icahtctl("list", env=dict(env, XDG_RUNTIME_DIR=xdg))
            self.assertOk(p)


class IcahtctlNoDaemonTest(E2ETestCase):
    def test_no_daemon_exit_3(self):
        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            path = os.path.join(tmp, "absent.sock")
            p = icahtctl("list", socket_path=path)
            self.assertEqual(p.returncode, 3, p)
            self.assertEqual(p.stderr, "icahtctl: cannot connect to admin socket %s: "
                             "No such file or directory (is icaht-sidecar running?)\n" % path)
            # Default path with nothing set: ./run/admin.sock (relative to the cwd).
            env = {k: v for k, v in os.environ.items()
                   if k not in ("ICAHT_ADMIN_SOCKET", "XDG_RUNTIME_DIR")}
            p = harness.subprocess.run([harness.ICAHTCTL, "list"], cwd=tmp, env=env,
                                       capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 3, p)
            self.assertIn("./run/admin.sock", p.stderr)


if __name__ == "__main__":
    harness.main()
