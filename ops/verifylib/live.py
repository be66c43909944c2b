"""Proves that the dashboards and rules show data from the real service, not only that they parse:
the binary under traffic, scraped by a real Prometheus, and then every dashboard query, for
every value of the dashboard's variables, must return a series with a value and select only
metrics, labels and label values the service has; every annotation query must evaluate and
select only what the service has; every recording rule must produce series; every alert
expression must evaluate; exemplars must carry trace ids the service answered with; and on the
records Loki would keep of the replicas' real log lines (links.py), Grafana's links must open
the trace of a response's x-trace-id and every LogQL query must select by labels they have, for
every value of its dashboard's variables.

So that the fault-injection series exist (the "Faults injected" panel and the "Fault active"
annotations select them), the service runs with its admin API on, and a harmless fault plan is
set through it: a 1 ms delay on GET /snacks/{id}. Lazy mode stays off here (its 503s would be
traffic problems); ops/verify-faults turns it on.
"""

import json
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from . import RULES, aggregation, grafana, links
from .admin import Admin
from .prometheus_api import Prometheus
from .report import Result, failures, fail, ok, report, section
from .selections import unknown_selections
from .services import (
    SCRAPE_INTERVAL,
    free_port,
    snackdrawer_binary,
    start_prometheus,
    start_snackdrawer,
    stop,
)
from .traffic import Traffic

# As the Deployment runs (ops/k8s): the dashboards must read right over several replicas.
REPLICAS = 3
DATA_DEADLINE = 60  # seconds to wait for Prometheus to have rule results and panel data
# Sets the fault-injection series going without changing what any request answers.
HARMLESS_PLAN = "GET /snacks/{id} latency=1ms"


def assignments(prometheus, dashboard):
    """Every combination of the dashboard's variable values, each query variable taking every
    value its query returns (later variables may use earlier ones)."""
    combos = [dict(grafana.BUILTINS)]
    for name, selector, label in grafana.variable_queries(dashboard):
        combos = [
            {**combo, name: value}
            for combo in combos
            for value in prometheus.label_values(grafana.substitute(selector, combo), label)
        ]
    return combos


def distinct(expr, combos):
    """`expr` for each combination of variable values, each distinct query once: a query that
    uses none of a dashboard's variables is evaluated once, not once per value."""
    seen = {}
    for combo in combos:
        seen.setdefault(grafana.substitute(expr, combo), combo)
    return seen.items()


def check_panels(prometheus, dashboards):
    """One result per dashboard query: where it is, its series counts over the variable values
    it uses, and its problems."""
    results = []
    for dashboard in dashboards.values():
        try:
            combos = assignments(prometheus, dashboard)
        except grafana.Unresolvable as error:
            results.append(Result(dashboard["title"], [], [str(error)]))
            continue
        for where, target in grafana.queries(dashboard):
            counts, problems = [], []
            try:
                queries = distinct(target["expr"], combos)
            except grafana.Unresolvable as error:
                problems.append(str(error))
                queries = []
            for expr, combo in queries:
                count, error = prometheus.query(expr)
                counts.append(count)
                if error or not count:
                    values = {k: v for k, v in combo.items() if not k.startswith("__")}
                    problems.append(f"{error or 'no data'} {values or ''}\n       {expr}")
                problems += [
                    f"{p}\n       {expr}" for p in unknown_selections(prometheus.series, expr)
                ]
            if not combos:
                problems.append("a dashboard variable has no values")
            results.append(Result(where, counts, sorted(set(problems)), target["expr"]))
    return results


def check_annotations(prometheus, dashboards):
    """One result per annotation query: it must evaluate and select only metrics, labels and
    values the service has. It need not return data: an annotation draws only while what it
    marks is happening (ops/verify-faults shows the lazy-mode one drawing)."""
    results = []
    for dashboard in dashboards.values():
        for where, annotation in grafana.annotations(dashboard):
            expr = grafana.annotation_expr(annotation)
            count, error = prometheus.query(expr)
            problems = [error] if error else []
            problems += [f"{p}\n       {expr}" for p in unknown_selections(prometheus.series, expr)]
            results.append(Result(f"{where} (draws while it has series)", [count], problems, expr))
    return results


