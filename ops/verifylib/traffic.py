"""Traffic for the live checks: a user's sessions, round after round, touching every route and
every port function with the successes and client errors real traffic brings, so every series a
dashboard or rule selects has data. It records the trace ids the service answered with, which
the exemplars must carry.
"""

import json
import threading
import urllib.error
import urllib.request


class Traffic(threading.Thread):
    """Rounds of a user's session that touch every route and every port function, with the
    client errors real traffic brings. Keeps going while the checks run, so rates are live."""

    def __init__(self, base, pause=0.2):
        """Rounds against `base`, `pause` seconds apart."""
        super().__init__(daemon=True)
        self.base, self.pause = base, pause
        self.rounds = 0
        self.trace_ids = set()
        self.problems = set()
        self.done = threading.Event()

    def call(self, method, path, expect, body=None, token=None):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, payload = error.code, error.headers, error.read()
        self.trace_ids.add(headers.get("x-trace-id"))
        if status != expect:
            self.problems.add(f"{method} {path} answered {status}, expected {expect}")
        return json.loads(payload) if payload else None

    def session(self, n):
        call, user = self.call, {"username": f"verify-{n}", "password": "correct horse"}
        call("GET", "/healthz", 200)
        call("GET", "/readyz", 200)
        call("POST", "/auth/users", 201, user)
        call("POST", "/auth/users", 422, user)
        call("POST", "/auth/users", 400, b"not json")
        call("POST", "/auth/login", 401, {**user, "password": "wrong"})
        token = call("POST", "/auth/login", 201, user)["token"]
        call("GET", "/snacks/", 200)
        call("GET", "/snacks/1", 200)
        call("GET", "/snacks/999999", 404)
        call("GET", "/snacks/0", 400)
        call("POST", "/snacks/", 201, {"name": f"snack {n}"}, token)
        call("POST", "/snacks/", 422, {"name": f"snack {n}"}, token)
        call("POST", "/snacks/", 401, {"name": "no token"})
        call("GET", "/drawers/", 401, token="not-a-token")
        drawer = call("POST", "/drawers/", 201, {"name": "desk"}, token)["drawer"]["id"]
        call("POST", "/drawers/", 422, {"name": "desk"}, token)
        call("POST", f"/drawers/{drawer}", 201, {"snack": 1}, token)
        call("POST", f"/drawers/{drawer}", 422, {"snack": 1}, token)
        call("POST", f"/drawers/{drawer}", 400, {"snack": "one"}, token)
        call("GET", "/drawers/", 200, token=token)
        call("GET", f"/drawers/{drawer}", 200, token=token)
        call("GET", "/drawers/999999", 404, token=token)
        call("DELETE", f"/drawers/{drawer}/snacks/1", 204, token=token)
        call("DELETE", f"/drawers/{drawer}", 204, token=token)
        call("GET", "/no-such-route", 404)
        call("PUT", "/snacks/", 405)

    def run(self):
        while not self.done.is_set():
            try:
                self.session(self.rounds)
            except Exception as error:  # a broken round is reported, the traffic goes on
                self.problems.add(f"a traffic round broke: {error!r}")
            self.rounds += 1
            self.done.wait(self.pause)
