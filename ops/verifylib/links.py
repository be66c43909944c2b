"""The telemetry pipeline and the links between its signals, read from their files: nothing here
runs a collector, Tempo, Loki or Grafana (these machines have none of them, and no `otelcol`
binary from a registry they reach: docs/decisions/0019-tempo-and-loki-behind-a-collector.md).

The pipeline: each hop (the service → the collector → Tempo and Loki, Grafana → each) must name
a service there is and a port it listens on, read from that service's own configuration in
ops/telemetry, so a port changed in one file and not in the next fails here.

The links: Grafana opens a log record's trace through the Loki data source's derived field, a
trace's log records through the Tempo data source's trace-to-logs query, an exemplar's trace
through the Prometheus data source. Loki keeps an OTLP record's trace id as the structured
metadata `trace_id`, not in the line, which is the message alone; `loki_labels` builds the
labels Loki gives the record of one of the service's JSON lines (the record's attributes are
the line's fields: docs/observability.md#over-otlp), and the checks follow the links on them as
Grafana does.
"""

import json
import re
import urllib.parse

import yaml

from . import GRAFANA

# A line the service wrote (the unsampled access line of docs/observability.md#logs), for the
# static checks; the live run of ops/verify follows the same links on the lines of its own build.
SAMPLE_LINE = (
    '{"level":"INFO","target":"snackdrawer::access","timestamp":"2026-11-28T18:06:39.865866Z",'
    '"trace_id":"013021d5fb5017a3b234256e9591003b","span_id":"68e75bf4670d1caf",'
    '"duration_ms":0.390943,"message":"request served","method":"GET","route":"/snacks/{id}",'
    '"status":200}'
)
SAMPLE_RESOURCE = {"service.name": "snackdrawer"}
# The kinds of data source a trace id can be opened in.
TRACE_DATA_SOURCES = {"tempo", "jaeger", "zipkin"}
# The JSON line's keys that are not the record's attributes: they are its severity, scope,
# body and time, the span's fields (only in JSON) and the ids (the record's own fields).
NOT_ATTRIBUTES = {"level", "target", "timestamp", "message", "span", "trace_id", "span_id"}
# OpenTelemetry's severity numbers for the levels tracing writes.
SEVERITY_NUMBER = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}
# A trace id as the service writes it (x-trace-id, JSON lines) and Loki keeps it.
TRACE_ID = re.compile(r"[0-9a-f]{32}")
# The variables Grafana fills in a trace-to-logs query with the trace's id.
TRACE_ID_VARIABLES = ("${__trace.traceId}", "${__span.traceId}")
# A LogQL label filter of the pipeline (`| route="…"`, `| status=~"5.."`) and a stream matcher.
LABEL_FILTER = re.compile(r"\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|==|=|>=|<=|>|<)")
STREAM_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def normalized(name):
    """An OTLP attribute's name as a Loki label: every character but letters, digits and `_`
    becomes `_` (service.name is service_name)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def loki_labels(line, resource):
    """The labels (index labels, then structured metadata, in Loki's order) of the record that
    the service exports for the JSON log `line`, with the resource attributes `resource`:
    service.name becomes the stream's service_name; the record's attributes, severity and ids,
    and its scope's name, structured metadata (Loki's pkg/loghttp/push/otlp.go)."""
    fields = json.loads(line)
    labels = {normalized(k): str(v) for k, v in resource.items() if k == "service.name"}
    for key, value in fields.items():
        if key not in NOT_ATTRIBUTES:
            labels[normalized(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    labels["severity_number"] = str(SEVERITY_NUMBER[fields["level"]])
    labels["severity_text"] = fields["level"]
    for key in ("trace_id", "span_id"):
        if key in fields:
            labels[key] = fields[key]
    labels.update({normalized(k): str(v) for k, v in resource.items() if k != "service.name"})
    labels["scope_name"] = fields["target"]
    return labels


def derived_value(field, labels):
    """What Grafana's Loki data source puts in the derived `field` for a record with `labels`: a
    label-type field takes the value of the first label whose name its regex finds (Grafana's
    getDerivedFields); a regex-type one reads the line, which an OTLP record's is not."""
    if field.get("matcherType") != "label":
        return None
    pattern = re.compile(field["matcherRegex"])
    return next((value for name, value in labels.items() if pattern.search(name)), None)


