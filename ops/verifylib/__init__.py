"""The parts of ops/verify, which proves on this machine that the observability stack shows data.

In the order a run uses them:
  tools          the programs and the Python module the checks need; how to install them
  static_checks  what can be proved without running anything: promtool on the Prometheus files,
                 the compose stack, Grafana's provisioning, and the dashboards (their JSON, and
                 every query parsed by Prometheus's own parser)
  services       the real binary and a real Prometheus, started on loopback ports
  traffic        a user's sessions against the binary, so every series has data
  live           every dashboard query, rule and exemplar, evaluated by that Prometheus over
                 three replicas
  aggregation    whether each query reads right over replicas: sums that add up, shares
                 between the replicas' own, per-replica series named in their legend
Helpers: grafana (reading dashboards and their variables), links (the telemetry pipeline's hops,
and Grafana's links between metrics, traces and logs, followed on the records Loki would keep of
the service's log lines), selections (what a query selects),
prometheus_api (Prometheus's HTTP API), report (what is printed and counted), admin (the
service's admin API, through which the live run sets a harmless fault plan).

ops/verify-faults, the fault-injection experiment, uses the same parts and its own:
  overlay        the production rules with every window divided by 60, for a short live run
  faults         lazy mode on and off through the admin API under snackdrawer-load, timed
  timeline       the figures read off its polls (crossings, recovery, peaks)
  otlp           an OTLP receiver, to follow exemplars to traces carrying `fault.injected`
                 and traces to their log records (also ops/otlp-receiver, which prints them)
  episode        the run's counters as a `promtool test rules` case of the production rules
ops/verify-incidents, the incident catalogue live, uses services, admin, otlp and faults's
load settings, and its own:
  incidents      each incident's plan in, its signature timed, every other one's held still
ops/verify-fleet, several replicas on one PostgreSQL, uses services and its own:
  fleet          a fresh database, replicas on fixed ports, what the database and logs hold
  proxy          a round-robin proxy in front of them that keeps every acknowledged write
ops/verify-k8s, the Kubernetes manifests with no cluster:
  k8s            kustomize builds rendered, validated against their schemas, compared with ops/
ops/pictures, the pictures in the docs, uses faults' episode settings and its own:
  pictures       a short lazy-mode episode of the release binaries, photographed by headless
                 Chromium from Prometheus's own pages and the load generator's HTML report
  png            proof, with the standard library, that each picture decodes and shows something
Their tests (test_*.py; .ci/run runs them): python3 -m unittest discover -s ops -t ops
"""

from pathlib import Path

OPS = Path(__file__).resolve().parent.parent
ROOT = OPS.parent
RULES = OPS / "prometheus" / "rules.yml"
COMPOSE = OPS / "docker-compose.yaml"
GRAFANA = OPS / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