def check_rules(prometheus):
    results = []
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                count, error = prometheus.query(rule["record"])
                problems = [error or "no data"] if error or not count else []
                results.append(Result(f"record {rule['record']}", [count], problems))
            else:
                count, error = prometheus.query(rule["expr"])
                where = f"alert {rule['alert']} (series true now; 0 while all is well)"
                results.append(Result(where, [count], [error] if error else []))
    for group in prometheus.get("rules")["data"]["groups"]:
        for rule in group["rules"]:
            if rule["health"] != "ok":
                problem = f"health {rule['health']}: {rule.get('lastError')}"
                results.append(Result(f"rule {rule['name']}", [], [problem]))
    return results


def check_exemplars(prometheus, trace_ids):
    results = []
    for histogram in (
        "http_server_request_duration_seconds_bucket",
        "function_calls_duration_seconds_bucket",
    ):
        answer = prometheus.get(
            "query_exemplars", query=histogram, start=time.time() - 600, end=time.time()
        )
        found = {
            e["labels"].get("trace_id") for s in answer.get("data") or [] for e in s["exemplars"]
        }
        problems = [] if found & trace_ids else ["no exemplar has a trace id the service sent"]
        results.append(Result(f"trace ids in exemplars of {histogram}", [len(found)], problems))
    return results


def check_log_links(prometheus, dashboards, log_files, trace_ids):
    """The links and LogQL queries on real records: the access lines the replicas wrote, as Loki
    would keep the records exported for them (the service's default service.name, as in the
    compose stack). One result for the links, followed from the last line whose trace id a
    response carried; one per LogQL query, which must select some line for every value of its
    dashboard's variables (its 5xx filter aside: this traffic gets no 5xx)."""
    lines = [
        line
        for path in log_files
        for line in path.read_text().splitlines()
        if '"message":"request served"' in line
    ]
    records = [(json.loads(line), links.loki_labels(line, links.SAMPLE_RESOURCE)) for line in lines]
    answered = [
        (fields["trace_id"], labels)
        for fields, labels in records
        if fields.get("trace_id") in trace_ids
    ]
    if not answered:
        return [
            Result("log records: links", [0], ["no access line has a trace id a response carried"])
        ]
    trace_id, labels = answered[-1]
    results = [
        Result(
            f"log records: the links of a record with trace id {trace_id}",
            [len(records)],
            links.trace_link_problems(links.provisioned_sources(), labels, trace_id),
        )
    ]
    for dashboard in dashboards.values():
        for where, target in grafana.log_queries(dashboard):
            problems = []
            for combo in assignments(prometheus, dashboard):
                expr = grafana.substitute(target["expr"], combo)
                selected = [
                    l for _, l in records if not links.log_query_problems(expr, l, selects=True)
                ]
                if not selected:
                    problems.append(f"selects no access line\n       {expr}")
                problems += links.log_query_problems(expr, labels)
            results.append(Result(where, [len(records)], sorted(set(problems)), target["expr"]))
    return results


def wait_for_rules(prometheus, traffics):
    """Until every recording rule has a result, every target is up and traffic has run."""
    records = [
        r["record"]
        for g in yaml.safe_load(RULES.read_text())["groups"]
        for r in g["rules"]
        if "record" in r
    ]
    deadline = time.monotonic() + DATA_DEADLINE
    while time.monotonic() < deadline:
        targets = prometheus.get("targets")["data"]["activeTargets"]
        up = targets and all(t["health"] == "up" for t in targets)
        ran = min(t.rounds for t in traffics) >= 3
        if up and ran and all(prometheus.query(r)[0] for r in records):
            return
        time.sleep(0.5)


def check_fleet(prometheus, dashboards, instances):
    """One result per dashboard query and rule: whether it reads right over the replicas
    (aggregation.py), evaluated with every selector restricted to each replica in turn, all at
    one instant."""
    at = time.time()

    def vector(expr):
        answer = prometheus.get("query", query=expr, time=at)
        if answer["status"] != "success":
            raise RuntimeError(answer.get("error"))
        data = answer["data"]
        return aggregation.by_labels(data["result"] if data["resultType"] == "vector" else [])

    def result(where, expr, legend):
        try:
            whole = vector(expr)
            parts = {i: vector(aggregation.restrict(expr, "instance", i)) for i in instances}
        except RuntimeError as error:
            return Result(where, [], [str(error)])
        return Result(where, [len(whole)], aggregation.problems(expr, legend, whole, parts))

    results = []
    for dashboard in dashboards.values():
        combos = assignments(prometheus, dashboard)
        for where, target in grafana.queries(dashboard):
            for expr, _ in distinct(target["expr"], combos):
                results.append(result(where, expr, target.get("legendFormat")))
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            name = f"record {rule['record']}" if "record" in rule else f"alert {rule['alert']}"
            # An alert may well fire per replica (SnackdrawerTargetDown does).
            results.append(result(name, rule["expr"], "{{instance}}"))
    merged = {}
    for r in results:  # one line per query, its variable values together
        seen = merged.setdefault(r.where, Result(r.where, [], []))
        seen.counts.extend(r.counts)
        seen.problems.extend(p for p in r.problems if p not in seen.problems)
    return list(merged.values())


