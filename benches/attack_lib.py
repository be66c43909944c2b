"""Shared by the Python attack scripts (benches/attack-reset.py, benches/attack-torn.py): the
release binary built as the workspace builds it, services started on loopback ports with the
environment a script gives them, and a small keep-alive JSON client. Standard library only, so
the scripts run wherever Python 3 does."""

import functools
import http.client
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = os.environ.get("SERVER_LOG", "/tmp/snackdrawer-bench.log")


@functools.cache
def binary():
    """The release binary: SERVER_BIN as it is, or target/release/snackdrawer built first (the
    whole workspace, as it is built elsewhere: one package alone rebuilds dependencies with other
    features)."""
    if os.environ.get("SERVER_BIN"):
        return os.environ["SERVER_BIN"]
    subprocess.run(["cargo", "build", "--release", "--quiet", "--workspace"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "snackdrawer")


class Service:
    """One snackdrawer process on 127.0.0.1:port, its output appended to LOG."""

    def __init__(self, port, env):
        self.port = port
        self.env = dict(os.environ, SNACKDRAWER_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn",
                        SNACKDRAWER_LOG_FORMAT="json", **env)
        self.process = None

    def start(self):
        with open(LOG, "ab") as log:
            self.process = subprocess.Popen([binary()], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if Client(self.port).call("GET", "/readyz")[0] == 200:
                return self
            time.sleep(0.1)
        sys.exit(f"the service on port {self.port} did not become ready; see {LOG}")

    def run(self, *args):
        """The binary with this service's settings and ARGS (say `migrate`), to its end."""
        with open(LOG, "ab") as log:
            subprocess.run([binary(), *args], env=self.env, stdout=log, stderr=log, check=True)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait()


class Client:
    """One keep-alive connection to 127.0.0.1:port, from `source` (another loopback address)."""

    def __init__(self, port, source="127.0.0.1"):
        self.port, self.source = port, source
        self.connection = None

    def call(self, method, path, body=None, token=None):
        """(status, JSON body or None); status 0 when the connection failed. A kept-alive
        connection the service closed (it may after refusing a request whose body it did not
        read) is opened again once, for the request it could not carry."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body) if body is not None else None
        for fresh in (self.connection is None, True):
            try:
                if fresh:
                    self.connection = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=10, source_address=(self.source, 0))
                self.connection.request(method, path, data, headers)
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                if fresh:
                    self.connection = None
                    return 0, None
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None

    def register_and_login(self, username, password="pw"):
        """(user id, token) of a new user."""
        credentials = {"username": username, "password": password}
        status, user = self.call("POST", "/auth/users", credentials)
        assert status == 201, f"registering {username}: {status} {user}"
        status, login = self.call("POST", "/auth/login", credentials)
        assert status == 201, f"logging {username} in: {status} {login}"
        return user["id"], login["token"]


def tally(statuses):
    """"201: 3, 401: 12" from a list of statuses."""
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{status}: {count}" for status, count in sorted(counts.items())) or "none"
