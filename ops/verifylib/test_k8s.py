"""Shows that each check of ops/verify-k8s can fail: a misspelt field of a Kubernetes kind and of
an operator's kind, an object of a kind with no schema, a rule or a dashboard that differs from
its source or is missing, a setting the service does not have, a termination grace too short,
a backend port no Service exposes, pods exporting where no collector listens, and a
kustomization that does not render.
Needs kubectl and kubernetes-validate, as ops/verify-k8s does.
Run: python3 -m unittest discover -s ops -t ops"""

import copy
import tempfile
import unittest
from pathlib import Path

import yaml

from verifylib import DASHBOARDS, ROOT, RULES, k8s

OVERLAY = k8s.K8S / "overlays" / "external-database"


class Rendered(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = k8s.render(OVERLAY)
        cls.settings_doc = (ROOT / "docs" / "operations.md").read_text()

    def find(self, kind, name=None):
        return copy.deepcopy(
            next(
                o
                for o in self.objects
                if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
            )
        )

    def replaced(self, old, new):
        return [new if o["kind"] == old["kind"] and o["metadata"] == old["metadata"] else o
                for o in self.objects]

    def test_the_overlay_as_committed_passes(self):
        self.assertEqual([p for o in self.objects for p in k8s.schema_problems(o)], [])
        self.assertEqual(k8s.rule_problems(self.objects), [])
        self.assertEqual(k8s.dashboard_problems(self.objects), [])
        self.assertEqual(k8s.service_problems(self.objects, self.settings_doc), [])
        self.assertEqual(k8s.pipeline_problems(self.objects), [])

    def test_a_misspelt_field_of_a_kubernetes_kind_fails(self):
        deployment = self.find("Deployment", "snackdrawer")
        deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
        problems = k8s.schema_problems(deployment)
        self.assertTrue(any("replica" in p for p in problems), problems)

    def test_a_wrong_type_fails(self):
        pdb = self.find("PodDisruptionBudget")
        pdb["spec"]["selector"] = "app=snackdrawer"
        self.assertNotEqual(k8s.schema_problems(pdb), [])

    def test_a_misspelt_field_of_an_operator_s_kind_fails(self):
        monitor = self.find("ServiceMonitor")
        monitor["spec"]["endpoints"][0]["intervall"] = "15s"
        self.assertIn("intervall", " ".join(k8s.schema_problems(monitor)))
        cluster = {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "db"},
            "spec": {"instance": 2, "storage": {"size": "1Gi"}},
        }
        self.assertNotEqual(k8s.schema_problems(cluster), [])
        rule = self.find("PrometheusRule")
        rule["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
        self.assertNotEqual(k8s.schema_problems(rule), [])

    def test_a_kind_without_a_schema_fails(self):
        collector = {
            "apiVersion": "opentelemetry.io/v1beta1",
            "kind": "OpenTelemetryCollector",
            "metadata": {"name": "otel"},
            "spec": {},
        }
        self.assertEqual(
            k8s.schema_problems(collector),
            ["no schema for opentelemetry.io/v1beta1 OpenTelemetryCollector"],
        )

    def test_a_rule_that_differs_from_ops_prometheus_fails(self):
        rule = self.find("PrometheusRule")
        rule["spec"]["groups"][0]["rules"][0]["expr"] += " * 2"
        self.assertEqual(
            k8s.rule_problems(self.replaced(rule, rule)),
            [f"PrometheusRule/snackdrawer differs from {RULES.relative_to(ROOT)}"],
        )
        without = [o for o in self.objects if o["kind"] != "PrometheusRule"]
        self.assertEqual(k8s.rule_problems(without), ["0 PrometheusRules rendered, expected 1"])

    def test_a_dashboard_that_differs_or_is_missing_fails(self):
        board = self.find("ConfigMap", "snackdrawer-dashboard-slo")
        board["data"]["slo.json"] += " "
        problems = k8s.dashboard_problems(self.replaced(board, board))
        self.assertEqual(len(problems), 1)
        self.assertIn("slo.json differs from ops/grafana/dashboards/slo.json", problems[0])
        without = [o for o in self.objects if o["metadata"]["name"] != board["metadata"]["name"]]
        self.assertEqual(
            k8s.dashboard_problems(without),
            ["dashboard slo.json is in no ConfigMap labelled grafana_dashboard"],
        )
        self.assertTrue((DASHBOARDS / "slo.json").exists())

    def test_an_unknown_setting_and_a_short_grace_fail(self):
        deployment = self.find("Deployment", "snackdrawer")
        pod = deployment["spec"]["template"]["spec"]
        pod["terminationGracePeriodSeconds"] = 15
        pod["containers"][0]["env"].append({"name": "SNACKDRAWER_LOGIN_LIMIT", "value": "false"})
        problems = k8s.service_problems(self.replaced(deployment, deployment), self.settings_doc)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("SNACKDRAWER_LOGIN_LIMIT is not a setting", problems[0])
        self.assertIn("terminationGracePeriodSeconds 15 is not above", problems[1])

    def test_a_backend_port_no_service_exposes_fails(self):
        loki = self.find("Service", "loki")
        loki["spec"]["ports"][0]["port"] = 3101
        problems = k8s.pipeline_problems(self.replaced(loki, loki))
        self.assertEqual(problems, ["Service loki does not expose http port 3100"])

    def test_pods_exporting_elsewhere_fail(self):
        config = next(
            o
            for o in self.objects
            if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("snackdrawer-config")
        )
        changed = copy.deepcopy(config)
        changed["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://otel-collector:4317"
        [problem] = k8s.pipeline_problems(self.replaced(config, changed))
        self.assertIn("otel-collector:4317, where no OTLP/HTTP receiver listens", problem)


class Rendering(unittest.TestCase):
    def test_a_kustomization_that_does_not_render_fails(self):
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "kustomization.yaml").write_text(
                yaml.safe_dump({"resources": ["missing.yaml"]})
            )
            with self.assertRaisesRegex(RuntimeError, "missing.yaml"):
                k8s.render(Path(directory))


if __name__ == "__main__":
    unittest.main()
