"""The pictures in the docs, made from a real run: a short lazy-mode episode of the release
binary under snackdrawer-load, watched by a real Prometheus, photographed by headless Chromium.

The episode is ops/verify-faults' (faults.py), shortened: the same lazy-mode settings, the same
load, the same rules overlay (rules.yml with every window divided by 60, scraped every second,
so a second here is a minute of production). BASELINE seconds of healthy load; lazy mode on
through the admin API until both fast-burn alerts fire (at most LAZY_DEADLINE), then HOLD
more; off, and RECOVERY seconds more. While lazy mode is on, Prometheus's alerts page is taken,
and `snackdrawer-lab --attach <service> --once` prints the lab's screen: the lab of the
service's build (built with cargo in its profile, so target/debug/snackdrawer has the debug
lab), which must show every panel filled and both pages firing (LAB_SHOWS).
At the end, Prometheus's own graph page of each GRAPHS query (the golden-signals dashboard's
queries, $__rate_interval as ops/verify sets it) over the whole episode, and the top of the
load generator's HTML report, opened with every host name unresolvable, as it would be offline.

Each screenshot is a fixed window drawn at SCALE, then made smaller by pngquant and optipng when
they are installed, and must decode and show something (png.py). They go to docs/img/, or with
--check to a scratch folder.
"""

import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import ROOT, episode, grafana
from .admin import Admin
from .faults import LAZY, LOAD_ARGS, write_overlay
from .png import NotAPicture, inspect
from .prometheus_api import Prometheus
from .report import fail, failures, ok, section
from .services import free_port, start_prometheus, start_snackdrawer, stop

BASELINE = 30
LAZY_DEADLINE = 75
HOLD = 5
RECOVERY = 30
GOLDEN = "golden-signals.json"
# Chromium draws at SCALE: a window of 1100 CSS pixels makes a picture 825 pixels wide.
SCALE = 0.75
WIDTH = 1100
# (file, dashboard panel, legend, window height): the queries whose graphs are drawn, as the
# dashboard has them, each in a window that holds Prometheus's graph page down to its legend.
GRAPHS = [
    ("latency-p95.png", "Request latency, all routes", "p95", 860),
    (
        "requests-by-status.png",
        "Requests per second by status code",
        "{{http_response_status_code}}",
        980,
    ),
    ("error-share.png", "Server errors (5xx), share of requests", "5xx share", 860),
]
ALERTS = ("alerts.png", 560)
LOAD_REPORT = ("load-report.png", 1060)
LAB = "lab.txt"
SCREENSHOT_TIMEOUT = 60
LAB_TIMEOUT = 60
LAB_SETTLE = "10s"  # long enough for a window of readings and a few batches of traces
# (what, pattern): what the lab's screen must show while lazy mode is on, each on a line of its
# own (re.M), Prometheus's and the lab's receiver's addresses put in: each panel filled, and
# both pages firing as Prometheus has them.
LAB_SHOWS = [
    ("the golden signals", r"^all routes +\d"),
    ("the burn rates from Prometheus", r"^ +read from Prometheus at {prometheus}"),
    ("the availability page firing", r"^availability .*fast page: FIRING"),
    ("the latency page firing", r"^latency .*fast page: FIRING"),
    ("the saturation", r"^SATURATION in flight \d"),
    ("lazy mode on", r"^ +lazy ON"),
    ("the charts", r"^req/s +\S+ +\d"),
    ("the service's traces", r"^TRACES [1-9]\d* kept, from http://{otlp} "),
    ("a trace with a fault injected", r" \d\d\d! "),
]
# Debian's packages for the tools; Chromium is the one that cannot be done without.
CHROMIUM = ("chromium", "chromium")
OPTIMISERS = [("pngquant", "pngquant"), ("optipng", "optipng")]


def missing_tools():
    """(program, Debian package) for each tool absent from the PATH."""
    return [(p, package) for p, package in [CHROMIUM, *OPTIMISERS] if not shutil.which(p)]


