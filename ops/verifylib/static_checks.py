"""What can be proved without a Docker engine or Grafana, neither of which these machines have:
the Prometheus files as promtool reads them, the compose stack as `docker compose` would wire it
(the telemetry pipeline's hops included: links.py), Grafana's provisioning (the links from logs
to traces and back, on a line the service writes), and the dashboards (ids, data sources,
exemplars, the JSON as ops/grafana/dashboards.py writes it, every PromQL query parsed by
Prometheus's own parser, so a broken query fails here and not as a red triangle in Grafana, and
every LogQL query's labels ones Loki gives the service's records).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
from collections import Counter

import yaml

from . import COMPOSE, DASHBOARDS, GRAFANA, OPS, RULES, grafana, links
from .report import fail, ok, section
from .tools import promtool

# The compose stack's published ports, as the docs give them (the collector's OTLP/HTTP, for a
# service run with `cargo run`).
PUBLISHED = {"snackdrawer": 8000, "prometheus": 9090, "grafana": 3000, "otel-collector": 4318}
# Where each backend's command names its configuration file.
CONFIG_FLAGS = {"otel-collector": "--config=", "tempo": "-config.file=", "loki": "-config.file="}
# Snackdrawer's admin API (fault injection): published on this machine's loopback only.
ADMIN_PUBLISHED = "127.0.0.1:9000"
ADMIN_TOKEN_MIN_BYTES = 32  # AdminToken::MIN_BYTES, src/chaos/admin.rs
# The value a dashboard's own variables take for the syntax check: it parses wherever a variable
# may stand, inside a string or as a number.
SAMPLE_VALUE = "1"
# Each dashboard query becomes the recording rule RECORD<n>; promtool names the rule it rejects.
RECORD = "dashboard_query_"
PROMTOOL_COMPLAINT = re.compile(rf'rule \d+, "{RECORD}(\d+)": (.*)')


def run(dashboards):
    """Every static check, in sections."""
    section("Prometheus configuration and rules (promtool)")
    promtool("check", "config", OPS / "prometheus" / "prometheus.yml")
    promtool("check", "rules", RULES)
    promtool("test", "rules", OPS / "prometheus" / "rules_test.yml")
    # A lazy-mode episode recorded live by `ops/verify-faults --record`: the alerts must keep
    # firing on it, and only on it, without a live run.
    promtool("test", "rules", OPS / "prometheus" / "rules_test_lazy.yml")

    section("compose stack and Grafana provisioning (static: no Docker engine or Grafana here)")
    check_compose()
    check_dashboards(dashboards, check_datasources())
    check_log_queries(dashboards)

    section("dashboard queries and annotation queries, parsed by Prometheus's own parser")
    check_dashboard_syntax(dashboards)


def host_path(mounts, container_path):
    """The file on this machine a container sees at `container_path`, through bind mounts."""
    for target, source in sorted(mounts.items(), key=lambda m: -len(m[0])):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / os.path.relpath(container_path, target)
    return None


def load_yaml_dir(folder, key):
    return [
        item
        for path in sorted(folder.glob("*.yaml"))
        for item in yaml.safe_load(path.read_text())[key]
    ]


def check_compose():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    named_volumes = set(compose.get("volumes") or {})
    mounts = {name: {} for name in services}
    for name, service in services.items():
        if "build" in service:
            context = (OPS / service["build"]["context"]).resolve()
            if not (context / service["build"].get("dockerfile", "Dockerfile")).is_file():
                fail(f"compose: {name} builds from a Dockerfile that does not exist")
        else:
            image = service.get("image", "")
            tag = image.rpartition("/")[2].partition(":")[2]
            if tag in ("", "latest"):
                fail(f"compose: {name}'s image {image!r} is not pinned to a version")
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/")):
                mounts[name][target] = (OPS / source).resolve()
                if not mounts[name][target].exists():
                    fail(f"compose: {name} mounts {source}, which does not exist")
            elif source not in named_volumes:
                fail(f"compose: {name} uses volume {source}, which is not declared")
    for name, port in PUBLISHED.items():
        if f"{port}:{port}" not in services[name].get("ports", []):
            fail(f"compose: {name} does not publish port {port}")

    def address_ok(what, address):
        host = urllib.parse.urlsplit(address if "//" in address else "//" + address).hostname
        if host not in services:
            fail(f"compose: {what} points at {host}, which is not a service")

    api = services["snackdrawer"]
    env = api.get("environment", {})
    if not env.get("DATABASE_URL", "").startswith("postgres://"):
        fail("compose: snackdrawer is not configured for PostgreSQL")
    address_ok("DATABASE_URL", env.get("DATABASE_URL", ""))
    address_ok("OTEL_EXPORTER_OTLP_ENDPOINT", env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    if (
        api.get("depends_on", {}).get("postgres", {}).get("condition") != "service_healthy"
        or "healthcheck" not in services["postgres"]
    ):
        fail("compose: snackdrawer does not wait for a healthy PostgreSQL")

    check_admin_api(api)

    command = services["prometheus"].get("command", [])
    if "--enable-feature=exemplar-storage" not in command:
        fail("compose: Prometheus runs without exemplar storage")
    config_in_container = next(
        (a.split("=", 1)[1] for a in command if a.startswith("--config.file=")), ""
    )
    config = host_path(mounts["prometheus"], config_in_container)
    if config != OPS / "prometheus" / "prometheus.yml":
        fail(f"compose: Prometheus reads {config_in_container}, not ops/prometheus/prometheus.yml")
    for scrape in yaml.safe_load(config.read_text())["scrape_configs"] if config else []:
        for static in scrape["static_configs"]:
            for target in static["targets"]:
                address_ok("a Prometheus scrape target", target)

    grafana_env = services["grafana"].get("environment", {})
    if host_path(mounts["grafana"], "/etc/grafana/provisioning") != GRAFANA / "provisioning":
        fail("compose: Grafana does not get ops/grafana/provisioning")
    for provider in load_yaml_dir(GRAFANA / "provisioning" / "dashboards", "providers"):
        folder = host_path(mounts["grafana"], provider["options"]["path"])
        if folder is None or sorted(folder.glob("*.json")) != sorted(DASHBOARDS.glob("*.json")):
            fail(
                f"compose: Grafana's dashboard folder {provider['options']['path']} "
                "is not ops/grafana/dashboards"
            )
    home = host_path(
        mounts["grafana"], grafana_env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "")
    )
    if home is None or not home.is_file():
        fail("compose: Grafana's home dashboard is not a mounted file")
    for source in load_yaml_dir(GRAFANA / "provisioning" / "datasources", "datasources"):
        address_ok(f"Grafana data source {source['name']}", source["url"])
    check_pipeline(services, mounts)

    images = ", ".join(s["image"] for s in services.values() if "image" in s)
    count = sum(len(m) for m in mounts.values())
    ok(
        f"ops/docker-compose.yaml: {len(services)} services; images pinned ({images}); "
        f"{count} bind mounts present; ports {' '.join(map(str, PUBLISHED.values()))}; "
        f"admin API on {ADMIN_PUBLISHED} only; service → collector → Tempo and Loki, and "
        "Grafana → each, on ports their configurations listen on"
    )


def backend_configs(services, mounts):
    """{service: its configuration} for the collector, Tempo and Loki, read through the compose
    file: the file each one's command names, where its bind mount puts it."""
    configs = {}
    for name, flag in CONFIG_FLAGS.items():
        command = services.get(name, {}).get("command", [])
        in_container = next((a[len(flag) :] for a in command if a.startswith(flag)), None)
        path = host_path(mounts.get(name, {}), in_container) if in_container else None
        if path is None or not path.is_file():
            fail(f"compose: {name} reads no configuration file mounted from ops/ ({command})")
            continue
        configs[name] = yaml.safe_load(path.read_text())
    return configs


