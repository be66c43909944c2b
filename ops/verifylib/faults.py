"""The fault-injection experiment, live: lazy mode turned on through the admin API must move the
golden-signals dashboard over the SLO thresholds and fire the fast-burn alerts, and turning it
off must bring them back.

The real binary (memory store, admin API on, traces and logs exported to a receiver here) under
snackdrawer-load; a real Prometheus scraping it every second with the rules overlay
(overlay.py: the production rules with every window divided by 60). After a baseline, which
must be under the thresholds, lazy mode goes on with `POST /lazy`; within LAZY_DEADLINE the
dashboard's 5xx share and p95 (the queries as golden-signals.json has them) must cross the
thresholds, the fast-burn alerts must be pending or firing and the "Fault active: lazy mode"
annotation must draw. After HOLD more seconds `DELETE /lazy` turns it off, and within
RECOVERY_DEADLINE all of it must be back under, for good. Then: the load generator must report
no violation (a 503 with Retry-After is none); an exemplar of a slow request and one of a
refused request must lead to traces with `fault.injected`; the access log records exported
beside the spans must carry the trace ids of their requests' spans; and the run's own request
counters, replayed by `promtool test rules` against the production rules.yml at one sample a
minute, must give the alert states seen live (episode.py).
"""

import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from . import RULES, episode, grafana, overlay
from .admin import Admin
from .otlp import SPAN_KIND_SERVER, Receiver
from .prometheus_api import Prometheus
from .report import fail, failures, ok, section
from .services import (
    free_port,
    load_binary,
    snackdrawer_binary,
    start_prometheus,
    start_snackdrawer,
    stop,
)
from .timeline import Observation, above, below, first, peak, settled, unix_time
from .tools import promtool

# Lazy mode for a test of a couple of minutes, not its defaults (docs/faults.md):
LAZY = {
    # Default 30 s. On the overlay's clock (60x) 5 s is a 5-minute ramp; 30 s would be half an
    # hour, longer than the whole experiment can wait.
    "SNACKDRAWER_LAZY_RAMP": "5s",
    # Default 0.3. Of the naps (median 300 ms, p99 3 s, kept) about 57 % exceed 250 ms, so 0.3
    # makes ~17 % of requests slow, barely over the fast-burn line (14.4 x 1 % = 14.4 %) and
    # slow to cross it over the "1 h" window; 0.5 makes ~29 %.
    "SNACKDRAWER_LAZY_NAP_PROBABILITY": "0.5",
    # Default 0.02: 2 % of 5xx against a fast-burn line of 14.4 x 0.1 % = 1.44 %: the "1 h"
    # window would have to be three quarters lazy first. 0.1 crosses it within seconds.
    "SNACKDRAWER_LAZY_REFUSAL_PROBABILITY": "0.1",
}
# snackdrawer-load: every persona (the default mix), 16 users all started in the first second,
# a short think time. It runs until stopped with SIGINT, then audits and writes its summary.
LOAD_ARGS = ["-u", "16", "-r", "16", "-t", "10m", "--think-time", "200ms..500ms", "--no-telnet"]
LOAD_ARGS += ["--running-metrics", "600"]  # one progress line per 10 minutes in its log

# Seconds of load before lazy mode: the "1 h" window (1 m here) is full of healthy traffic when
# it starts, as in production; the "6 h" one (6 m) cannot be, which keeps the fast-burn alerts'
# slower condition (6 h and 30 m over 6x) true longer after lazy mode than production would.
BASELINE = 60
# Seconds for every signal to cross once lazy mode is on. The latency page is the slowest: its
# "1 h" window must reach 14.4 % of slow requests while the baseline's faster traffic fills
# most of it (about 35 s here, i.e. 35 minutes in production).
LAZY_DEADLINE = 75
HOLD = 5  # seconds lazy mode stays on after the last crossing
RECOVERY_DEADLINE = 75  # seconds for every signal to be back, once lazy mode is off
CONFIRM = 3  # seconds a recovered signal must stay recovered
POLL = 0.5

GOLDEN = "golden-signals.json"
ERROR_PANEL = ("Server errors (5xx), share of requests", "5xx share")
LATENCY_PANEL = ("Request latency, all routes", "p95")
LAZY_ANNOTATION = "Fault active: lazy mode"
HISTOGRAM = "http_server_request_duration_seconds"


