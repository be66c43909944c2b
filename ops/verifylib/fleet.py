"""Several replicas of the real binary on one PostgreSQL database, as the Deployment runs them
(ops/k8s), for ops/verify-fleet: a fresh database on the server of
SNACKDRAWER_TEST_POSTGRES_URL, replicas on fixed loopback ports with one JWT secret and the
login limits on, and what the checks read back from the database and the replicas' logs.
"""

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request

from .services import free_port, start_snackdrawer, stop

SECRET = secrets.token_hex(32)


class Database:
    """A database made for one run, dropped by `drop`. Queried with psql, which comes with the
    PostgreSQL server the tests use."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        self.name = f"snackdrawer_fleet_{secrets.token_hex(4)}"
        psql(admin_url, f"CREATE DATABASE {self.name}")
        self.url = f"{admin_url.rsplit('/', 1)[0]}/{self.name}"

    def rows(self, sql):
        """The rows of `sql`, each a tuple of strings."""
        output = psql(self.url, sql)
        return [tuple(line.split("\t")) for line in output.splitlines() if line]

    def drop(self):
        psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def psql(url, sql):
    result = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"psql: {sql}: {result.stderr.strip()}")
    return result.stdout


class Replica:
    """One replica on a port of its own, kept across restarts, like a pod behind a Service."""

    def __init__(self, binary, workdir, database_url, index, extra_env=None):
        self.binary, self.workdir, self.index = binary, workdir, index
        self.address = f"127.0.0.1:{free_port()}"
        self.env = {
            "DATABASE_URL": database_url,
            "SNACKDRAWER_LISTEN": self.address,
            "SNACKDRAWER_JWT_SECRET": SECRET,
            # As in the cluster (ops/k8s/base/config.env): both login limits on.
            "SNACKDRAWER_LOGIN_LIMITS": "true",
            "SNACKDRAWER_SHUTDOWN_GRACE": "10",
            "RUST_LOG": "info",
            **(extra_env or {}),
        }
        self.process = None

    @property
    def url(self):
        return f"http://{self.address}"

    @property
    def log(self):
        return self.workdir / f"replica-{self.index}.log"

    def start(self):
        self.process, _ = start_snackdrawer(
            self.binary, self.workdir, self.env, name=f"replica-{self.index}"
        )
        return self

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if call(self.url, "GET", "/readyz")[0] == 200:
                return
            time.sleep(0.1)
        raise SystemExit(f"replica {self.index} was not ready in {timeout}s; log: {self.log}")

    def terminate(self):
        """SIGTERM, and the exit code once it has stopped."""
        self.process.terminate()
        return self.process.wait(timeout=60)

    def stop(self):
        if self.process and self.process.poll() is None:
            stop(self.process)

    def log_lines(self):
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return lines


def messages(replicas, prefix):
    """How many log lines of all `replicas` start with `prefix`."""
    return sum(
        str(line.get("message", "")).startswith(prefix)
        for replica in replicas
        for line in replica.log_lines()
    )


def field_total(replicas, message, field):
    """The sum of `field` over the log lines of all `replicas` whose message is `message`."""
    return sum(
        int(line.get(field, 0))
        for replica in replicas
        for line in replica.log_lines()
        if line.get("message") == message
    )


def call(base, method, path, body=None, token=None):
    """(status, JSON answer or None); a refused connection is status 0."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, None


def expected_rows(writes):
    """What the database must hold after `writes` (the proxy's acknowledged writes, in the
    order they were answered): users, snacks, drawers and drawer contents, as sets of tuples
    of strings, as psql prints them."""
    users, snacks, drawers, contents = set(), set(), set(), set()
    for write in sorted(writes, key=lambda w: w.at):
        parts = write.path.rstrip("/").split("/")[1:]
        answer, request = write.answer or {}, write.request or {}
        if write.method == "POST" and parts == ["auth", "users"]:
            users.add((str(answer["id"]), answer["username"]))
        elif write.method == "POST" and parts == ["snacks"]:
            snacks.add((str(answer["snack"]["id"]), answer["snack"]["name"]))
        elif write.method == "POST" and parts == ["drawers"]:
            drawers.add((str(answer["drawer"]["id"]), answer["drawer"]["name"]))
        elif write.method == "POST" and len(parts) == 2 and parts[0] == "drawers":
            contents.add((parts[1], str(request["snack"])))
        elif write.method == "DELETE" and len(parts) == 2 and parts[0] == "drawers":
            drawers = {d for d in drawers if d[0] != parts[1]}
            contents = {c for c in contents if c[0] != parts[1]}
        elif write.method == "DELETE" and len(parts) == 4 and parts[2] == "snacks":
            contents.discard((parts[1], parts[3]))
    return {"users": users, "snacks": snacks, "drawers": drawers, "drawer_snacks": contents}


QUERIES = {
    "users": "SELECT id, username FROM users",
    "snacks": "SELECT id, name FROM snacks",
    "drawers": "SELECT id, name FROM drawers",
    "drawer_snacks": "SELECT drawer_id, snack_id FROM drawer_snacks",
}


def missing_rows(database, writes):
    """{table: acknowledged rows the database does not hold}; empty when none is lost."""
    expected = expected_rows(writes)
    missing = {}
    for table, rows in expected.items():
        lost = rows - set(database.rows(QUERIES[table]))
        if lost:
            missing[table] = sorted(lost)
    return missing


def unexplained_failures(failures, stops):
    """The failures that no stopping replica explains. `stops`: (replica, SIGTERM sent at,
    serving again at). A failure is explained when it came from the replica being stopped then,
    on a connection opened before the SIGTERM (so open to it while it stopped)."""
    return [
        f
        for f in failures
        if not any(
            f.replica == replica and f.connection_opened <= sent <= f.at <= back
            for replica, sent, back in stops
        )
    ]