def pipeline_problems(services, configs, datasources):
    """Each hop of the telemetry pipeline, in the compose stack: the service exports spans and
    log records to the collector where it listens for that protocol, the collector's pipelines
    reach Tempo and Loki where they listen (links.collector_problems), and Grafana reads Tempo
    and Loki on their HTTP ports."""
    ports = links.listening(configs["otel-collector"], configs["tempo"], configs["loki"])
    problems = [
        f"collector: {p}" for p in links.collector_problems(configs["otel-collector"], ports)
    ]
    env = services["snackdrawer"].get("environment", {})
    host, port = links.host_port(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    wanted = "otlp-grpc" if protocol == "grpc" else "otlp-http"
    if ports.get(host, {}).get(port) != wanted:
        problems.append(
            f"snackdrawer exports {protocol} to {host}:{port}, where no {wanted} receiver listens "
            f"({ports.get(host)})"
        )
    logs = str(env.get("OTEL_LOGS_EXPORTER") or "otlp")
    if re.sub(r"\$\{\w+:-(.*)\}", r"\1", logs) != "otlp":
        problems.append(
            f"snackdrawer does not export its logs by default: OTEL_LOGS_EXPORTER={logs}"
        )
    for source in datasources:
        host, port = links.host_port(source["url"])
        if host in ports and ports[host].get(port) != "http":
            problems.append(
                f"Grafana reads {source['name']} at {host}:{port}, where {host} serves no HTTP API "
                f"({ports[host]})"
            )
    return problems


def check_pipeline(services, mounts):
    configs = backend_configs(services, mounts)
    if len(configs) < len(CONFIG_FLAGS):
        return
    datasources = load_yaml_dir(GRAFANA / "provisioning" / "datasources", "datasources")
    for problem in pipeline_problems(services, configs, datasources):
        fail(f"compose: {problem}")


def check_admin_api(api):
    """The admin API listens inside the container where the published port reaches it, is
    published on 127.0.0.1 alone, and its token (an env var with a default) is long enough for
    the service to start."""
    env = api.get("environment", {})
    listen = env.get("SNACKDRAWER_ADMIN_LISTEN") or ""
    host, _, port = listen.rpartition(":")
    if host != "0.0.0.0":
        fail(f"compose: the admin API listens on {listen!r}, not on the container's interfaces")
    published = [p for p in api.get("ports", []) if str(p).rpartition(":")[2] == port]
    if published != [f"{ADMIN_PUBLISHED}:{port}"]:
        fail(f"compose: the admin API is published as {published}, not on {ADMIN_PUBLISHED} only")
    token = str(env.get("SNACKDRAWER_ADMIN_TOKEN") or "")
    default = re.fullmatch(r"\$\{SNACKDRAWER_ADMIN_TOKEN:-(.*)\}", token)
    if not default or len(default[1].encode()) < ADMIN_TOKEN_MIN_BYTES:
        fail(
            "compose: the admin token is not ${SNACKDRAWER_ADMIN_TOKEN:-<default of at least "
            f"{ADMIN_TOKEN_MIN_BYTES} bytes>}}: {token!r}"
        )


def check_datasources():
    """The provisioned data sources, uid -> type, after checking the links between them: from
    exemplars and log records to traces, and from traces to log records (links.py), followed on
    the record of a line the service writes."""
    sources = links.provisioned_sources()
    by_uid = {s["uid"]: s["type"] for s in sources}
    if len(by_uid) != len(sources):
        fail("provisioning: two data sources share a uid")
    for source in sources:
        for link in source.get("jsonData", {}).get("exemplarTraceIdDestinations", []):
            if link["name"] != "trace_id":
                fail(
                    f"provisioning: exemplar link {link['name']!r} "
                    "is not the service's trace_id label"
                )
            if "datasourceUid" in link and link["datasourceUid"] not in by_uid:
                fail(
                    f"provisioning: exemplars link to data source {link['datasourceUid']}, "
                    "which is not provisioned"
                )
    labels = links.loki_labels(links.SAMPLE_LINE, links.SAMPLE_RESOURCE)
    trace_id = json.loads(links.SAMPLE_LINE)["trace_id"]
    for problem in links.trace_link_problems(sources, labels, trace_id):
        fail(f"provisioning: {problem}")
    ok(
        f"Grafana data sources: {', '.join(f'{uid} ({kind})' for uid, kind in by_uid.items())}; "
        "exemplars and log records open their traces, traces their log records"
    )
    return by_uid


def check_log_queries(dashboards):
    """Every LogQL query of the dashboards selects by labels Loki gives the service's records."""
    labels = links.loki_labels(links.SAMPLE_LINE, links.SAMPLE_RESOURCE)
    count = 0
    for dashboard in dashboards.values():
        for where, target in grafana.log_queries(dashboard):
            count += 1
            for problem in links.log_query_problems(target["expr"], labels):
                fail(f"{where}: {problem}\n       {target['expr']}")
    ok(f"{count} LogQL queries select by labels of the service's records in Loki")


def check_dashboards(dashboards, datasources):
    generator = subprocess.run(
        [sys.executable, GRAFANA / "dashboards.py", "--check"], capture_output=True, text=True
    )
    if generator.returncode:
        fail(f"dashboards: {generator.stderr.strip()}")
    for uid, count in Counter(d["uid"] for d in dashboards.values()).items():
        if count > 1:
            fail(f"dashboards: uid {uid} is used {count} times")
    panels = targets = annotation_count = 0
    for name, dashboard in dashboards.items():
        ids = Counter(p["id"] for p in grafana.panels_of(dashboard))
        for panel_id in (i for i, n in ids.items() if n > 1):
            fail(f"{name}: panel id {panel_id} is used {ids[panel_id]} times")
        refs = [(v["name"], v.get("datasource")) for v in dashboard["templating"]["list"]]
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                fail(
                    f"{name}: variable {variable['name']} is a {variable['type']} variable, "
                    "which this check cannot expand"
                )
        for panel in grafana.panels_of(dashboard):
            if panel["type"] == "row":
                continue
            panels += 1
            targets += len(panel.get("targets", []))
            refs += [(panel["title"], panel.get("datasource"))]
            refs += [(panel["title"], t.get("datasource")) for t in panel.get("targets", [])]
            exprs = [t.get("expr") for t in panel.get("targets", [])]
            if not exprs or not all(exprs):
                fail(f"{name}: panel {panel['title']!r} has a target without a query")
            if (
                panel["type"] == "timeseries"
                and any("histogram_quantile" in e for e in exprs if e)
                and not any(t.get("exemplar") for t in panel["targets"])
            ):
                fail(f"{name}: latency graph {panel['title']!r} does not show exemplars")
        for where, annotation in grafana.annotations(dashboard):
            annotation_count += 1
            refs.append((where, annotation.get("datasource")))
            if not grafana.annotation_expr(annotation):
                fail(f"{name}: {where!r} has no query")
        for where, ref in refs:
            if not ref or datasources.get(ref.get("uid")) != ref.get("type"):
                fail(f"{name}: {where!r} uses data source {ref}, which is not provisioned")
    ok(
        f"{len(dashboards)} dashboards, {panels} panels, {targets} queries, "
        f"{annotation_count} annotation queries: panel ids unique, data sources provisioned, "
        "latency graphs show exemplars, JSON as dashboards.py writes it"
    )


def dashboard_syntax_errors(dashboards):
    """(how many queries were parsed, what is wrong) for every dashboard query, annotation
    queries included, its variables given sample values: the queries go into one rule file as
    recording rules, `promtool check rules` parses them with Prometheus's own parser, and each
    complaint is traced back to its dashboard, panel and legend (or annotation)."""
    queries, problems = [], []
    for dashboard in dashboards.values():
        names = [v["name"] for v in dashboard["templating"]["list"]]
        values = {**grafana.BUILTINS, **dict.fromkeys(names, SAMPLE_VALUE)}
        exprs = [(where, target.get("expr", "")) for where, target in grafana.queries(dashboard)]
        exprs += [(w, grafana.annotation_expr(a)) for w, a in grafana.annotations(dashboard)]
        for where, expr in exprs:
            try:
                queries.append((where, grafana.substitute(expr, values)))
            except grafana.Unresolvable as error:
                problems.append(f"{where}: {error}")
    rules = [{"record": f"{RECORD}{n}", "expr": expr} for n, (_, expr) in enumerate(queries)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        json.dump({"groups": [{"name": "dashboard queries", "rules": rules}]}, file)  # YAML too
        file.flush()
        result = subprocess.run(
            ["promtool", "check", "rules", file.name], capture_output=True, text=True
        )
    output = result.stdout + result.stderr
    complaints = PROMTOOL_COMPLAINT.findall(output)
    for n, message in complaints:
        where, expr = queries[int(n)]
        problems.append(f"{where}: {message}\n       {expr}")
    if result.returncode and not complaints:
        problems.append(f"promtool check rules failed:\n{output}")
    return len(queries), problems


def check_dashboard_syntax(dashboards):
    count, problems = dashboard_syntax_errors(dashboards)
    for problem in problems:
        fail(problem)
    if not problems:
        ok(
            f"{count} dashboard queries parse (promtool check rules; {grafana.builtins_text()}, "
            f"the dashboards' own variables {SAMPLE_VALUE})"
        )
