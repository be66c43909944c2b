#!/usr/bin/env python3
"""Writes Snackdrawer's Grafana dashboards to ops/grafana/dashboards/*.json.

Why a generator rather than hand-edited JSON: the five dashboards share their data sources, one
panel shape and a few PromQL idioms (rates over $__rate_interval, ratios that read 0 rather than
"No data" when nothing failed, latency quantiles with exemplars). Written once here they cannot
drift apart. The JSON is committed, so Grafana and `ops/verify` read plain files; `ops/verify`
fails when the JSON is not what this file writes.

    python3 ops/grafana/dashboards.py           # rewrite the JSON after editing this file
    python3 ops/grafana/dashboards.py --check   # exit 1 if the JSON is stale
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
# The service's log records in Loki (ops/grafana/provisioning): the stream of its resource's
# service.name; the record's attributes (route, status, …) are structured metadata to filter on.
LOKI = {"type": "loki", "uid": "loki"}
SERVICE_LOGS = '{service_name="snackdrawer"}'

HTTP = "http_server_request_duration_seconds"
CALLS = "function_calls_total"
CALL_DURATION = "function_calls_duration_seconds"
IN_FLIGHT = "function_calls_concurrent"
CANCELLED = "snackdrawer_function_calls_cancelled_total"
# Fault injection (src/chaos, docs/faults.md): what was injected, and what is switched on.
FAULTS_INJECTED = "snackdrawer_faults_injected_total"
FAULT_RULES = "snackdrawer_fault_rules_active"
LAZY_MODE = "snackdrawer_lazy_mode"
# The SQL store's pool (none on the memory store) and the process, read at each scrape.
POOL = "snackdrawer_store_connections"
POOL_MAX = "snackdrawer_store_connections_max"
PROCESS_CPU = "process_cpu_seconds_total"
PROCESS_MEMORY = "process_resident_memory_bytes"
RATE = "$__rate_interval"
ERROR = 'result="error"'

# Port functions by kind. Reads and writes are told apart by method name (src/ports/store.rs).
REPOSITORY = r".+Repository::.+"
DB_READS = r".+Repository::(get|list.*|find.*)"
DB_WRITES = r".+Repository::(create|add_snack|remove_snack|delete)"
AUTH = r"PasswordHasher::.+|TokenService::.+"
HASHER = r"PasswordHasher::.+"

# The objectives of ops/prometheus/rules.yml: the share of requests each may get wrong.
AVAILABILITY_BUDGET = "0.001"  # 99.9 % answer without a 5xx
LATENCY_BUDGET = "0.01"  # 99 % answer within 250 ms
BURN_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
# The burn rates the alerts fire at: slow ticket, ticket, slow page, fast page.
BURN_THRESHOLDS = [(1, "yellow"), (3, "orange"), (6, "red"), (14.4, "dark-red")]


# --- PromQL --------------------------------------------------------------------------------


def selector(metric, matchers=""):
    return f"{metric}{{{matchers}}}" if matchers else metric


def both(*matchers):
    return ", ".join(m for m in matchers if m)


def sum_by(by, inner):
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def sum_rate(metric, matchers="", by="", window=RATE):
    return sum_by(by, f"rate({selector(metric, matchers)}[{window}])")


def quantile(q, histogram, matchers="", by=""):
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, {sum_rate(histogram + '_bucket', matchers, labels)})"


def ratio(metric, part, whole="", by="", window=RATE):
    """The share of `metric`'s rate that matches `part`, among what matches `whole`. Where
    nothing matches `part` the numerator is `0 * whole`, so the ratio reads 0, not "No data"."""
    denominator = sum_rate(metric, whole, by, window)
    numerator = sum_rate(metric, both(whole, part), by, window)
    return f"({numerator} or 0 * {denominator}) / {denominator}"


# --- panels ----------------------------------------------------------------------------------


def target(expr, legend, exemplar=False, instant=False):
    t = {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend}
    if exemplar:
        t["exemplar"] = True
    if instant:
        t.update(instant=True, range=False)
    return t


def latency_targets(histogram, matchers=""):
    """p50, p95 and p99. Only p99 asks for exemplars: all three select the same buckets, so the
    same exemplars would otherwise be drawn three times."""
    return [
        target(quantile(q, histogram, matchers), f"p{p}", exemplar=(p == 99))
        for q, p in [("0.5", 50), ("0.95", 95), ("0.99", 99)]
    ]


def panel(kind, title, description, targets, unit, width, defaults, options):
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, **defaults}, "overrides": []},
        "options": options,
        "gridPos": {"w": width, "h": 8},
    }


def timeseries(title, description, targets, unit, width=12, thresholds=(), links=()):
    """A graph. `thresholds` are (value, colour) pairs drawn as lines; `links` are data links."""
    defaults = {"custom": {"fillOpacity": 10, "showPoints": "never"}}
    if thresholds:
        defaults["custom"]["thresholdsStyle"] = {"mode": "line"}
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}]
            + [{"color": colour, "value": value} for value, colour in thresholds],
        }
    if links:
        defaults["links"] = list(links)
    legend = {
        "showLegend": True,
        "displayMode": "table",
        "placement": "right",
        "calcs": ["lastNotNull", "max"],
    }
    return panel(
        "timeseries",
        title,
        description,
        targets,
        unit,
        width,
        defaults,
        {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}},
    )


def top(title, description, expr, unit, links):
    """A bar per function, as it is now: the top ten by `expr`."""
    return panel(
        "bargauge",
        title,
        description,
        [target(f"topk(10, {expr})", "{{function}}", instant=True)],
        unit,
        8,
        {"links": links},
        {
            "orientation": "horizontal",
            "displayMode": "basic",
            "reduceOptions": {"calcs": ["lastNotNull"], "values": False},
        },
    )


def stat(title, description, targets, unit, width=8):
    return panel(
        "stat",
        title,
        description,
        targets,
        unit,
        width,
        {},
        {
            "reduceOptions": {"calcs": ["lastNotNull"], "values": False},
            "colorMode": "value",
            "graphMode": "area",
        },
    )


def logs(title, description, expr):
    """The log records `expr` (LogQL) selects, newest first, across the whole row. A record's
    details show its trace_id as a link to its trace (the Loki data source's derived field)."""
    return {
        "type": "logs",
        "title": title,
        "description": description,
        "datasource": LOKI,
        "targets": [{"datasource": LOKI, "expr": expr, "refId": "A"}],
        "options": {
            "showTime": True,
            "wrapLogMessage": True,
            "enableLogDetails": True,
            "sortOrder": "Descending",
            "dedupStrategy": "none",
        },
        "gridPos": {"w": 24, "h": 8},
    }


def query_variable(name, label, query):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROMETHEUS,
        "query": query,
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": False,
        "includeAll": False,
    }


