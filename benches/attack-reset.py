#!/usr/bin/env python3
"""Kept reads across a database reset (issue 21, item 6, first half), attacked again: release
binary, PostgreSQL on 127.0.0.1:5432 (trust auth), a scratch database `attack_reset` (dropped and
created here: nothing else may use it), SNACKDRAWER_CACHE_TTL=5, loopback only.

Service A serves throughout; a second process, B, serves the same database from another port
(a replica). Each round: a user registers through A (id 1), logs in, and reads `GET /drawers/`
so that A keeps the account; the database is dropped (WITH (FORCE): A keeps running and loses
its connections) and created again, and `snackdrawer migrate` prepares it. Then:

- missing: nobody registers; the old token's GET /drawers/, GET /drawers/1, POST /drawers/ and
  GET /drawers/ again, on A. Issue: a token for a missing id got 500 on POST /drawers/;
- mixed via A / via B: a new user registers through A (or B), gets id 1, and makes a drawer
  holding a snack; then for 6 s the old token, on A, alternately reads that drawer and creates
  a drawer, about nine of each a second. Issue: the old token acted as the new account for
  5.2 s, read its drawer and planted 19 drawers;
- reads via A / via B: the same, reads only (the drawer, and the drawer list), which decision
  0016 still lets a token answer from a kept account on a replica that has not itself created
  an account since the reset.

Printed per round: how long after the warming read the attack began (it must be under 5 s
for the kept account to matter), the old token's answers, how many reads showed the new
account's drawer and until when (seconds after the database was back), and the drawers planted
(counted in the database). Built from 0094d0e (before the fixes) and run with SERVER_BIN, it
gives the issue's findings (a 500, drawers planted, the new account's drawer read for about the
keep time); that service also refuses the new owner's own token while it keeps the old account.

    benches/attack-reset.py
    SERVER_BIN=target/release/snackdrawer ROUNDS="missing mixed-A" benches/attack-reset.py
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack_lib import Client, Service, tally  # noqa: E402

DATABASE = "attack_reset"
URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
ATTACK_SECONDS = float(os.environ.get("ATTACK_SECONDS", "6"))
SECRET_NAME = "the new owner's secret drawer"
SETTINGS = {
    "DATABASE_URL": URL,
    "SNACKDRAWER_CACHE_TTL": "5",
    "SNACKDRAWER_JWT_SECRET": "attack-reset-secret-attack-reset-secret",
    "SNACKDRAWER_LOGIN_LIMITS": "false",
    # The service had no write rate: this round measures the account check, not it.
    "SNACKDRAWER_WRITE_RATE_PER_USER": "0",
    "SNACKDRAWER_SCRYPT_LOG_N": "1",
    "SNACKDRAWER_SCRYPT_R": "1",
}


def sql(statement, database="postgres"):
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qAtc", statement],
        check=True, capture_output=True, text=True).stdout.strip()


def recreate(service):
    sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    sql(f"CREATE DATABASE {DATABASE}")
    service.run("migrate")


def wait_ready(client):
    deadline = time.monotonic() + 10
    while client.call("GET", "/readyz")[0] != 200:
        if time.monotonic() > deadline:
            sys.exit("a service did not come back after the reset")
        time.sleep(0.05)


def old_account(service, a):
    """On a fresh database, registers through A the account that the reset will erase; A keeps
    it. (token, when it was kept)"""
    recreate(service)
    wait_ready(a)
    user_id, token = a.register_and_login("old-owner")
    assert user_id == 1, f"the old account has id {user_id}, not 1"
    # A service without the fix may still answer from the account of the round before, kept
    # for the keep time, and refuse the new token until then.
    deadline = time.monotonic() + 6
    while (status := a.call("GET", "/drawers/", token=token)[0]) != 200:
        assert time.monotonic() < deadline, f"warming read: {status}"
        time.sleep(0.2)
    return token, time.monotonic()


def round_missing(service, a):
    token, warmed = old_account(service, a)
    recreate(service)
    wait_ready(a)
    print(f"  attack began {time.monotonic() - warmed:.1f} s after the warming read")
    # Reads first: the write checks the account in the database and replaces the kept copy.
    for method, path, body in [("GET", "/drawers/", None), ("GET", "/drawers/1", None),
                               ("POST", "/drawers/", {"name": "planted"}),
                               ("GET", "/drawers/", None)]:
        status, answer = a.call(method, path, body, token=token)
        print(f"  old token, no account with its id: {method} {path} -> {status} {answer}")


def attack(service, a, registrar, reads_only):
    token, warmed = old_account(service, a)
    recreate(service)
    back = time.monotonic()
    wait_ready(a)
    wait_ready(registrar)
    new_id, new_token = registrar.register_and_login("new-owner")
    status, made = registrar.call("POST", "/drawers/", {"name": SECRET_NAME}, token=new_token)
    if status == 201:
        drawer = made["drawer"]["id"]
        registrar.call("POST", f"/drawers/{drawer}", {"snack": 1}, token=new_token)
    else:  # a service without the fix refuses the new owner while it keeps the old account
        print(f"  the new owner's own token making a drawer: {status} {made};"
              " the old token reads the list")
        drawer = None
    read = f"/drawers/{drawer}" if drawer else "/drawers/"
    began = time.monotonic()
    print(f"  new account id {new_id}; attack began {began - warmed:.1f} s after the warming read")
    reads, writes, seen_until, accepted_until, i = [], [], None, None, 0
    while time.monotonic() - began < ATTACK_SECONDS:
        i += 1
        status, answer = a.call("GET", read, token=token)
        reads.append(status)
        if status == 200 and drawer and answer["drawer"]["name"] == SECRET_NAME:
            seen_until = time.monotonic() - back
        if reads_only:
            status, answer = a.call("GET", "/drawers/", token=token)
            reads.append(status)
        else:
            status, answer = a.call("POST", "/drawers/", {"name": f"planted {i}"}, token=token)
            writes.append(status)
        if status in (200, 201):
            accepted_until = time.monotonic() - back
        time.sleep(0.05)
    planted = sql("SELECT count(*) FROM drawers WHERE name LIKE 'planted%'", DATABASE)
    creates = "" if reads_only else f"; creates: {tally(writes)}"
    print(f"  old token's reads: {tally(reads)}{creates}")
    seen = f"{seen_until:.1f} s" if seen_until is not None else "never"
    accepted = f"{accepted_until:.1f} s" if accepted_until is not None else "never"
    print(f"  the new account's drawer read by the old token until: {seen} after the database"
          f" was back; any answer 200/201 until: {accepted}; drawers planted: {planted}")


# name: (what it does, who registers the new account: "A", "B" or nobody, reads only)
ROUNDS = {
    "missing": ("the old token, its id nobody's", None, None),
    "mixed-A": ("the new account registered through A, reads and creates", "A", False),
    "mixed-B": ("the new account registered through B, reads and creates", "B", False),
    "reads-A": ("the new account registered through A, reads only", "A", True),
    "reads-B": ("the new account registered through B, reads only", "B", True),
}


def main():
    rounds = os.environ.get("ROUNDS", " ".join(ROUNDS)).split()
    port = int(os.environ.get("PORT", "18234"))
    service_a = Service(port, SETTINGS)
    service_b = Service(port + 1, SETTINGS)
    sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    sql(f"CREATE DATABASE {DATABASE}")  # to start on; each round makes its own
    service_a.start()
    service_b.start()
    a, b = Client(port), Client(port + 1)
    try:
        for name in rounds:
            label, registrar, reads_only = ROUNDS[name]
            print(f"== {name}: {label}")
            if registrar is None:
                round_missing(service_a, a)
            else:
                attack(service_a, a, {"A": a, "B": b}[registrar], reads_only)
    finally:
        service_a.stop()
        service_b.stop()
        sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
