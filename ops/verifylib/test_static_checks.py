"""Shows that the dashboard syntax check can fail: a query Prometheus's parser rejects, or one
with a variable the dashboard does not define, is reported under its dashboard and panel (or
annotation); and how annotation queries and a panel's query are found. Shows the compose stack's
telemetry hops failing too: the service exporting where the collector does not listen, or not
exporting its logs, and Grafana reading a backend on a port it does not serve (the collector's
own hops: test_links.py).
Needs promtool, as ops/verify does. Run: python3 -m unittest discover -s ops -t ops"""

import contextlib
import copy
import io
import unittest

import yaml

from verifylib import COMPOSE, OPS, grafana, links, report
from verifylib.static_checks import check_admin_api, dashboard_syntax_errors, pipeline_problems


def dashboard(*exprs, variables=(), annotations=()):
    panel = {
        "type": "timeseries",
        "title": "Panel",
        "targets": [{"expr": e, "legendFormat": f"q{n}"} for n, e in enumerate(exprs)],
    }
    return {
        "title": "Board",
        "templating": {"list": [{"name": v} for v in variables]},
        "panels": [{"type": "row", "title": "Row", "panels": [panel]}],
        "annotations": {
            "list": [{"name": "Grafana", "builtIn": 1}]  # no query: skipped
            + [{"name": f"a{n}", "target": {"expr": e}} for n, e in enumerate(annotations)]
        },
    }


class DashboardSyntax(unittest.TestCase):
    def test_valid_queries_with_variables_pass(self):
        board = dashboard(
            'sum(rate(m{f="$f"}[$__rate_interval]))',
            'm{le="${f}"} > $f',
            'label_replace(m, "to", "${1}", "from", "(.*)")',  # ${1}: a back-reference
            variables=["f"],
        )
        self.assertEqual(dashboard_syntax_errors({"b.json": board}), (3, []))

    def test_a_parse_error_names_the_panel_and_the_query(self):
        board = dashboard("sum(rate(m[5m]))", "sum(rate(m[5m])")
        count, problems = dashboard_syntax_errors({"b.json": board})
        self.assertEqual(count, 2)
        self.assertEqual(len(problems), 1)
        self.assertIn("Board > Panel > q1: could not parse expression", problems[0])
        self.assertIn("unclosed left parenthesis", problems[0])
        self.assertIn("sum(rate(m[5m])", problems[0])

    def test_annotation_queries_are_parsed_too(self):
        board = dashboard("m", annotations=["snackdrawer_lazy_mode > 0", "m >"])
        count, problems = dashboard_syntax_errors({"b.json": board})
        self.assertEqual(count, 3)
        self.assertEqual(len(problems), 1)
        self.assertIn("Board > annotation a1: could not parse expression", problems[0])

    def test_an_older_annotation_keeps_its_query_at_the_top(self):
        annotation = {"name": "old", "expr": "m > 0"}
        self.assertEqual(grafana.annotation_expr(annotation), "m > 0")
        board = {"title": "B", "annotations": {"list": [annotation]}}
        self.assertEqual(list(grafana.annotations(board)), [("B > annotation old", annotation)])

    def test_find_query_by_panel_and_legend(self):
        board = dashboard("a", "b")
        self.assertEqual(grafana.find_query(board, "Panel", "q1"), "b")
        with self.assertRaises(KeyError):
            grafana.find_query(board, "Panel", "p95")

    def test_an_undefined_variable(self):
        _, problems = dashboard_syntax_errors({"b.json": dashboard('m{f="$nope"}')})
        self.assertEqual(problems, ["Board > Panel > q0: unknown variable $nope"])


class AdminApiInCompose(unittest.TestCase):
    def problems(
        self, listen="0.0.0.0:9000", ports=("8000:8000", "127.0.0.1:9000:9000"), token=None
    ):
        token = token or "${SNACKDRAWER_ADMIN_TOKEN:-" + "x" * 32 + "}"
        api = {
            "environment": {"SNACKDRAWER_ADMIN_LISTEN": listen, "SNACKDRAWER_ADMIN_TOKEN": token},
            "ports": list(ports),
        }
        before = len(report.failures)
        with contextlib.redirect_stdout(io.StringIO()):
            check_admin_api(api)
        found = report.failures[before:]
        del report.failures[before:]
        return found

    def test_published_on_loopback_with_a_long_default_token(self):
        self.assertEqual(self.problems(), [])

    def test_published_on_every_interface(self):
        [problem] = self.problems(ports=("8000:8000", "9000:9000"))
        self.assertIn("not on 127.0.0.1:9000 only", problem)

    def test_listening_on_the_container_loopback(self):
        self.assertIn("container's interfaces", self.problems(listen="127.0.0.1:9000")[0])

    def test_a_token_too_short_or_without_a_default(self):
        self.assertEqual(len(self.problems(token="${SNACKDRAWER_ADMIN_TOKEN:-short}")), 1)
        self.assertEqual(len(self.problems(token="x" * 40)), 1)


class ComposePipeline(unittest.TestCase):
    SERVICES = yaml.safe_load(COMPOSE.read_text())["services"]
    CONFIGS = {
        name: yaml.safe_load((OPS / "telemetry" / f"{name}.yaml").read_text())
        for name in ("otel-collector", "tempo", "loki")
    }

    def problems(self, env=None, source=None):
        services = copy.deepcopy(self.SERVICES)
        services["snackdrawer"]["environment"].update(env or {})
        sources = links.provisioned_sources() + ([source] if source else [])
        return pipeline_problems(services, self.CONFIGS, sources)

    def test_the_committed_stack_meets_at_every_hop(self):
        self.assertEqual(self.problems(), [])

    def test_the_service_exporting_grpc_to_the_http_port(self):
        [problem] = self.problems({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
        self.assertIn("exports grpc to otel-collector:4318, where no otlp-grpc receiver", problem)

    def test_the_service_exporting_past_the_collector(self):
        [problem] = self.problems({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://tempo:4318"})
        self.assertIn("exports http/protobuf to tempo:4318", problem)

    def test_logs_kept_home_by_default(self):
        [problem] = self.problems({"OTEL_LOGS_EXPORTER": "${OTEL_LOGS_EXPORTER:-none}"})
        self.assertIn("does not export its logs by default", problem)

    def test_grafana_reading_tempo_on_its_otlp_port(self):
        source = {"name": "Tempo 2", "uid": "t2", "type": "tempo", "url": "http://tempo:4317"}
        [problem] = self.problems(source=source)
        self.assertIn(
            "Grafana reads Tempo 2 at tempo:4317, where tempo serves no HTTP API", problem
        )


if __name__ == "__main__":
    unittest.main()
