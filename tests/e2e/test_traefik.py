#!/usr/bin/env python3
"""Traefik's dynamic configuration (issue 11): GET /traefik on the ops listener (HTTP provider,
JSON) and --traefik-file (file provider, YAML), written atomically on every change; a router per service (rule, entry points, middlewares, priority), a service whose
server is the proxy's advertised URL, health-checked on the ready path; deterministic; valid
against SchemaStore's Traefik v3 schema (../shared/conformance)."""

import json
import os

import harness
from harness import LOOPBACK, ops_get, record, wait_until
from http_peers import SharedDaemonTestCase

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                      "conformance", "traefik-v3-file-provider.json")

try:
    import jsonschema
except ImportError:  # Debian: python3-jsonschema
    jsonschema = None
try:
    import yaml
except ImportError:  # Debian: python3-yaml
    yaml = None


def validate(doc):
    if jsonschema is None or yaml is None or not os.path.exists(SCHEMA):
        raise harness.unittest.SkipTest(
            "python3-jsonschema, python3-yaml or the conformance schema is missing")
    with open(SCHEMA) as f:
        jsonschema.validate(doc, json.load(f))


class TraefikTest(SharedDaemonTestCase):
    @classmethod
    def daemon_args(cls):
        cls.dir = harness.tempfile.mkdtemp(prefix="icaht-traefik-")
        cls.file = os.path.join(cls.dir, "dynamic.yml")
        return ("--traefik-file", cls.file, "--advertise-address", "10.1.2.3")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.addClassCleanup(harness.shutil.rmtree, cls.dir, True)
        reg = cls.d.register
        cls.orders = reg(record("orders", ["127.0.0.1:9"]))["port"]
        cls.billing = reg(record("billing", ["127.0.0.1:9"], route={
            "rule": "Host(`billing.example`)", "entry_points": ["websecure"],
            "middlewares": ["auth@file"], "priority": 10},
            health={"ready_path": ""}))["port"]

    def http_provider(self):
        status, body = ops_get(self.d.ops_port, "/traefik")
        self.assertEqual(status, 200)
        return json.loads(body)

    def test_http_provider_document(self):
        doc = self.http_provider()
        validate(doc)
        routers, services = doc["http"]["routers"], doc["http"]["services"]
        self.assertEqual(list(routers), ["billing", "orders"])  # sorted
        self.assertEqual(routers["orders"], {"rule": "PathPrefix(`/orders`)", "service": "orders"})
        self.assertEqual(routers["billing"], {
            "entryPoints": ["websecure"], "middlewares": ["auth@file"], "priority": 10,
            "rule": "Host(`billing.example`)", "service": "billing"})
        self.assertEqual(services["orders"]["loadBalancer"], {
            "healthCheck": {"interval": "5s", "path": "/ready", "timeout": "2s"},
            "servers": [{"url": "http://10.1.2.3:%d" % self.orders}]})
        self.assertNotIn("healthCheck", services["billing"]["loadBalancer"])  # no ready path
        self.assertEqual(json.dumps(doc), json.dumps(self.http_provider()))  # deterministic

    def test_file_provider_follows_changes(self):
        if yaml is None:
            self.skipTest("python3-yaml is not installed")
        def file_doc():
            with open(self.file) as f:
                return yaml.safe_load(f)
        wait_until(lambda: os.path.exists(self.file) and
                   "orders" in file_doc()["http"]["routers"], 5, what="the file written")
        self.assertEqual(file_doc(), self.http_provider())
        validate(file_doc())
        port = self.d.register(record("late", ["127.0.0.1:9"]))["port"]
        wait_until(lambda: "late" in file_doc()["http"]["services"], 5, what="the new service")
        self.assertEqual(file_doc()["http"]["services"]["late"]["loadBalancer"]["servers"],
                         [{"url": "http://10.1.2.3:%d" % port}])
        self.d.deregister("late")
        wait_until(lambda: "late" not in file_doc()["http"]["routers"], 5,
                   what="the deregistered service gone")
        self.assertEqual(sorted(os.listdir(self.dir)), ["dynamic.yml"])  # no leftover temp

    def test_yaml_file_provider(self):
        d = self.start_daemon(shards=1, extra_args=(
            "--traefik-file", os.path.join(self.dir, "dynamic.yaml")))
        d.register(record("svc", ["127.0.0.1:9"]))
        path = os.path.join(self.dir, "dynamic.yaml")
        wait_until(lambda: os.path.exists(path) and "svc" in open(path).read(), 5,
                   what="the YAML file")
        if yaml is None:
            self.skipTest("python3-yaml is not installed")
        with open(path) as f:
            doc = yaml.safe_load(f)
        validate(doc)
        self.assertEqual(doc["http"]["routers"]["svc"]["rule"], "PathPrefix(`/svc`)")
        self.assertEqual(doc["http"]["services"]["svc"]["loadBalancer"]["servers"][0]["url"],
                         "http://%s:%d" % (LOOPBACK, d.services()["services"][0]["port"]))


if __name__ == "__main__":
    harness.main()