class Signals:
    """What the experiment watches, read from the dashboard and the rules, never retyped: the
    golden-signals queries with Grafana's variables filled in as ops/verify fills them, the
    5xx threshold the error panel draws, the latency objective of the slow-request rules, and
    the fast-burn alerts."""

    def __init__(self, dashboard, rules):
        self.error = grafana.substitute(
            grafana.find_query(dashboard, *ERROR_PANEL), grafana.BUILTINS
        )
        self.p95 = grafana.substitute(
            grafana.find_query(dashboard, *LATENCY_PANEL), grafana.BUILTINS
        )
        panel = next(p for p in grafana.panels_of(dashboard) if p["title"] == ERROR_PANEL[0])
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        self.error_threshold = max(s["value"] for s in steps if s["value"] is not None)
        slow = next(
            r["expr"]
            for g in rules["groups"]
            for r in g["rules"]
            if "http_request_slow" in r.get("record", "")
        )
        self.latency_threshold = float(slow.split('le="')[1].split('"')[0])
        self.fast_burn = sorted(a for a in episode.alerts_of(rules) if a.endswith("BurnFast"))
        self.annotation = next(
            grafana.annotation_expr(a)
            for where, a in grafana.annotations(dashboard)
            if a["name"] == LAZY_ANNOTATION
        )

    def observe(self, prometheus):
        def one(expr):
            values = prometheus.values(expr)
            return values[0] if values else None

        alerts = prometheus.active_alerts()
        return (
            Observation(
                time.time(),
                one(self.error),
                one(self.p95),
                {name: state for name, (state, _) in alerts.items()},
                bool(prometheus.values(self.annotation)),
            ),
            alerts,
        )

    def crossed(self):
        """(name, test) for each thing lazy mode must cause."""
        return [
            (
                f"5xx share above {self.error_threshold:.1%}",
                lambda o: above(o.error, self.error_threshold),
            ),
            (
                f"p95 above {self.latency_threshold} s",
                lambda o: above(o.p95, self.latency_threshold),
            ),
            (f'annotation "{LAZY_ANNOTATION}" drawing', lambda o: o.annotation),
        ] + [
            (f"{name} pending or firing", lambda o, n=name: n in o.alerts)
            for name in self.fast_burn
        ]

    def recovered(self):
        """(name, test) for each thing that must come back once lazy mode is off."""
        return [
            (
                f"5xx share below {self.error_threshold:.1%}",
                lambda o: below(o.error, self.error_threshold),
            ),
            (
                f"p95 below {self.latency_threshold} s",
                lambda o: below(o.p95, self.latency_threshold),
            ),
            (f'annotation "{LAZY_ANNOTATION}" gone', lambda o: not o.annotation),
        ] + [(f"{name} resolved", lambda o, n=name: n not in o.alerts) for name in self.fast_burn]


def write_overlay(workdir):
    rules = yaml.safe_load(RULES.read_text())
    path = workdir / "rules-overlay.yml"
    path.write_text(overlay.header(rules) + yaml.safe_dump(overlay.overlay(rules), sort_keys=False))
    promtool("check", "rules", path)
    return rules, path


class Run:
    """The experiment's state: its processes, what it saw, and when it did what."""

    def __init__(self, signals, prometheus):
        self.signals = signals
        self.prometheus = prometheus
        self.seen = []
        self.active_at = {}  # alert name -> (state when first seen, Prometheus's activeAt)

    def poll(self):
        observation, alerts = self.signals.observe(self.prometheus)
        self.seen.append(observation)
        for name, (state, active_at) in alerts.items():
            if name not in self.active_at and active_at:
                self.active_at[name] = (state, unix_time(active_at))
        return observation

    def until(self, deadline, done):
        """Polls until `done()` or the deadline; whether it was done."""
        while time.time() < deadline:
            self.poll()
            if done():
                return True
            time.sleep(POLL)
        return False


def figure(seconds):
    return "never" if seconds is None else f"{seconds:6.1f} s"


def seconds(value):
    return f"{value:.3f} s" if value >= 1 else f"{value * 1000:.1f} ms"


