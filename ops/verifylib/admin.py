"""Snackdrawer's admin API (src/chaos/admin.rs), as the live checks drive it: its own loopback
port, a bearer token made up for the run, the fault plan (`PUT /faults`) and lazy mode
(`POST /lazy`, `DELETE /lazy`). Turning faults on through it, rather than with start flags,
proves the path an operator takes (docs/faults.md).
"""

import json
import secrets
import time
import urllib.error
import urllib.request


class Admin:
    def __init__(self, address):
        self.address = address
        self.url = f"http://{address}"
        self.token = secrets.token_urlsafe(32)  # the API wants at least 32 bytes

    def env(self):
        """What the service needs to serve this admin API."""
        return {"SNACKDRAWER_ADMIN_LISTEN": self.address, "SNACKDRAWER_ADMIN_TOKEN": self.token}

    def call(self, method, path, body=None, attempts=20):
        """The answer's JSON; raises RuntimeError on any status but 200. Retries while the port
        is not open yet (the admin listener starts with the service)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                raise RuntimeError(
                    f"admin API {method} {path}: {error.code} {error.read().decode()}"
                ) from None
            except OSError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.25)
        raise AssertionError("unreachable")

    def set_plan(self, text):
        return self.call("PUT", "/faults", {"text": text})

    def lazy_on(self):
        return self.call("POST", "/lazy")

    def lazy_off(self):
        return self.call("DELETE", "/lazy")