def install(packages):
    """apt-get installs `packages`; exits saying why when it cannot."""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        raise SystemExit(
            f"ops/pictures --install: needs apt-get as root to install {' '.join(packages)}; "
            "install them another way, or run without --install"
        )
    print(f"     apt-get install -y {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "env": env}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, **quiet)


def cargo_build(profile, packages):
    """Builds `packages` of this workspace in `profile`, or stops the run."""
    build = ["cargo", "build", "--quiet", "--profile", profile]
    for package in packages:
        build += ["-p", package]
    print(f"     {' '.join(build)}", flush=True)
    if subprocess.run(build, cwd=ROOT).returncode:
        raise SystemExit(f"ops/pictures: the build of {', '.join(packages)} ({profile}) failed")


def release_binaries():
    """snackdrawer and snackdrawer-load, release builds: SNACKDRAWER_BIN and
    SNACKDRAWER_LOAD_BIN when set, else built with cargo."""
    named = [os.environ.get("SNACKDRAWER_BIN"), os.environ.get("SNACKDRAWER_LOAD_BIN")]
    if all(named):
        return [Path(n).resolve() for n in named]
    cargo_build("release", ["snackdrawer", "snackdrawer-load"])
    release = ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "release"
    return [
        Path(n).resolve() if n else release / name
        for n, name in zip(named, ["snackdrawer", "snackdrawer-load"])
    ]


class Camera:
    """Headless Chromium taking one screenshot per call, in a profile of its own."""

    def __init__(self, workdir):
        self.profile = workdir / "chromium-profile"

    def shoot(self, url, path, height, offline=False):
        command = [
            shutil.which("chromium"),
            "--headless=new",
            "--no-sandbox",  # Chromium's sandbox refuses to run as root, as CI does
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={self.profile}",
            f"--window-size={WIDTH},{height}",
            f"--force-device-scale-factor={SCALE}",
            # Lets the page's scripts fetch and draw before the picture is taken.
            "--virtual-time-budget=10000",
            f"--screenshot={path}",
        ]
        if offline:
            command.append("--host-resolver-rules=MAP * ~NOTFOUND")
        result = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=SCREENSHOT_TIMEOUT
        )
        if result.returncode or not path.exists():
            raise RuntimeError(f"chromium could not take {url}:\n{result.stderr[-2000:]}")


def optimise(path):
    """`path` made smaller in place by pngquant (256 colours at most) and optipng, each when
    installed; returns its sizes before and after."""
    before = path.stat().st_size
    if shutil.which("pngquant"):
        subprocess.run(
            ["pngquant", "--quality=50-90", "--speed=1", "--strip", "--force", "--ext=.png", path],
            check=True,
        )
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", "-strip", "all", path], check=True)
    return before, path.stat().st_size


def page(prometheus_url, path):
    """The address of Prometheus's page `path` (`/graph`, `/alerts`) where it answers 200:
    upstream's builds serve it there, Debian's (which leave the React UI out) under `/classic`."""
    for candidate in (path, f"/classic{path}"):
        try:
            with urllib.request.urlopen(f"{prometheus_url}{candidate}", timeout=10) as answer:
                return answer.url  # after any redirect
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
    raise RuntimeError(f"Prometheus at {prometheus_url} serves neither {path} nor /classic{path}")


def graph_url(graph_page, expr, range_seconds):
    """Prometheus's own graph page of `expr` over the last `range_seconds`, in whole minutes."""
    params = {
        "g0.expr": expr,
        "g0.tab": "0",
        "g0.stacked": "0",
        "g0.show_exemplars": "0",
        "g0.range_input": f"{math.ceil(range_seconds / 60)}m",
    }
    return f"{graph_page}?{urllib.parse.urlencode(params)}"


def lab_binary(service):
    """snackdrawer-lab of the build `service` comes from: built with cargo in `service`'s
    profile when `service` is in this workspace's target folder (target/debug holds the dev
    profile's), else the one beside it."""
    lab = service.with_name("snackdrawer-lab")
    target = (ROOT / os.environ.get("CARGO_TARGET_DIR", "target")).resolve()
    if service.parent.parent != target:
        return lab
    profile = "dev" if service.parent.name == "debug" else service.parent.name
    cargo_build(profile, ["snackdrawer-lab"])
    return lab


def lab_missing(screen, prometheus_url, otlp):
    """What of LAB_SHOWS the lab's `screen` lacks, attached to the service with Prometheus at
    `prometheus_url` and its receiver at `otlp`."""
    return [
        what
        for what, pattern in LAB_SHOWS
        if not re.search(
            pattern.format(prometheus=re.escape(prometheus_url), otlp=re.escape(otlp)), screen, re.M
        )
    ]


def capture_lab(lab, base, admin, prometheus_url, otlp, out):
    """The lab's screen, once, attached to the service at `base` with everything it can read:
    the admin API, Prometheus, and the traces the service exports to `otlp`, where the lab's
    receiver listens while it watches; it must show LAB_SHOWS. None when it could not."""
    if not os.access(lab, os.X_OK):
        fail(f"no {LAB}: the lab is not built ({lab}, beside the service, is absent)")
        return None
    result = subprocess.run(
        [
            lab, "--attach", base, "--once", "--settle", LAB_SETTLE,
            "--admin-url", admin.url, "--admin-token", admin.token,
            "--prometheus-url", prometheus_url, "--otlp-listen", otlp,
        ],
        capture_output=True,
        text=True,
        timeout=LAB_TIMEOUT,
    )
    if result.returncode:
        fail(f"snackdrawer-lab --attach {base} --once exited {result.returncode}:\n{result.stderr}")
        return None
    path = out / LAB
    path.write_text(result.stdout)
    missing = lab_missing(result.stdout, prometheus_url, otlp)
    for what in missing:
        fail(f"{LAB}: the lab's screen shows no {what}")
    if not missing:
        ok(f"{LAB}: the lab's screen shows {', '.join(what for what, _ in LAB_SHOWS)}")
    return path


