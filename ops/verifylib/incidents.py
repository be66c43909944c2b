"""The incident catalogue, live: each incident of src/chaos/incidents.rs, set through the admin
API while snackdrawer-load drives the real binary, must move its own signature (a metric read
from a real Prometheus, past a threshold) and no other incident's, and must leave the event that
says which fault it is. It prints, per incident, the seconds from the plan going in to its
signature crossing the threshold.

With a folder for pictures, each incident is also photographed as it ends: Prometheus's own graph
page (headless Chromium, as ops/pictures takes it) of the query in PICTURES over the last
minute, which holds the quiet before the incident and the incident itself; for `log-flood`, whose
signal is in the logs, a few of the lines it wrote, as text. docs/incidents.md embeds them.

The plans are read from the catalogue's source, so the run checks the incidents the binary has.
The service runs on its default store, SQLite, whose connection pool `pool-exhaustion` holds.
One incident needs a user of its own: `one-unlucky-user` fails user 1's drawer calls, so the run
signs user 1 up before the load starts and has it list its drawers twice a second; the traces
that arrive while it runs must show user 1's drawer calls alone failing, and other users' served.
"""

import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Callable, NamedTuple

from . import ROOT
from .admin import Admin
from .faults import LOAD_ARGS, check_load
from .otlp import SPAN_KIND_SERVER, Receiver
from .pictures import Camera, check, graph_url, optimise, page
from .prometheus_api import Prometheus
from .report import fail, ok, section
from .services import (
    free_port,
    load_binary,
    snackdrawer_binary,
    start_prometheus,
    start_snackdrawer,
    stop,
)

CATALOGUE = ROOT / "src" / "chaos" / "incidents.rs"
BASELINE = 20  # seconds of load before the first incident
DEADLINE = 30  # seconds for an incident's signature to cross its threshold
HOLD = 5  # seconds an incident stays on after its crossing, every signature watched
QUIET = 8  # seconds after an incident is cleared before the next: the 5 s rate windows empty
POLL = 0.5
MIB = 1 << 20

WRITES = r".+Repository::(create|add_snack|remove_snack|delete)"
UNLUCKY = 1  # the user whose drawer calls `one-unlucky-user` fails (its plan's user=1)


def drawer_5xx_share():
    count = "http_server_request_duration_seconds_count"
    route = 'http_route="/drawers/{id}", http_request_method="GET"'
    return (
        f'sum(rate({count}{{{route}, http_response_status_code=~"5.."}}[5s])) '
        f"/ sum(rate({count}{{{route}}}[5s]))"
    )


class Signature(NamedTuple):
    """What must move when the incident runs: `metric` (a PromQL query, or None for one the
    run counts itself) past `threshold`, measured from its value when the incident started
    when `relative`."""

    what: str
    metric: object
    threshold: float
    relative: bool = False


SIGNATURES = {
    "cpu-hog": Signature(
        "process CPU, cores above the start", "rate(process_cpu_seconds_total[5s])", 0.5, True
    ),
    "memory-leak": Signature(
        "resident memory above the start, MiB",
        f"process_resident_memory_bytes / {MIB}",
        48,
        True,
    ),
    "log-flood": Signature("WARN log records a second, over OTLP", None, 100),
    "slow-commits": Signature(
        "p95 of the repositories' writes, s",
        "histogram_quantile(0.95, sum by (le) (rate(function_calls_duration_seconds_bucket"
        f'{{function=~"{WRITES}"}}[5s])))',
        0.25,
    ),
    "slow-hashing": Signature(
        "p95 of PasswordHasher calls, s",
        "histogram_quantile(0.95, sum by (le) (rate(function_calls_duration_seconds_bucket"
        '{function=~"PasswordHasher::.+"}[5s])))',
        0.5,
    ),
    "pool-exhaustion": Signature(
        "share of the pool used, lowest over 5 s",
        'min_over_time(snackdrawer_store_connections{state="used"}[5s]) '
        "/ scalar(snackdrawer_store_connections_max)",
        0.7,
    ),
    "broken-drawer-page": Signature("5xx share of GET /drawers/{id}", drawer_5xx_share(), 0.1),
    "one-unlucky-user": Signature(
        "DrawerRepository errors a second",
        'sum(rate(function_calls_total{function=~"DrawerRepository::.+", result="error"}[5s]))',
        0.5,
    ),
}

