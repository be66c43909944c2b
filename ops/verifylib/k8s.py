"""The checks of ops/k8s, the Kubernetes manifests, on a machine with no cluster: each kustomize
build renders, every object it renders validates against its schema, the rules and dashboards in
the cluster are their sources in ops/ unchanged, and the settings and grace periods agree with
the service, and the telemetry pipeline's hops (pods → collector → Tempo and Loki) meet
Services that listen where the configurations of ops/telemetry say.

Schemas, offline: Kubernetes' own kinds against the OpenAPI schemas that the kubernetes-validate
package ships (strict: an unknown field fails), for KUBERNETES_VERSION, the oldest Kubernetes the
manifests are written for; the operators' kinds (CloudNativePG's Cluster, the Prometheus
Operator's ServiceMonitor and PrometheusRule) against ops/k8s/schemas/, written here for the
fields the manifests use, since no package on the registries this project reaches ships those
operators' schemas. An object of any other kind fails: it has no schema to be checked against.
"""

import json
import re
import subprocess
from pathlib import Path

import yaml

from . import DASHBOARDS, OPS, ROOT, RULES, links

K8S = OPS / "k8s"
SCHEMAS = K8S / "schemas"
# Every kustomization a user applies: the two overlays, and the load Job.
BUILDS = [K8S / "overlays" / "cloudnativepg", K8S / "overlays" / "external-database", K8S / "load"]
KUBERNETES_VERSION = "1.30.0"
CUSTOM_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "cluster.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.json",
}


def render(build):
    """The objects `kubectl kustomize` renders from `build`, or raises with its error."""
    result = subprocess.run(["kubectl", "kustomize", str(build)], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"kubectl kustomize {build}: {result.stderr.strip()}")
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def name(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def schema_problems(obj):
    """What is wrong with `obj` against its schema: [] when it validates."""
    import jsonschema
    import kubernetes_validate

    custom = CUSTOM_SCHEMAS.get((obj.get("apiVersion"), obj.get("kind")))
    if custom:
        schema = json.loads((SCHEMAS / custom).read_text())
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {obj.get('apiVersion')} {obj.get('kind')}"]
    except kubernetes_validate.ValidationError as error:
        path = ".".join(map(str, error.absolute_path)) or "(top)"
        return [f"{path}: {error.message}"]
    return []


def rule_problems(objects):
    """The PrometheusRule must hold exactly the groups of ops/prometheus/rules.yml."""
    rules = [o for o in objects if o["kind"] == "PrometheusRule"]
    if len(rules) != 1:
        return [f"{len(rules)} PrometheusRules rendered, expected 1"]
    source = yaml.safe_load(RULES.read_text())
    if rules[0]["spec"] != source:
        return [f"{name(rules[0])} differs from {RULES.relative_to(ROOT)}"]
    return []


def dashboard_problems(objects):
    """Every dashboard of ops/grafana/dashboards in a ConfigMap labelled for Grafana's sidecar,
    as the very text of its file; no other dashboard."""
    problems, found = [], set()
    for obj in objects:
        if obj["kind"] != "ConfigMap":
            continue
        if obj["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
            continue
        for file, text in obj.get("data", {}).items():
            found.add(file)
            source = DASHBOARDS / file
            if not source.exists():
                problems.append(f"{name(obj)}: {file} is no dashboard of ops/grafana/dashboards")
            elif source.read_text() != text:
                problems.append(f"{name(obj)}: {file} differs from {source.relative_to(ROOT)}")
    missing = sorted({p.name for p in DASHBOARDS.glob("*.json")} - found)
    problems += [
        f"dashboard {file} is in no ConfigMap labelled grafana_dashboard" for file in missing
    ]
    return problems


def env_of(container, config_maps):
    """The settings a container gets: its ConfigMaps' data, then its own env values."""
    env = {}
    for source in container.get("envFrom", []):
        env.update(config_maps.get(source.get("configMapRef", {}).get("name"), {}))
    env.update({e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])})
    return env


def service_problems(objects, settings_doc):
    """The Deployment's settings are the service's own (the table of settings in
    docs/operations.md),
    and a stopping pod gets more time than its preStop pause and the shutdown grace."""
    known = {
        setting
        for line in settings_doc.splitlines()
        if line.startswith("| `")
        for setting in re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1])
    }
    config_maps = {
        o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"
    }
    problems = []
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        if deployment["metadata"]["name"] != "snackdrawer":
            continue
        pod = deployment["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            env = env_of(container, config_maps)
            unknown = sorted(k for k in env if k.startswith("SNACKDRAWER_") and k not in known)
            for setting in unknown:
                problems.append(f"{container['name']}: {setting} is not a setting of the service")
        app = next(c for c in pod["containers"] if c["name"] == "snackdrawer")
        grace = float(env_of(app, config_maps).get("SNACKDRAWER_SHUTDOWN_GRACE", 10))
        command = app.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pause = float(command[1]) if command[:1] == ["sleep"] else 0
        termination = pod.get("terminationGracePeriodSeconds", 30)
        if termination <= pause + grace:
            problems.append(
                f"terminationGracePeriodSeconds {termination} is not above the preStop pause "
                f"({pause:g} s) and SNACKDRAWER_SHUTDOWN_GRACE ({grace:g} s)"
            )
    return problems


def pipeline_problems(objects):
    """The pods export to the collector's Service where its OTLP/HTTP receiver listens, and the
    collector's configuration (ops/telemetry's, in a ConfigMap) reaches Tempo and Loki through
    Services of those names, each exposing every port its own configuration listens on."""
    configs = {
        file: yaml.safe_load(text)
        for o in objects
        if o["kind"] == "ConfigMap"
        for file, text in o.get("data", {}).items()
        if file in ("otel-collector.yaml", "tempo.yaml", "loki.yaml")
    }
    if len(configs) < 3:
        return [f"the ConfigMaps hold {sorted(configs)} of the three ops/telemetry files"]
    ports = links.listening(
        configs["otel-collector.yaml"], configs["tempo.yaml"], configs["loki.yaml"]
    )
    problems = [
        f"collector: {p}" for p in links.collector_problems(configs["otel-collector.yaml"], ports)
    ]
    exposed = {
        o["metadata"]["name"]: {p["port"] for p in o["spec"].get("ports", [])}
        for o in objects
        if o["kind"] == "Service"
    }
    for service, listeners in ports.items():
        for port, what in listeners.items():
            if port not in exposed.get(service, set()):
                problems.append(f"Service {service} does not expose {what} port {port}")
    settings = {}
    for o in objects:
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("snackdrawer-config"):
            settings.update(o.get("data", {}))
    host, port = links.host_port(settings.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    if ports.get(host, {}).get(port) != "otlp-http":
        problems.append(f"the pods export to {host}:{port}, where no OTLP/HTTP receiver listens")
    return problems