def fast_burns_firing(prometheus, fast_burn):
    alerts = prometheus.active_alerts()
    return all(alerts.get(name, ("",))[0] == "firing" for name in fast_burn)


def stop_load(process, log):
    """SIGINT, as a person's Ctrl-C: goose stops its users, the audit runs, the reports are
    written. Returns the exit code."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"snackdrawer-load did not stop within 90 s of SIGINT; log {log}")


def check(paths):
    """Each picture must decode and show something."""
    for path in paths:
        try:
            width, height, colours = inspect(path.read_bytes())
            ok(f"{path.name}: {width}x{height}, {colours} colours, decodes")
        except NotAPicture as problem:
            fail(f"{path}: {problem}")


def run(out):
    started = time.monotonic()
    section("pictures: a short lazy-mode episode of the release binary, photographed")
    binary, load = release_binaries()
    lab_program = lab_binary(binary)
    workdir = Path(tempfile.mkdtemp(prefix="snackdrawer-pictures-"))
    out.mkdir(parents=True, exist_ok=True)
    rules, overlay_path = write_overlay(workdir)
    fast_burn = sorted(a for a in episode.alerts_of(rules) if a.endswith("BurnFast"))
    dashboard = grafana.load()[GOLDEN]
    queries = []  # read before anything starts, so a renamed panel fails at once
    for name, panel, legend, height in GRAPHS:
        expr = grafana.substitute(grafana.find_query(dashboard, panel, legend), grafana.BUILTINS)
        queries.append((name, expr, height))
    camera, admin = Camera(workdir), Admin(f"127.0.0.1:{free_port()}")
    otlp = f"127.0.0.1:{free_port()}"  # the lab's receiver, while it takes its snapshot
    processes, load_process, made = [], None, []
    report_html = workdir / "load-report.html"
    try:
        exporting = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{otlp}", "OTEL_BSP_SCHEDULE_DELAY": "500"}
        service, base = start_snackdrawer(binary, workdir, {**admin.env(), **LAZY, **exporting})
        processes.append(service)
        prometheus_process, url = start_prometheus(
            base.removeprefix("http://"), workdir, overlay_path
        )
        processes.append(prometheus_process)
        prometheus = Prometheus(url)
        load_log = workdir / "load.log"
        load_process = subprocess.Popen(
            [load, "--host", base, *LOAD_ARGS, "--report-file", report_html],
            stdout=load_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        t_start = time.time()
        ok(f"{binary.name} at {base}, Prometheus {url} (rules overlay), snackdrawer-load")
        time.sleep(BASELINE)

        t_on = time.time()
        admin.lazy_on()
        deadline = t_on + LAZY_DEADLINE
        while time.time() < deadline and not fast_burns_firing(prometheus, fast_burn):
            time.sleep(1)
        firing = fast_burns_firing(prometheus, fast_burn)
        when = f"after {time.time() - t_on:.0f} s" if firing else f"not in {LAZY_DEADLINE} s"
        (ok if firing else fail)(f"lazy mode on; {' and '.join(fast_burn)} firing {when}")
        time.sleep(HOLD)
        name, height = ALERTS
        camera.shoot(page(url, "/alerts"), out / name, height)
        made.append(out / name)
        lab = capture_lab(lab_program, base, admin, url, otlp, out)
        admin.lazy_off()
        t_off = time.time()
        ok(f"lazy mode off after {t_off - t_on:.0f} s")
        time.sleep(RECOVERY)

        graph_page = page(url, "/graph")
        for name, expr, height in queries:
            camera.shoot(graph_url(graph_page, expr, time.time() - t_start), out / name, height)
            made.append(out / name)
        code = stop_load(load_process, load_log)
        load_process = None
        summary = "no violations" if code == 0 else f"exit {code}, see {load_log}"
        (ok if code == 0 else fail)(f"snackdrawer-load: {summary}")
        name, height = LOAD_REPORT
        camera.shoot(report_html.as_uri(), out / name, height, offline=True)
        made.append(out / name)

        print(f"\n     {'picture':<24} {'taken':>9} {'optimised':>10}")
        for path in made:
            before, after = optimise(path)
            print(f"     {path.name:<24} {before:>7} B {after:>8} B")
        if lab:
            print(f"     {LAB:<24} {lab.stat().st_size:>7} B (the lab's screen, as text)")
        check(made)
        size = report_html.stat().st_size
        print(f"     HTML report {size} B; episode {time.time() - t_start:.0f} s")
    finally:
        if load_process:
            load_process.kill()
            load_process.wait()
        for process in reversed(processes):
            stop(process)
        if failures:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"     took {time.monotonic() - started:.0f} s; pictures in {out}")