# The event each incident must leave over OTLP, as (kind, target): a `fault.injected` span
# event of that kind on a target starting so, or, for a fault of the whole process, which no
# span carries, the WARN log record "injected a fault on purpose" at target "process".
PROCESS = "process"
EVENTS = {
    "cpu-hog": ("cpu", PROCESS),
    "memory-leak": ("leak", PROCESS),
    "log-flood": ("log-flood", PROCESS),
    "slow-commits": ("slow-commit", ""),
    "slow-hashing": ("latency", "PasswordHasher::"),
    "pool-exhaustion": ("hold-connections", PROCESS),
    "broken-drawer-page": ("internal", "GET /drawers/{id}"),
    "one-unlucky-user": ("internal", "DrawerRepository::"),
}


def event_named(kind, target):
    if target == PROCESS:
        return f"WARN log record of a {kind} fault at target process"
    return f"fault.injected span event of kind {kind} on {target or 'a port'}"


# What each incident's picture draws: the signal its section of docs/incidents.md names first,
# per series, so the one that moves shows beside those that do not. `log-flood`'s is its lines.
REPOSITORIES = r".+Repository::.+"
PICTURES = {
    "cpu-hog": "rate(process_cpu_seconds_total[5s])",
    "memory-leak": f"process_resident_memory_bytes / {MIB}",
    "slow-commits": " or ".join(
        f'label_replace(histogram_quantile(0.95, sum by (le) (rate('
        f'function_calls_duration_seconds_bucket{{function=~"{REPOSITORIES}", {selector}}}[5s]))),'
        f' "calls", "{calls}", "", "")'
        for calls, selector in [("writes", f'function=~"{WRITES}"'), ("reads", f'function!~"{WRITES}"')]
    ),
    "slow-hashing": "histogram_quantile(0.95, sum by (le, function) (rate("
    'function_calls_duration_seconds_bucket{function=~"PasswordHasher::.+"}[5s])))',
    "pool-exhaustion": "snackdrawer_store_connections or snackdrawer_store_connections_max",
    "broken-drawer-page": "sum by (http_route) (rate(http_server_request_duration_seconds_count"
    '{http_response_status_code=~"5.."}[5s]))',
    "one-unlucky-user": "sum by (function) (rate(function_calls_total"
    f'{{function=~"{REPOSITORIES}", result="error"}}[5s]))',
}
PICTURE_HEIGHT = 900
PICTURE_HOLD = 20  # seconds an incident stays on after its crossing when it is photographed
FLOOD_LINES = 4


class Photographer:
    """Takes each incident's picture into `out` as it ends (`PICTURES`)."""

    def __init__(self, out, workdir, prometheus_url, service_log):
        self.out, self.camera = out, Camera(workdir)
        self.graph_page = page(prometheus_url, "/graph")
        self.service_log = service_log
        self.made = []
        out.mkdir(parents=True, exist_ok=True)

    def take(self, name):
        if name not in PICTURES:
            lines = [
                line for line in self.service_log.read_text().splitlines()
                if "background task retried" in line
            ]
            path = self.out / f"incident-{name}.txt"
            path.write_text("\n".join(lines[-FLOOD_LINES:]) + "\n")
            print(f"{'':28}{path.name}: {len(lines)} flood lines logged, the last {FLOOD_LINES} kept")
            return
        path = self.out / f"incident-{name}.png"
        self.camera.shoot(graph_url(self.graph_page, PICTURES[name], 60), path, PICTURE_HEIGHT)
        before, after = optimise(path)
        self.made.append(path)
        print(f"{'':28}{path.name}: {before} B taken, {after} B optimised")


def catalogue():
    """(name, plan) of each incident, as src/chaos/incidents.rs has them."""
    text = CATALOGUE.read_text()
    found = re.findall(r'name: "([^"]+)",\s*symptom: "[^"]*",\s*plan: "((?:[^"\\]|\\.)*)"', text)
    return [(name, plan.replace('\\"', '"')) for name, plan in found]


class Exported:
    """Counts what the service exports over OTLP as it arrives (the receiver's `show`): WARN log
    records, and injected faults by kind and target: `fault.injected` span events, and the WARN
    records of faults of the whole process."""

    def __init__(self):
        self.warns = 0
        self.events = {}  # (kind, target) -> count

    def __call__(self, path, headers, received):
        for _, one in received:
            if path == "/v1/logs":
                self.warns += one.severity_text == "WARN"
                if one.severity_text == "WARN" and one.attributes.get("fault.target") == PROCESS:
                    self.note(one.attributes)
                continue
            for name, attrs in one.events:
                if name == "fault.injected":
                    self.note(attrs)

    def note(self, attrs):
        key = (attrs.get("fault.kind"), str(attrs.get("fault.target", "")))
        self.events[key] = self.events.get(key, 0) + 1

    def count(self, kind, target):
        return sum(n for (k, t), n in list(self.events.items()) if k == kind and t.startswith(target))