def episode_test(run, prometheus, rules, start, t_on, t_off, end, header):
    """The run's request counters as a promtool test of the production rules (episode.py)."""
    steps = [float(t) for t in range(int(start), int(end) + 1)]
    series = []
    for metric, matchers in ((f"{HISTOGRAM}_count", ""), (f"{HISTOGRAM}_bucket", 'le="0.25"')):
        selector = f"{metric}{{{matchers}}}" if matchers else metric
        extra = {"le": "0.25"} if matchers else {}
        for labels, values in prometheus.range(
            f"sum by (http_response_status_code) ({selector})", steps[0], steps[-1]
        ):
            series.append((metric, {**extra, **labels}, [values.get(t) for t in steps]))

    def states(at):
        last = [o for o in run.seen if o.t <= at][-1]
        return {n: last.alerts.get(n) == "firing" for n in run.signals.fast_burn}

    points = [
        (int(t_on - start), "before lazy mode: quiet", states(t_on)),
        (int(t_off - start), "when lazy mode was turned off: the fast burns fire", states(t_off)),
        (len(steps) - 1, "after recovery: quiet again", states(end)),
    ]
    return episode.rules_test(series, points, rules, header), points


def follow_exemplars(prometheus, receiver, signals, t_on, t_off):
    """An exemplar of a slow request and one of a refused request, each followed to its trace:
    the request span must say `fault.injected=true` and carry the `fault.injected` event of the
    fault (latency for a nap, unavailable for a refusal)."""
    answer = prometheus.get("query_exemplars", query=f"{HISTOGRAM}_bucket", start=t_on, end=t_off)
    exemplars = [(s["seriesLabels"], e) for s in answer.get("data") or [] for e in s["exemplars"]]
    cases = {
        "latency": [e for labels, e in exemplars if float(e["value"]) > signals.latency_threshold],
        "unavailable": [
            e for labels, e in exemplars if labels.get("http_response_status_code") == "503"
        ],
    }
    for kind, found in cases.items():
        followed = []
        for exemplar in found:
            trace_id = exemplar["labels"].get("trace_id", "")
            spans = receiver.trace(trace_id)
            request = next((s for s in spans if s.kind == SPAN_KIND_SERVER), None)
            events = [attrs for s in spans for name, attrs in s.events if name == "fault.injected"]
            if (
                request
                and request.attributes.get("fault.injected") is True
                and any(e.get("fault.kind") == kind for e in events)
            ):
                followed.append((exemplar, trace_id, request, events))
        what = "slow (over the objective)" if kind == "latency" else "503"
        if not followed:
            fail(
                f"exemplars: none of the {len(found)} {what} exemplars of the episode leads to a "
                f"trace with fault.injected=true and a fault.injected event of kind {kind}"
            )
            continue
        exemplar, trace_id, request, events = followed[0]
        event = next(e for e in events if e.get("fault.kind") == kind)
        detail = ", ".join(
            f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}" for k, v in event.items()
        )
        ok(
            f"{len(followed)} of {len(found)} {what} exemplars lead to a lazy trace; e.g. "
            f"{seconds(float(exemplar['value']))}, trace {trace_id}: span {request.name!r} "
            f"fault.injected=true, event fault.injected {{{detail}}}"
        )
    for problem in sorted(receiver.problems):
        fail(f"OTLP receiver: {problem}")


def follow_logs(receiver):
    """A request's log records carry the trace id of its spans: every access record ("request
    served", written inside a request) has a trace id, and some have that of a server span the
    receiver got. Not all need one: spans go out in batches every 5 s, records every second, so
    the last requests' spans may still be on their way."""
    traces, logs = receiver.snapshot()
    access = [r for records in logs.values() for r in records if r.body == "request served"]
    if not access:
        fail("no access log record (`request served`) was exported over OTLP beside the spans")
        return
    without = [r for r in access if not r.trace_id.strip("0")]
    if without:
        fail(f"{len(without)} of {len(access)} access records carry no trace id: {without[0]}")
    joined = [
        (record, span)
        for record in access
        for span in traces.get(record.trace_id, [])
        if span.kind == SPAN_KIND_SERVER
    ]
    if not joined:
        fail(
            f"none of the {len(access)} access records carries the trace id of a received server "
            f"span ({len(traces)} traces received)"
        )
        return
    record, span = joined[0]
    ok(
        f"{len(joined)} of {len(access)} access log records over OTLP carry the trace id of their "
        f"request's server span; e.g. trace {record.trace_id}: span {span.name!r}, record "
        f"{record.severity_text} {record.body!r} route={record.attributes.get('route')} "
        f"status={record.attributes.get('status')}"
    )