EXPLORE_FUNCTION = [
    {
        "title": "Explore this function",
        "url": "/d/snackdrawer-function-explorer"
        "?var-function=${__field.labels.function:percentencode}&${__url_time_range}",
    }
]


def annotation(name, expr, colour, title, text):
    """A Prometheus-backed annotation: Grafana draws a region over the time `expr` returns a
    series, on every panel of the dashboard. `target` is the shape Grafana's Prometheus data
    source saves (it moves the older top-level `expr` and `step` there itself)."""
    return {
        "name": name,
        "datasource": PROMETHEUS,
        "enable": True,
        "hide": False,
        "iconColor": colour,
        "target": {"expr": expr, "interval": "5s", "refId": "Anno"},
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": "",
        "useValueForTime": False,
    }


# "Fault active": the golden-signals and SLO dashboards mark the time faults were injected on
# purpose, so a degradation someone caused is told apart from a real one at a glance.
FAULT_ANNOTATIONS = [
    annotation(
        "Fault active: fault plan",
        f"{FAULT_RULES} > 0",
        "purple",
        "Fault plan active",
        "Faults injected on purpose by the rules of the fault plan (GET /faults on the admin "
        "API lists them)",
    ),
    annotation(
        "Fault active: lazy mode",
        f"{LAZY_MODE} > 0",
        "orange",
        "Lazy mode",
        "Lazy mode on or ramping out: requests nap, and some are refused with 503 and "
        "Retry-After",
    ),
]