class Watcher:
    """Reads every signature; counts WARN records a second itself, from what was exported."""

    def __init__(self, prometheus, exported):
        self.prometheus, self.exported = prometheus, exported
        self.warns = []  # (time, WARN records so far)

    def warn_rate(self):
        count = self.exported.warns
        now = time.time()
        self.warns.append((now, count))
        past = [(t, c) for t, c in self.warns if t <= now - 5] or self.warns[:1]
        t, c = past[-1]
        return (count - c) / (now - t) if now > t else 0.0

    def read(self):
        values = {}
        warns = self.warn_rate()
        for name, signature in SIGNATURES.items():
            if signature.metric is None:
                values[name] = warns
            else:
                numbers = self.prometheus.values(signature.metric)
                values[name] = numbers[0] if numbers else None
        return values


def crossed(signature, value, start):
    if value is None:
        return False
    base = (start or 0.0) if signature.relative else 0.0
    return value - base > signature.threshold


def one_user(traces, user, target, window):
    """Whose calls to port methods starting `target` failed in `traces` (trace id -> spans), by
    the request span's `enduser.id`, for an incident that must fail them for `user` alone: a line
    saying how they went, and the problems (a fault injected into another user's call, or no
    other user's call served). Only requests that began within `window` (a range of Unix times
    in nanoseconds) count. A request's calls are served when none had a fault injected and it
    was answered below 500."""
    hit, served = Counter(), Counter()
    for spans in traces.values():
        calls = [s for s in spans if str(s.attributes.get("code.function.name")).startswith(target)]
        requests = [s for s in spans if s.kind == SPAN_KIND_SERVER]
        if not calls or not requests or requests[0].start_unix_nano not in window:
            continue
        caller = requests[0].attributes.get("enduser.id")
        if any(name == "fault.injected" for call in calls for name, _ in call.events):
            hit[caller] += 1
        # tracing-opentelemetry exports the status, recorded as a u16, as text ("200").
        elif int(requests[0].attributes.get("http.response.status_code", 500)) < 500:
            served[caller] += 1
    others = served.keys() - {user}
    hit_ids = ", ".join(str(u) for u in sorted(hit, key=str)) or "none"
    line = (f"{target}… calls with a fault: enduser.id {hit_ids} ({hit.total()} requests); "
            f"served: {len(others)} other users ({sum(served[u] for u in others)} requests)")
    problems = []
    if hit.keys() != {user}:
        problems.append(f"faults were injected into {target}… calls with enduser.id {hit_ids}, "
                        f"not {user} alone")
    if not others:
        problems.append(f"no other user's {target}… call was served meanwhile")
    return line, problems


class UnluckyUser:
    """User 1, signed up before anyone else, listing its drawers twice a second."""

    def __init__(self, base):
        self.base, self.stopped = base, threading.Event()
        credentials = {"username": "unlucky", "password": "unlucky-password"}
        user = self.call("POST", "/auth/users", credentials)
        if user.get("id") != UNLUCKY:
            raise SystemExit(f"the unlucky user must be user {UNLUCKY}, and is {user}")
        self.token = self.call("POST", "/auth/login", credentials)["token"]
        self.call("POST", "/drawers/", {"name": "bad luck"})
        threading.Thread(target=self.browse, daemon=True).start()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if getattr(self, "token", None):
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            return {"status": error.code}

    def browse(self):
        while not self.stopped.wait(0.5):
            self.call("GET", "/drawers/")


