#!/usr/bin/env python3
"""Torn reads across two processes on one SQLite file (issue 21, item 6, second half), attacked
again: release binary, loopback only, two services on one SQLite file in a temporary directory,
the default keep time (SNACKDRAWER_CACHE_TTL, 1 s on SQLite), write rate off.

One user. A writer, on the first process, loops for DURATION (20 s): it creates a drawer, puts
snacks 1, 2 and 3 in it, publishes its id, and deletes it. Four readers, on the second process,
read the two most recently published drawers over and over. A published drawer was full before
anyone could read it and is deleted in one statement (its contents go with it), so a consistent
read finds it full or not at all. Counted: reads that found it existing but empty, or holding
some of its snacks (torn); and a reader that saw a drawer gone (404) and later there again
(200). Issue: a drawer read as existing but empty 91 times, and a client saw 404 then 200 again
(the issue does not say for how long it ran). Built from 0094d0e (before the fixes) and run
with SERVER_BIN, it finds both.

    benches/attack-torn.py
    SERVER_BIN=target/release/snackdrawer DURATION=60 benches/attack-torn.py
"""

import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack_lib import Client, Service  # noqa: E402

DURATION = float(os.environ.get("DURATION", "20"))
READERS = 4
SNACKS = [1, 2, 3]


def writer(client, token, published, stop):
    while not stop.is_set():
        status, made = client.call("POST", "/drawers/", {"name": "cycle"}, token=token)
        if status != 201:
            continue
        drawer = made["drawer"]["id"]
        for snack in SNACKS:
            client.call("POST", f"/drawers/{drawer}", {"snack": snack}, token=token)
        published.append(drawer)
        client.call("DELETE", f"/drawers/{drawer}", token=token)


def reader(client, token, published, stop, counts, lock):
    gone = set()  # drawers this reader saw answer 404
    mine = dict.fromkeys(["full", "empty", "partial", "404", "other", "back after 404"], 0)
    while not stop.is_set():
        for drawer in published[-2:]:
            status, answer = client.call("GET", f"/drawers/{drawer}", token=token)
            if status == 200:
                held = len(answer["drawer"]["contents"])
                mine["full" if held == len(SNACKS) else "empty" if held == 0 else "partial"] += 1
                if drawer in gone:
                    mine["back after 404"] += 1
            elif status == 404:
                mine["404"] += 1
                gone.add(drawer)
            else:
                mine["other"] += 1
    with lock:
        for key, value in mine.items():
            counts[key] = counts.get(key, 0) + value


def main():
    port = int(os.environ.get("PORT", "18236"))
    directory = tempfile.TemporaryDirectory()
    settings = {
        "DATABASE_URL": f"sqlite://{directory.name}/torn.db?mode=rwc",
        "SNACKDRAWER_JWT_SECRET": "attack-torn-secret-attack-torn-secret",
        "SNACKDRAWER_LOGIN_LIMITS": "false",
        "SNACKDRAWER_WRITE_RATE_PER_USER": "0",
    }
    first = Service(port, settings).start()
    second = Service(port + 1, settings).start()
    try:
        _, token = Client(port).register_and_login("torn")
        published, stop, lock, counts = [], threading.Event(), threading.Lock(), {}
        threads = [threading.Thread(target=writer, args=(Client(port), token, published, stop))]
        threads += [threading.Thread(target=reader,
                                     args=(Client(port + 1), token, published, stop, counts, lock))
                    for _ in range(READERS)]
        for thread in threads:
            thread.start()
        time.sleep(DURATION)
        stop.set()
        for thread in threads:
            thread.join()
        reads = sum(counts[key] for key in ["full", "empty", "partial", "404", "other"])
        print(f"{DURATION:.0f} s: {len(published)} drawers made, filled and deleted; {reads} reads"
              f" by {READERS} readers on the other process")
        print(f"full: {counts['full']}, gone (404): {counts['404']},"
              f" other statuses: {counts['other']}")
        print(f"torn: existing but empty {counts['empty']},"
              f" holding some of its snacks {counts['partial']}")
        print("a reader saw a drawer gone (404) and then there again (200):"
              f" {counts['back after 404']} times")
    finally:
        first.stop()
        second.stop()
        directory.cleanup()


if __name__ == "__main__":
    main()