def dashboard(uid, title, description, rows, variables=(), annotations=()):
    """Lays `rows` ({row title: [panels]}) out on Grafana's 24-column grid and numbers every
    panel."""
    panels, y, next_id = [], 0, 1
    for row_title, row_panels in rows.items():
        panels.append(
            {
                "type": "row",
                "title": row_title,
                "id": next_id,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        next_id, y, x = next_id + 1, y + 1, 0
        for p in row_panels:
            w = p["gridPos"]["w"]
            if x + w > 24:
                x, y = 0, y + 8
            p = {"id": next_id, **p, "gridPos": {"x": x, "y": y, "w": w, "h": 8}}
            panels.append(p)
            next_id, x = next_id + 1, x + w
        y += 8
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["snackdrawer"],
        "editable": False,
        "graphTooltip": 1,
        "refresh": "10s",
        "schemaVersion": 39,
        "time": {"from": "now-30m", "to": "now"},
        "timezone": "browser",
        "links": [
            {
                "type": "dashboards",
                "tags": ["snackdrawer"],
                "asDropdown": True,
                "title": "Snackdrawer dashboards",
                "keepTime": True,
                "includeVars": False,
            }
        ],
        "templating": {"list": list(variables)},
        "annotations": {"list": list(annotations)},
        "panels": panels,
    }


# --- the dashboards ---------------------------------------------------------------------------


def golden_signals():
    five_xx = 'http_response_status_code=~"5.."'
    four_xx = 'http_response_status_code=~"4.."'
    return dashboard(
        "snackdrawer-golden-signals",
        "Snackdrawer / Golden signals",
        "Is Snackdrawer healthy right now? Latency, traffic, errors and saturation of the API.",
        {
            "Latency: how long do answers take?": [
                timeseries(
                    "Request latency, all routes",
                    "Quantiles of every request's duration. The dots are exemplars: one real "
                    "request each, carrying its trace id. Hover one and choose 'Query with Tempo' "
                    "to open that request's trace.",
                    latency_targets(HTTP),
                    "s",
                ),
                timeseries(
                    "p99 latency by route",
                    "Which route is slow. Dots are exemplars, linked to traces.",
                    [
                        target(
                            quantile("0.99", HTTP, by="http_route"), "{{http_route}}", exemplar=True
                        )
                    ],
                    "s",
                ),
            ],
            "Traffic: how much is asked of it?": [
                timeseries(
                    "Requests per second by route",
                    "Demand per route template ('unmatched' is every unknown path).",
                    [
                        target(
                            sum_rate(HTTP + "_count", by="http_request_method, http_route"),
                            "{{http_request_method}} {{http_route}}",
                        )
                    ],
                    "reqps",
                ),
                timeseries(
                    "Requests per second by status code",
                    "The mix of answers.",
                    [
                        target(
                            sum_rate(HTTP + "_count", by="http_response_status_code"),
                            "{{http_response_status_code}}",
                        )
                    ],
                    "reqps",
                ),
            ],
            "Errors: how much fails?": [
                timeseries(
                    "Server errors (5xx), share of requests",
                    "What the availability objective counts and what pages: 99.9 % of requests "
                    "must answer without a 5xx (the red line is that 0.1 % budget). Reads 0 while "
                    "nothing fails.",
                    [target(ratio(HTTP + "_count", five_xx), "5xx share")],
                    "percentunit",
                    thresholds=[(float(AVAILABILITY_BUDGET), "red")],
                ),
                timeseries(
                    "Server errors (5xx) by route, share of that route's requests",
                    "Which route is failing.",
                    [target(ratio(HTTP + "_count", five_xx, by="http_route"), "{{http_route}}")],
                    "percentunit",
                ),
                timeseries(
                    "Client errors (4xx), share of requests",
                    "Refusals that are correct answers: missing or bad tokens, unknown drawers, "
                    "duplicates, malformed bodies. A rise means misbehaving or hostile clients, "
                    "not a broken service, so no alert pages on it; it is shown apart from 5xx.",
                    [target(ratio(HTTP + "_count", four_xx), "4xx share")],
                    "percentunit",
                ),
                timeseries(
                    "Client errors (4xx) per second by route and status",
                    "Who is being refused, and how: a wall of 401s is token guessing, 404s on "
                    "/drawers/{id} are id probing.",
                    [
                        target(
                            sum_rate(
                                HTTP + "_count", four_xx, by="http_route, http_response_status_code"
                            ),
                            "{{http_response_status_code}} {{http_route}}",
                        )
                    ],
                    "reqps",
                ),
            ],
            "Logs: failed requests on $route": [
                logs(
                    "Requests answered 5xx on $route",
                    "The access line of each request to the route chosen above that answered "
                    "5xx, from Loki. Open a line: its trace_id opens the trace, whose 'Logs for "
                    "this span' shows every line of that request, the error with its cause "
                    "among them (that line names no route, so it cannot be selected here).",
                    f'{SERVICE_LOGS} | route="$route" | status=~"5.."',
                ),
            ],
            "Saturation: how full is it?": [
                timeseries(
                    "Requests in flight",
                    "Requests being served right now, by method.",
                    [
                        target(
                            sum_by("http_request_method", "http_server_active_requests"),
                            "{{http_request_method}}",
                        )
                    ],
                    "short",
                    width=6,
                ),
                timeseries(
                    "Database calls in flight",
                    "Repository calls under way, by operation. Near SNACKDRAWER_DB_MAX_CONNECTIONS "
                    "(default 8) requests start waiting for a connection.",
                    [
                        target(
                            sum_by("function", selector(IN_FLIGHT, f'function=~"{REPOSITORY}"')),
                            "{{function}}",
                        )
                    ],
                    "short",
                    width=6,
                ),
                timeseries(
                    "Password hashes in flight, running and queued",
                    "There is no dedicated queue metric: this is the in-flight gauge of the "
                    "PasswordHasher functions, which counts a hash from the moment it is asked "
                    "for, so it includes hashes waiting for a worker. Up to "
                    "SNACKDRAWER_HASH_WORKERS (default CPUs - 1, from 1 to 2) run at once; the rest queue.",
                    [
                        target(
                            sum_by("function", selector(IN_FLIGHT, f'function=~"{HASHER}"')),
                            "{{function}}",
                        )
                    ],
                    "short",
                    width=6,
                ),
                timeseries(
                    "Password hashes refused or failed",
                    "Mostly hashes refused because SNACKDRAWER_HASH_QUEUE (default 64) were "
                    "already waiting, when register and login answer 503 with Retry-After; "
                    "a hashing worker failing counts here too. Above 0 the hashing pool is "
                    "saturated or broken.",
                    [
                        target(
                            sum_rate(CALLS, both(f'function=~"{HASHER}"', ERROR), "function"),
                            "{{function}}",
                        )
                    ],
                    "ops",
                    width=6,
                ),
                timeseries(
                    "Database connections: used and idle, and the pool's size",
                    "The SQL store's pooled connections: used (lent to a call, or held by a "
                    "hold-connections fault) and idle, against the most the pool opens "
                    "(SNACKDRAWER_DB_MAX_CONNECTIONS). Used at the top while the database calls "
                    "in flight stay few: something holds connections without using them. No "
                    "series on the memory store.",
                    [
                        target(sum_by("state", POOL), "{{state}}"),
                        target(sum_by("", POOL_MAX), "max"),
                    ],
                    "short",
                    width=8,
                ),
                timeseries(
                    "Process CPU, cores",
                    "CPU time the process uses, in cores (1 is one core busy all the time), by "
                    "instance. A rise with no rise in traffic: the process works at something no "
                    "request asked for.",
                    [target(f"rate({PROCESS_CPU}[{RATE}])", "{{instance}}")],
                    "short",
                    width=8,
                ),
                timeseries(
                    "Process resident memory",
                    "Memory the process holds in RAM, by instance. A steady climb with steady "
                    "traffic is a leak; a pod's memory limit ends it.",
                    [target(PROCESS_MEMORY, "{{instance}}")],
                    "bytes",
                    width=8,
                ),
            ],
            "Faults injected on purpose (docs/faults.md)": [
                timeseries(
                    "Faults injected per second, by kind",
                    "Faults the service injects into itself: a plan's rules (PUT /faults on the "
                    "admin API, or --faults) and lazy mode's naps (latency) and refusals "
                    "(unavailable, a 503 with Retry-After). Zero outside an experiment; the "
                    "'Fault active' annotations mark the same time on every panel.",
                    [target(sum_rate(FAULTS_INJECTED, by="kind"), "{{kind}}")],
                    "ops",
                    width=16,
                ),
                timeseries(
                    "Fault injection switched on",
                    "Lazy mode's level (0 to 1; it ramps in and out) and the number of rules in "
                    "the fault plan, per replica: each has its own, so one lazy replica among "
                    "good ones shows as one line.",
                    [
                        target(LAZY_MODE, "lazy mode level {{instance}}"),
                        target(FAULT_RULES, "fault rules {{instance}}"),
                    ],
                    "short",
                    width=8,
                ),
            ],
        },
        variables=[
            query_variable("route", "Route (logs)", f"label_values({HTTP}_count, http_route)")
        ],
        annotations=FAULT_ANNOTATIONS,
    )


def performance():
    return dashboard(
        "snackdrawer-performance",
        "Snackdrawer / Performance",
        "Where does the time go? p95 latency per route, per database operation and per auth "
        "operation: the old service's six panels, on Snackdrawer's metrics.",
        {
            "HTTP": [
                timeseries(
                    "API p95 latency by route and method",
                    "Dots are exemplars, linked to traces.",
                    [
                        target(
                            quantile("0.95", HTTP, by="http_request_method, http_route"),
                            "{{http_request_method}} {{http_route}}",
                            exemplar=True,
                        )
                    ],
                    "s",
                ),
                timeseries(
                    "API requests per second by route and method",
                    "",
                    [
                        target(
                            sum_rate(HTTP + "_count", by="http_request_method, http_route"),
                            "{{http_request_method}} {{http_route}}",
                        )
                    ],
                    "reqps",
                ),
            ],
            "Database": [
                timeseries(
                    "Database reads, p95 by operation",
                    "Repository get/list/find calls. Dots are exemplars, linked to traces.",
                    [
                        target(
                            quantile("0.95", CALL_DURATION, f'function=~"{DB_READS}"', "function"),
                            "{{function}}",
                            exemplar=True,
                        )
                    ],
                    "s",
                ),
                timeseries(
                    "Database writes, p95 by operation",
                    "Repository create/add/remove/delete calls. "
                    "Dots are exemplars, linked to traces.",
                    [
                        target(
                            quantile("0.95", CALL_DURATION, f'function=~"{DB_WRITES}"', "function"),
                            "{{function}}",
                            exemplar=True,
                        )
                    ],
                    "s",
                ),
                timeseries(
                    "Database calls per second by operation",
                    "",
                    [
                        target(
                            sum_rate(CALLS, f'function=~"{REPOSITORY}"', "function"), "{{function}}"
                        )
                    ],
                    "ops",
                ),
                timeseries(
                    "Database failures per second by operation",
                    "Calls that failed because the database did (unreachable, timed out, broken); "
                    "refusals such as duplicates are not failures.",
                    [
                        target(
                            sum_rate(CALLS, both(f'function=~"{REPOSITORY}"', ERROR), "function"),
                            "{{function}}",
                        )
                    ],
                    "ops",
                ),
            ],
            "Authentication": [
                timeseries(
                    "Password hashing and tokens, p95 by operation",
                    "scrypt hashing dominates login and register. "
                    "Dots are exemplars, linked to traces.",
                    [
                        target(
                            quantile("0.95", CALL_DURATION, f'function=~"{AUTH}"', "function"),
                            "{{function}}",
                            exemplar=True,
                        )
                    ],
                    "s",
                ),
                timeseries(
                    "Password hashing and token operations per second",
                    "",
                    [target(sum_rate(CALLS, f'function=~"{AUTH}"', "function"), "{{function}}")],
                    "ops",
                ),
            ],
        },
    )


def functions_overview():
    calls = sum_rate(CALLS, by="function")
    errors = ratio(CALLS, ERROR, by="function")
    p95 = quantile("0.95", CALL_DURATION, by="function")
    return dashboard(
        "snackdrawer-functions",
        "Snackdrawer / Functions",
        "Every instrumented function (port methods and API routes) in the autometrics format: "
        "which are busiest, failing most, slowest. Click a function to explore it.",
        {
            "Now": [
                top("Busiest functions", "Calls per second.", calls, "ops", EXPLORE_FUNCTION),
                top(
                    "Most failing functions",
                    "Share of calls that failed (a dependency failed, "
                    "or an API route answered 5xx).",
                    errors,
                    "percentunit",
                    EXPLORE_FUNCTION,
                ),
                top("Slowest functions", "p95 latency.", p95, "s", EXPLORE_FUNCTION),
            ],
            "Over time": [
                timeseries(
                    "Calls per second by function",
                    "",
                    [target(calls, "{{function}}")],
                    "ops",
                    width=8,
                    links=EXPLORE_FUNCTION,
                ),
                timeseries(
                    "Error ratio by function",
                    "",
                    [target(errors, "{{function}}")],
                    "percentunit",
                    width=8,
                    links=EXPLORE_FUNCTION,
                ),
                timeseries(
                    "p95 latency by function",
                    "Dots are exemplars, linked to traces.",
                    [target(p95, "{{function}}", exemplar=True)],
                    "s",
                    width=8,
                    links=EXPLORE_FUNCTION,
                ),
            ],
        },
    )


def function_explorer():
    this = 'function="$function"'
    return dashboard(
        "snackdrawer-function-explorer",
        "Snackdrawer / Function explorer",
        "One function in detail: how often it is called, how often it fails, how long it takes.",
        {
            "$function": [
                timeseries(
                    "Calls per second by result",
                    "ok: the call did its job (a correct refusal included); error: its dependency "
                    "failed; cancelled: the caller went away first, so it counts as neither.",
                    [
                        target(sum_rate(CALLS, this, "result"), "{{result}}"),
                        target(sum_rate(CANCELLED, this), "cancelled"),
                    ],
                    "ops",
                ),
                timeseries(
                    "Error ratio",
                    "",
                    [target(ratio(CALLS, ERROR, this), "error ratio")],
                    "percentunit",
                ),
                timeseries(
                    "Latency",
                    "Dots are exemplars, linked to traces.",
                    latency_targets(CALL_DURATION, this),
                    "s",
                ),
                timeseries(
                    "Calls in flight",
                    "",
                    [target(sum_by("", selector(IN_FLIGHT, this)), "in flight")],
                    "short",
                ),
            ],
        },
        [
            query_variable(
                "function",
                "Function",
                f'label_values({CALLS}{{service_name="snackdrawer"}}, function)',
            )
        ],
    )


def burn_rate_panel(title, record, budget, description):
    return timeseries(
        title,
        description,
        [target(f"snackdrawer:{record}:ratio_rate{w} / {budget}", w) for w in BURN_WINDOWS],
        "x",
        thresholds=BURN_THRESHOLDS,
    )


def slo():
    objective = 'objective_name="$objective"'
    within = both(objective, 'objective_latency_threshold="$threshold"', 'le="$threshold"')

    def success(window):
        return f"1 - {ratio(CALLS, ERROR, objective, 'objective_percentile', window)}"

    def fast(window):
        return (
            f"{sum_rate(CALL_DURATION + '_bucket', within, 'objective_percentile', window)} / "
            f"{sum_rate(CALL_DURATION + '_count', objective, 'objective_percentile', window)}"
        )

    slow_per_function = (
        f"{sum_rate(CALL_DURATION + '_count', objective, 'function')} - "
        f"{sum_rate(CALL_DURATION + '_bucket', within, 'function')}"
    )
    target_legend = "target {{objective_percentile}} %"
    firing = 'ALERTS{alertstate="firing", alertname=~"Snackdrawer.+"}'
    return dashboard(
        "snackdrawer-slo",
        "Snackdrawer / SLOs",
        "Are we keeping our promises? The objectives carried by the autometrics series, which "
        "functions spend their budgets, and how fast the budgets burn.",
        {
            "Objective $objective": [
                stat(
                    "Success rate over the time range",
                    "Share of calls that did not fail; the legend names the target.",
                    [target(success("$__range"), target_legend)],
                    "percentunit",
                ),
                stat(
                    "Answered within $threshold s over the time range",
                    "The legend names the target.",
                    [target(fast("$__range"), target_legend)],
                    "percentunit",
                ),
                stat(
                    "Snackdrawer alerts firing",
                    "Alerts of ops/prometheus/rules.yml firing now (0 when none is).",
                    [target(f"count({firing}) or vector(0)", "firing")],
                    "short",
                ),
                timeseries(
                    "Success rate", "", [target(success(RATE), target_legend)], "percentunit"
                ),
                timeseries(
                    "Share answered within $threshold s",
                    "",
                    [target(fast(RATE), target_legend)],
                    "percentunit",
                ),
                timeseries(
                    "Failed calls per second by function",
                    "What spends the availability budget.",
                    [target(sum_rate(CALLS, both(objective, ERROR), "function"), "{{function}}")],
                    "ops",
                ),
                timeseries(
                    "Calls slower than $threshold s per second, by function",
                    "What spends the latency budget.",
                    [target(slow_per_function, "{{function}}")],
                    "ops",
                ),
            ],
            "Error budget burn rates (what the alerts watch)": [
                burn_rate_panel(
                    "Availability: error budget burn rate",
                    "http_request_errors",
                    AVAILABILITY_BUDGET,
                    "The 5xx share per window divided by the 0.1 % budget: at 1 the budget lasts "
                    "exactly the objective's period. Pages at 14.4 (1 h and 5 m) or 6 "
                    "(6 h and 30 m), opens a ticket at 3 (1 d and 2 h) or 1 (3 d and 6 h).",
                ),
                burn_rate_panel(
                    "Latency: error budget burn rate",
                    "http_request_slow",
                    LATENCY_BUDGET,
                    "The share of requests slower than 250 ms per window divided by the 1 % "
                    "budget. Same thresholds as availability.",
                ),
            ],
        },
        [
            query_variable(
                "objective",
                "Objective",
                f'label_values({CALLS}{{objective_name!=""}}, objective_name)',
            ),
            query_variable(
                "threshold",
                "Latency threshold (s)",
                f"label_values({CALL_DURATION}_count{{{objective}}}, objective_latency_threshold)",
            ),
        ],
        FAULT_ANNOTATIONS,
    )


DASHBOARDS = {
    "golden-signals.json": golden_signals,
    "performance.json": performance,
    "functions.json": functions_overview,
    "function-explorer.json": function_explorer,
    "slo.json": slo,
}


def main():
    check = sys.argv[1:] == ["--check"]
    stale = []
    for name, build in DASHBOARDS.items():
        text = json.dumps(build(), indent=2) + "\n"
        path = OUT / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        sys.exit("stale, rerun python3 ops/grafana/dashboards.py: " + ", ".join(stale))


if __name__ == "__main__":
    main()