def provisioned(value):
    """A provisioning file's value as Grafana reads it: `$$` stands for `$` (a lone `$` would
    start an environment variable)."""
    if isinstance(value, dict):
        return {k: provisioned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [provisioned(v) for v in value]
    return value.replace("$$", "$") if isinstance(value, str) else value


def provisioned_sources():
    """Every data source of ops/grafana/provisioning, as Grafana reads it."""
    folder = GRAFANA / "provisioning" / "datasources"
    return provisioned(
        [
            s
            for path in sorted(folder.glob("*.yaml"))
            for s in yaml.safe_load(path.read_text())["datasources"]
        ]
    )


def by_uid(sources):
    return {s["uid"]: s for s in sources}


def trace_link_problems(sources, labels, trace_id):
    """What keeps a log record with `labels` (its trace id `trace_id`) from opening its trace,
    a trace from opening its log records, or an exemplar from opening its trace."""
    uids, problems = by_uid(sources), []

    def is_kind(uid, kinds):
        return uids.get(uid, {}).get("type") in kinds

    lokis = [s for s in sources if s["type"] == "loki"]
    if not lokis:
        problems.append("no Loki data source is provisioned")
    for loki in lokis:
        fields = [
            f for f in loki.get("jsonData", {}).get("derivedFields", []) if f.get("datasourceUid")
        ]
        opening = [f for f in fields if derived_value(f, labels) == trace_id]
        if not opening:
            problems.append(
                f"{loki['name']}: no derived field takes the trace id {trace_id} from the "
                f"record's labels {sorted(labels)}"
            )
        for field in opening:
            if not is_kind(field["datasourceUid"], TRACE_DATA_SOURCES):
                problems.append(
                    f"{loki['name']}: derived field {field['name']} opens data source "
                    f"{field['datasourceUid']}, which is no provisioned trace data source"
                )
            if "${__value.raw}" not in field.get("url", ""):
                problems.append(
                    f"{loki['name']}: derived field {field['name']} does not pass its value "
                    "(${__value.raw}) to the trace query"
                )

    for source in (s for s in sources if s["type"] in TRACE_DATA_SOURCES):
        problems += [
            f"{source['name']}: {p}"
            for p in traces_to_logs_problems(source.get("jsonData", {}), uids, labels, trace_id)
        ]

    for source in sources:
        for link in source.get("jsonData", {}).get("exemplarTraceIdDestinations", []):
            if "datasourceUid" in link and not is_kind(link["datasourceUid"], TRACE_DATA_SOURCES):
                problems.append(
                    f"{source['name']}: exemplars open data source {link['datasourceUid']}, "
                    "which is no provisioned trace data source"
                )
    return problems


def traces_to_logs_problems(settings, uids, labels, trace_id):
    """What keeps a trace's "logs for this span" link (tracesToLogsV2) from selecting the record
    with `labels`: the data source must be a provisioned Loki, the query must select the record's
    stream through the mapped tags and filter on its `trace_id`."""
    link = settings.get("tracesToLogsV2")
    if not link:
        return ["no trace-to-logs link (tracesToLogsV2)"]
    target = uids.get(link.get("datasourceUid"), {})
    if target.get("type") != "loki":
        return [f"trace-to-logs opens {link.get('datasourceUid')}, which is no provisioned Loki"]
    if not link.get("customQuery"):
        # Grafana's own query adds a line filter on the trace id, and the line is the message.
        return ["trace-to-logs has no custom query; Grafana's own filters the line, not trace_id"]
    query = link.get("query", "")
    problems = []
    tags = {
        (t["key"], t.get("value") or t["key"]) if isinstance(t, dict) else (t, t)
        for t in link.get("tags", [])
    }
    stream = {label: labels.get(label) for _, label in tags}
    missing = sorted(label for label, value in stream.items() if value is None)
    if "${__tags}" in query and missing:
        problems.append(f"trace-to-logs maps tags to {missing}, labels the record does not have")
    filled = query.replace("${__tags}", ", ".join(f'{k}="{v}"' for k, v in stream.items() if v))
    for variable in TRACE_ID_VARIABLES:
        filled = filled.replace(variable, trace_id)
    if not re.search(rf'\|\s*trace_id\s*=\s*"{trace_id}"', filled):
        problems.append(f"trace-to-logs query {query!r} does not filter on the trace's id")
    problems += [
        f"trace-to-logs query: {p}" for p in log_query_problems(filled, labels, selects=True)
    ]
    return problems


def log_query_problems(expr, labels, selects=False):
    """The label names of LogQL `expr` that the record with `labels` lacks (a matcher or filter
    on a label Loki never makes selects nothing); with `selects`, also the equality matchers
    and filters whose value differs from the record's, so `expr` would not select it."""
    stream, _, pipeline = expr.partition("}")
    names = STREAM_MATCHER.findall(stream.partition("{")[2]) + LABEL_FILTER.findall(pipeline)
    problems = [f"{name} is no label of the record" for name in names if name not in labels]
    if selects:
        for name, value in re.findall(r'([A-Za-z_]\w*)\s*=\s*"([^"]*)"', expr):
            if name in labels and labels[name] != value:
                problems.append(f'{name}="{value}" does not select the record ({labels[name]})')
    return problems


def url_parts(address):
    """A URL, or a host:port read as one."""
    return urllib.parse.urlsplit(address if "//" in address else "//" + address)


def host_port(address):
    """(host, port) of a URL or a host:port."""
    parts = url_parts(address)
    return parts.hostname, parts.port


def listening(collector, tempo, loki):
    """{service: {port: what listens there}} for the collector, Tempo and Loki, each read from
    its own configuration."""
    receivers = collector["receivers"]["otlp"]["protocols"]
    tempo_otlp = tempo["distributor"]["receivers"]["otlp"]["protocols"]
    return {
        "otel-collector": {
            host_port(receivers["grpc"]["endpoint"])[1]: "otlp-grpc",
            host_port(receivers["http"]["endpoint"])[1]: "otlp-http",
        },
        "tempo": {
            tempo["server"]["http_listen_port"]: "http",
            host_port(tempo_otlp["grpc"]["endpoint"])[1]: "otlp-grpc",
        },
        "loki": {loki["server"]["http_listen_port"]: "http"},
    }


# What the collector's exporters must reach: spans Tempo's OTLP/gRPC receiver, log records
# Loki's native OTLP endpoint (the otlphttp exporter appends /v1/logs to the path).
PIPELINE_BACKENDS = {
    "traces": ("otlp", "tempo", "otlp-grpc", ""),
    "logs": ("otlphttp", "loki", "http", "/otlp"),
}


def collector_problems(collector, ports):
    """What is wrong with the collector's pipelines: a component they name that is not
    configured, or a traces or logs pipeline whose exporters do not reach Tempo or Loki where
    `ports` ({service: {port: what}}) says they listen."""
    problems = []
    pipelines = collector.get("service", {}).get("pipelines", {})
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                if component not in collector.get(kind, {}):
                    problems.append(f"pipeline {name}: {component} is no configured {kind[:-1]}")
    for signal, (exporter_type, service, listener, path) in PIPELINE_BACKENDS.items():
        exporters = pipelines.get(signal, {}).get("exporters", [])
        aimed = []  # the exporters sending to the backend, whether they reach it or not
        for exporter in exporters:
            if exporter.partition("/")[0] != exporter_type:
                continue
            endpoint = (collector.get("exporters", {}).get(exporter) or {}).get("endpoint", "")
            host, port = host_port(endpoint)
            if host != service:
                continue
            aimed.append(exporter)
            if ports.get(service, {}).get(port) != listener:
                problems.append(
                    f"{exporter} sends {signal} to {service}:{port}, where {service} has no "
                    f"{listener} listener ({ports.get(service)})"
                )
            elif url_parts(endpoint).path.rstrip("/") != path:
                problems.append(f"{exporter} sends {signal} to {endpoint}, not to the path {path}")
        if not aimed:
            problems.append(
                f"no {exporter_type} exporter of the {signal} pipeline reaches {service}"
            )
    return problems
