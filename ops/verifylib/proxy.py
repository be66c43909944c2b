"""A round-robin HTTP proxy in front of several replicas, as a load balancer is in front of pods,
for ops/verify-fleet. Each request goes to the next replica in turn. It keeps what the fleet
checks need to know:

- every write the replicas acknowledged (a 201, or a 204 for a delete), with its request and
  answer, so that each can be looked for in the database afterwards;
- every request it could not get answered, with the replica it was sent to and when that
  connection was opened, so that each failure can be traced to a connection open to a replica
  that was being stopped.

What a load balancer does about a replica that goes away, it does too: a pooled connection the
replica has closed is noticed before it is reused, a refused connection is tried on the next
replica (nothing was sent), and an idempotent request whose connection broke is sent again
elsewhere. A POST whose connection broke after it was sent is not: the replica may have acted on
it, so it fails, with a 502.
"""

import collections
import http.client
import http.server
import itertools
import json
import select
import threading
import time
from typing import NamedTuple

IDEMPOTENT = {"GET", "PUT", "DELETE"}
# Headers of one connection, not of the request (RFC 9110, 7.6.1), and the length we set.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
TIMEOUT = 30


class Write(NamedTuple):
    """An acknowledged write: when, what was asked, and the answer."""

    at: float
    method: str
    path: str
    request: object
    status: int
    answer: object


class Failure(NamedTuple):
    """A request the proxy answered 502: the replica, when its connection was opened, why."""

    at: float
    replica: int
    method: str
    path: str
    connection_opened: float
    error: str


class Upstream:
    """A pooled connection to one replica, and when it was opened."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        self.opened = None

    def closed_by_peer(self):
        """True when the replica has closed this idle connection (readable means EOF here: no
        request is outstanding, so nothing else can be waiting)."""
        sock = self.connection.sock
        return sock is not None and bool(select.select([sock], [], [], 0)[0])

    def send(self, method, path, body, headers):
        if self.connection.sock is None or self.closed_by_peer():
            self.connection.close()
            self.connection.connect()
            self.opened = time.time()
        self.connection.request(method, path, body, headers)
        response = self.connection.getresponse()
        payload = response.read()
        if response.will_close:
            self.connection.close()
        return response, payload


class Proxy:
    def __init__(self, replicas):
        """`replicas`: the replicas' host:port addresses, in a list the caller may keep
        changing (a restarted replica keeps its address)."""
        self.replicas = replicas
        self.turn = itertools.count()
        self.lock = threading.Lock()
        self.writes, self.failures = [], []
        self.statuses = collections.Counter()
        self.retried = collections.Counter()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                self.upstreams = {}

            def log_message(self, *_):
                pass

            def forward(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                status, answer_headers, payload = proxy.relay(
                    self.upstreams, self.command, self.path, body, headers
                )
                self.send_response_only(status)
                for name, value in answer_headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def relay(self, upstreams, method, path, body, headers):
        """Sends the request to replicas in turn until one answers; (status, headers, body)."""
        first = next(self.turn)
        error = None
        for attempt in range(len(self.replicas) + 1):
            replica = (first + attempt) % len(self.replicas)
            upstream = upstreams.get(replica)
            if upstream is None:
                upstream = upstreams[replica] = Upstream(self.replicas[replica])
            try:
                response, payload = upstream.send(method, path, body, headers)
            except ConnectionRefusedError as refused:
                error = refused  # nothing was sent: any request may go to the next replica
                reason = "refused"
            except (OSError, http.client.HTTPException) as broken:
                upstream.connection.close()
                error, reason = broken, f"broken {method}"
                if method not in IDEMPOTENT:
                    self.record_failure(replica, method, path, upstream.opened, broken)
                    return self.bad_gateway(broken)
            else:
                self.record_answer(method, path, body, response.status, payload)
                return response.status, response.getheaders(), payload
            with self.lock:
                self.retried[reason] += 1
        self.record_failure(replica, method, path, upstream.opened, error)
        return self.bad_gateway(error)

    def record_answer(self, method, path, body, status, payload):
        with self.lock:
            self.statuses[status] += 1
            if (method, status) in {("POST", 201), ("DELETE", 204)}:
                self.writes.append(
                    Write(time.time(), method, path, loads(body), status, loads(payload))
                )

    def record_failure(self, replica, method, path, opened, error):
        with self.lock:
            self.failures.append(
                Failure(time.time(), replica, method, path, opened or 0.0, repr(error))
            )

    @staticmethod
    def bad_gateway(error):
        body = json.dumps({"error": f"502 Bad Gateway: {error!r}"}).encode()
        return 502, [("content-type", "application/json")], body

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def loads(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