def check_load(process, summary_path, log_path):
    process.send_signal(signal.SIGINT)  # goose stops its users, then the audit, then the summary
    try:
        code = process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        fail(f"snackdrawer-load did not finish within 90 s of SIGINT; its log: {log_path}")
        return
    if not summary_path.exists():
        fail(f"snackdrawer-load exited {code} without a summary; its log: {log_path}")
        return
    summary = json.loads(summary_path.read_text())
    requests = summary.get("requests", {})
    count = sum(r.get("count", 0) for r in requests.values())
    failed = sum(r.get("failures", 0) for r in requests.values())
    violations = summary.get("violations") or {}
    if code != 0 or violations:
        kinds = ", ".join(f"{k} x{v.get('count')}" for k, v in violations.items())
        fail(f"snackdrawer-load exited {code}: violations {kinds or 'none'}; its log: {log_path}")
        for kind, violation in violations.items():
            example = violation.get("example", {})
            print(f"     {kind}: {example.get('request')}\n     -> {example.get('response')}")
    else:
        ok(
            f"snackdrawer-load: exit 0, no violations ({count} requests, {failed} of them failures "
            "in goose's tables: refusals its personas expect, and 503s with Retry-After)"
        )


def run(record=None):
    started = time.monotonic()
    section("fault injection, live: lazy mode through the admin API, under snackdrawer-load")
    binary, load = snackdrawer_binary(), load_binary()
    workdir = Path(tempfile.mkdtemp(prefix="snackdrawer-faults-"))
    rules, overlay_path = write_overlay(workdir)
    scale = ", ".join(f"{w} -> {overlay.scaled(w)}" for w in overlay.windows(rules))
    print(
        "     Prometheus evaluates a rules OVERLAY, not the production rules: rules.yml with "
        f"every window and `for` divided by {overlay.SCALE}\n       ({scale});\n       same "
        "expressions, thresholds and names: one second here is one minute in production"
    )
    signals = Signals(grafana.load()[GOLDEN], rules)
    settings = ", ".join(
        f"{k.removeprefix('SNACKDRAWER_LAZY_').lower()}={v}" for k, v in LAZY.items()
    )
    print(f"     lazy mode tuned for a short test: {settings} (why: ops/verifylib/faults.py)")
    receiver, admin = Receiver(), Admin(f"127.0.0.1:{free_port()}")
    processes, load_process = [], None
    try:
        snackdrawer, base = start_snackdrawer(
            binary,
            workdir,
            {**admin.env(), **LAZY, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint},
        )
        processes.append(snackdrawer)
        prometheus_process, url = start_prometheus(
            base.removeprefix("http://"), workdir, overlay_path
        )
        processes.append(prometheus_process)
        t_start = time.time()
        summary_path, load_log = workdir / "load-summary.json", workdir / "load.log"
        load_process = subprocess.Popen(
            [load, "--host", base, *LOAD_ARGS, "--summary-json", summary_path],
            stdout=load_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        ok(
            f"snackdrawer at {base} (memory store, admin API {admin.url}, traces and logs to "
            f"{receiver.endpoint}); Prometheus {url} with the overlay, every 1s; "
            f"snackdrawer-load {' '.join(LOAD_ARGS[:8])}"
        )
        prometheus = Prometheus(url)
        experiment = Run(signals, prometheus)

        # Baseline: under every threshold, with data.
        experiment.until(t_start + BASELINE, lambda: False)
        baseline = experiment.poll()
        calm = [
            below(baseline.error, signals.error_threshold),
            below(baseline.p95, signals.latency_threshold),
            not any(n in baseline.alerts for n in signals.fast_burn),
            not baseline.annotation,
        ]
        if not all(calm) or load_process.poll() is not None:
            fail(
                f"baseline is not calm after {BASELINE}s: 5xx share {baseline.error}, p95 "
                f"{baseline.p95}, alerts {baseline.alerts}, annotation {baseline.annotation}, "
                f"load generator {'running' if load_process.poll() is None else 'exited'}"
            )
            return
        ok(
            f"baseline after {BASELINE}s of load: 5xx share {baseline.error:.3%}, p95 "
            f"{baseline.p95:.3f} s, no fast-burn alert, no annotation"
        )

        # Lazy mode on, through the admin API.
        t_on = time.time()
        status = admin.lazy_on()
        if not status["lazy"]["on"]:
            fail(f"POST /lazy answered {status}")
            return
        ok(f"lazy mode on: POST {admin.url}/lazy ({status['lazy']['settings']})")
        crossings = signals.crossed()
        all_crossed = experiment.until(
            t_on + LAZY_DEADLINE,
            lambda: all(first(experiment.seen, t_on, test) for _, test in crossings),
        )
        if all_crossed:
            experiment.until(time.time() + HOLD, lambda: False)
        t_off = time.time()
        status = admin.lazy_off()
        ok(f"lazy mode off: DELETE {admin.url}/lazy, {t_off - t_on:.1f} s after it went on")

        # Recovery.
        recoveries = signals.recovered()
        experiment.until(
            t_off + RECOVERY_DEADLINE,
            lambda: all(settled(experiment.seen, t_off, test, CONFIRM) for _, test in recoveries),
        )
        t_end = time.time()

        print(f"\n     seconds from lazy-on (POST /lazy) to ...")
        for name, test in crossings:
            at = first(experiment.seen, t_on, test)
            alert = next((a for a in signals.fast_burn if name.startswith(a)), None)
            extra = ""
            if alert and alert in experiment.active_at:
                state, active_at = experiment.active_at[alert]
                extra = f"  (Prometheus: {state}, activeAt +{active_at - t_on:.1f} s; no `for`)"
            print(f"       {name:<52} {figure(None if at is None else at - t_on)}{extra}")
            if at is None or at > t_off:
                fail(f"within {LAZY_DEADLINE}s of lazy mode: {name}")
        print(
            f"     peak 5xx share {peak(experiment.seen, t_on, t_end, 'error') or 0:.2%}, "
            f"peak p95 {peak(experiment.seen, t_on, t_end, 'p95') or 0:.3f} s "
            f"(the dashboard's queries, $__rate_interval={grafana.BUILTINS['__rate_interval']})"
        )
        others = sorted(
            {n for o in experiment.seen if o.t >= t_on for n in o.alerts} - set(signals.fast_burn)
        )
        if others:
            print(f"     also active during the run: {', '.join(others)}")
        print(
            f"     seconds from lazy-off (DELETE /lazy) to back for good ({CONFIRM} s steady) ..."
        )
        for name, test in recoveries:
            at = settled(experiment.seen, t_off, test, CONFIRM)
            print(f"       {name:<52} {figure(None if at is None else at - t_off)}")
            if at is None:
                fail(f"within {RECOVERY_DEADLINE}s of lazy mode off: {name}")
        still = sorted(experiment.seen[-1].alerts)
        if still:
            print(
                f"     still active at the end (slower windows, not paged on): {', '.join(still)}"
            )

        check_load(load_process, summary_path, load_log)
        load_process = None
        follow_exemplars(prometheus, receiver, signals, t_on, t_off)
        follow_logs(receiver)

        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=RULES.parent,
        ).stdout.strip()
        header = (
            "# GENERATED by `ops/verify-faults --record` from a live lazy-mode episode (commit "
            f"{commit or 'unknown'}):\n"
            "# the real binary under snackdrawer-load, lazy mode turned on and off through the\n"
            f"# admin API ({settings}).\n"
            "# The input series are the run's request counters, summed by status code, one\n"
            "# sample a minute for each sample a second live: the production windows of rules.yml\n"
            "# see here what the overlay's windows (divided by 60) saw live. The expected alerts\n"
            "# are the states Prometheus showed live at those moments. ops/verify runs this.\n"
        )
        text, points = episode_test(
            experiment, prometheus, rules, t_start, t_on, t_off, t_end, header
        )
        test_path = workdir / "rules_test_lazy.yml"
        (workdir / "rules.yml").write_text(RULES.read_text())  # the test names rules.yml
        test_path.write_text(text)
        promtool("test", "rules", test_path)
        print(
            "     the episode replayed against the production rules.yml, one sample a minute: "
            + "; ".join(
                f"{minute}m {', '.join(n for n, f in exp.items() if f) or 'no fast burn'}"
                for minute, _, exp in points
            )
        )
        if record and not failures:
            Path(record).write_text(text)
            ok(f"recorded the episode as {record}")
    finally:
        if load_process:
            load_process.kill()
            load_process.wait()
        for process in reversed(processes):
            stop(process)
        receiver.stop()
        if failures:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"     took {time.monotonic() - started:.0f} s")