def run_incident(name, plan, admin, watcher, exported, receiver, photographer):
    """One incident: its plan in, its signature timed, every other one watched; then out.
    `one-unlucky-user` must also fail user UNLUCKY's drawer calls alone in the traces whose
    spans first arrived meanwhile (`receiver`'s)."""
    own = SIGNATURES[name]
    start = watcher.read()
    event = EVENTS[name]

    def seen():
        return exported.count(*event)

    before = seen()
    earlier = set(receiver.snapshot()[0])
    t0 = time.time()
    since = time.time_ns()
    admin.set_plan(plan)
    crossing, peaks, others = None, {}, set()
    hold = PICTURE_HOLD if photographer else HOLD
    while time.time() < t0 + DEADLINE and (crossing is None or time.time() < crossing + hold):
        values = watcher.read()
        for other, signature in SIGNATURES.items():
            if crossed(signature, values[other], start[other]):
                if other == name:
                    crossing = crossing or time.time()
                else:
                    others.add(other)
            if values[other] is not None:
                base = (start[other] or 0.0) if signature.relative else 0.0
                peaks[other] = max(peaks.get(other, float("-inf")), values[other] - base)
        time.sleep(POLL)
    until = time.time_ns()
    admin.call("DELETE", "/faults")
    time.sleep(1)  # the last spans and counts of the incident are exported
    after = seen()
    if photographer:
        photographer.take(name)
    took = None if crossing is None else crossing - t0
    peak = peaks.get(name)
    shown = "never" if took is None else f"{took:5.1f} s"
    print(f"       {name:<20} {own.what:<40} > {own.threshold:<5} {shown:>8}"
          f"   peak {'-' if peak is None else f'{peak:.3g}'}")
    nearest = max(
        (o for o in SIGNATURES if o != name and o in peaks),
        key=lambda o: peaks[o] / SIGNATURES[o].threshold,
    )
    print(
        f"{'':28}nearest other: {nearest} at "
        f"{peaks[nearest] / SIGNATURES[nearest].threshold:.0%} of its threshold"
    )
    if took is None:
        fail(f"{name}: {own.what} did not cross {own.threshold} within {DEADLINE} s")
    for other in sorted(others):
        fail(f"{name}: the signature of {other} moved too ({SIGNATURES[other].what}, "
             f"peak {peaks.get(other):.3g})")
    if after <= before:
        fail(f"{name}: no {event_named(*event)}")
    if name == "one-unlucky-user":
        arrived = {t: spans for t, spans in receiver.snapshot()[0].items() if t not in earlier}
        line, problems = one_user(arrived, UNLUCKY, event[1], range(since, until))
        print(f"{'':28}{line}")
        for problem in problems:
            fail(f"{name}: {problem}")
    return took


def run(pictures=None):
    section("the incident catalogue, live: each incident's signature, and no other's")
    binary, load = snackdrawer_binary(), load_binary()
    workdir = Path(tempfile.mkdtemp(prefix="snackdrawer-incidents-"))
    exported = Exported()
    receiver, admin = Receiver(show=exported), Admin(f"127.0.0.1:{free_port()}")
    incidents = catalogue()
    missing = sorted(set(SIGNATURES) ^ {name for name, _ in incidents})
    if missing or not incidents:
        fail(f"the catalogue and the signatures here differ: {missing or 'no incident read'}")
        return
    processes, load_process, user = [], None, None
    try:
        snackdrawer, base = start_snackdrawer(
            binary,
            workdir,
            {
                **admin.env(),
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "DATABASE_URL": f"sqlite://{workdir / 'incidents.db'}?mode=rwc",
            },
        )
        processes.append(snackdrawer)
        prometheus_process, url = start_prometheus(base.removeprefix("http://"), workdir)
        processes.append(prometheus_process)
        user = UnluckyUser(base)
        summary_path, load_log = workdir / "load-summary.json", workdir / "load.log"
        load_process = subprocess.Popen(
            [load, "--host", base, *LOAD_ARGS, "--summary-json", summary_path],
            stdout=load_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        prometheus = Prometheus(url)
        watcher = Watcher(prometheus, exported)
        photographer = pictures and Photographer(
            pictures, workdir, url, workdir / "snackdrawer.log"
        )
        ok(f"snackdrawer at {base} (SQLite, admin API {admin.url}); Prometheus {url}, "
           f"every 1s; snackdrawer-load {' '.join(LOAD_ARGS[:8])}; user 1 lists its drawers")
        deadline = time.time() + BASELINE
        while time.time() < deadline:
            watcher.read()
            time.sleep(POLL)
        print(f"\n     seconds from the plan going in (PUT /faults) to its signature crossing")
        for name, plan in incidents:
            quiet_until = time.time() + QUIET
            while time.time() < quiet_until:
                watcher.read()
                time.sleep(POLL)
            run_incident(name, plan, admin, watcher, exported, receiver, photographer)
        user.stopped.set()
        if photographer:
            check(photographer.made)
        check_load(load_process, summary_path, load_log)
        load_process = None
    finally:
        if user:
            user.stopped.set()
        if load_process:
            load_process.kill()
            load_process.wait()
        for process in reversed(processes):
            stop(process)
        receiver.stop()
        shutil.rmtree(workdir, ignore_errors=True)