def run(dashboards):
    """Builds or finds the binary, starts REPLICAS of it with their traffic and Prometheus
    scraping them all, checks, and stops them."""
    section(
        f"live: {REPLICAS} replicas of the real binary under traffic, scraped by a real Prometheus"
    )
    binary = snackdrawer_binary()
    workdir = Path(tempfile.mkdtemp(prefix="snackdrawer-verify-"))
    processes, traffics = [], []
    try:
        bases = []
        for replica in range(REPLICAS):
            admin = Admin(f"127.0.0.1:{free_port()}")
            # Each on a SQLite file of its own, the default store, whose pool the saturation
            # panels draw.
            database = f"sqlite://{workdir / f'replica-{replica}.db'}?mode=rwc"
            snackdrawer, base = start_snackdrawer(
                binary,
                workdir,
                {**admin.env(), "DATABASE_URL": database},
                name=f"snackdrawer-{replica}",
            )
            processes.append(snackdrawer)
            admin.set_plan(HARMLESS_PLAN)
            bases.append(base)
            # Each replica gets its own pace, so their shares of the totals differ.
            traffics.append(Traffic(base, pause=0.2 * (replica + 1)))
            traffics[-1].start()
        instances = [base.removeprefix("http://") for base in bases]
        prometheus_process, url = start_prometheus(instances, workdir)
        processes.append(prometheus_process)
        ok(
            f"snackdrawer at {', '.join(bases)} (SQLite, a file each), Prometheus {url}, "
            f"scraping them and evaluating every {SCRAPE_INTERVAL}"
        )
        ok(f"fault plan set through each replica's admin API: {HARMLESS_PLAN}")
        prometheus = Prometheus(url)
        waited = time.monotonic()
        wait_for_rules(prometheus, traffics)
        print(f"     rule results after {time.monotonic() - waited:.1f}s")
        # Checks repeat until they pass or the deadline: data arrives scrape by scrape.
        deadline = time.monotonic() + DATA_DEADLINE / 2
        while True:
            prometheus.series_cache.clear()
            panels = check_panels(prometheus, dashboards)
            annotations = check_annotations(prometheus, dashboards)
            rules = check_rules(prometheus)
            trace_ids = set().union(*(t.trace_ids for t in traffics)) - {None}
            exemplars = check_exemplars(prometheus, trace_ids)
            fleet = check_fleet(prometheus, dashboards, instances)
            log_links = check_log_links(
                prometheus,
                dashboards,
                [workdir / f"snackdrawer-{replica}.log" for replica in range(REPLICAS)],
                trace_ids,
            )
            if time.monotonic() > deadline or not any(
                r.problems for r in panels + annotations + rules + exemplars + fleet + log_links
            ):
                break
            time.sleep(2)
        report(f"dashboard queries (instant; {grafana.builtins_text()})", panels)
        report("annotation queries (instant)", annotations)
        report("rules", rules)
        report("exemplars", exemplars)
        report(
            "log records, as Loki keeps those of the replicas' access lines: Grafana's links "
            "(record → trace → records, exemplar → trace) and the dashboards' LogQL queries",
            log_links,
        )
        report(
            f"over {REPLICAS} replicas: per-replica series named in the legend; sums equal to the "
            "replicas' sum; shares and quantiles between the replicas' own",
            fleet,
        )
        for traffic in traffics:
            for problem in sorted(traffic.problems):
                fail(f"traffic to {traffic.base}: {problem}")
        print(
            f"\n{len(panels)} dashboard queries, {len(annotations)} annotation queries, "
            f"{len(rules)} rules, "
            f"{sum(t.rounds for t in traffics)} rounds of traffic over {REPLICAS} replicas"
        )
    finally:
        for traffic in traffics:
            traffic.done.set()
        for process in reversed(processes):
            stop(process)
        if failures:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
