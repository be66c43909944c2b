"""A recorded episode becomes a promtool rules test of the production rules, and that test fails
when the rules stop firing on it. Needs promtool, as ops/verify does. Run: python3 -m unittest
discover -s ops -t ops"""

import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

from verifylib import RULES, episode

HEALTHY, LAZY, AFTER = 60, 20, 35  # minutes
COUNT = "http_server_request_duration_seconds_count"
BUCKET = "http_server_request_duration_seconds_bucket"


def counter(per_minute):
    """A counter's samples from its increase per minute."""
    total, values = 0, [0]
    for step in per_minute:
        total += step
        values.append(total)
    return values


def lazy_episode():
    """600 requests a minute; for LAZY minutes 10 % answer 503 and 30 % take over 250 ms."""
    minutes = [False] * HEALTHY + [True] * LAZY + [False] * AFTER
    ok = counter([540 if lazy else 600 for lazy in minutes])
    refused = counter([60 if lazy else 0 for lazy in minutes])
    fast_ok = counter([360 if lazy else 600 for lazy in minutes])
    code = "http_response_status_code"
    return [
        (COUNT, {code: "200"}, ok),
        (COUNT, {code: "503"}, refused),
        (BUCKET, {code: "200", "le": "0.25"}, fast_ok),
        (BUCKET, {code: "503", "le": "0.25"}, refused),
    ]


FAST = ["SnackdrawerErrorBudgetBurnFast", "SnackdrawerLatencyBudgetBurnFast"]
POINTS = [
    (HEALTHY, "before", dict.fromkeys(FAST, False)),
    (HEALTHY + LAZY, "at the end of the episode", dict.fromkeys(FAST, True)),
    (HEALTHY + LAZY + AFTER, "after", dict.fromkeys(FAST, False)),
]


def promtool_test(rules_text, points=POINTS):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "rules.yml").write_text(rules_text)
        rules = yaml.safe_load(rules_text)
        test = Path(folder) / "test.yml"
        test.write_text(episode.rules_test(lazy_episode(), points, rules, "# a test\n"))
        return subprocess.run(["promtool", "test", "rules", test], capture_output=True, text=True)


class Episode(unittest.TestCase):
    def test_values_and_names(self):
        self.assertEqual(" ".join(map(episode.number, [None, 0, 3.0, 2.5])), "_ 0 3 2.5")
        self.assertEqual(episode.series_name("m", {"le": "0.25", "a": "b"}), 'm{a="b", le="0.25"}')

    def test_the_production_rules_fire_on_the_episode(self):
        result = promtool_test(RULES.read_text())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_it_fails_when_a_threshold_moves(self):
        # The availability budget of the fast burn's both conditions misread as 10 %.
        text = RULES.read_text()
        planted = text.replace("14.4 * 0.001", "14.4 * 0.1").replace("6 * 0.001", "6 * 0.1")
        self.assertNotEqual(planted, text)
        result = promtool_test(planted)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SnackdrawerErrorBudgetBurnFast", result.stdout + result.stderr)

    def test_it_fails_when_the_expectation_is_wrong(self):
        wrong = [(HEALTHY, "before", {FAST[0]: True})]
        self.assertNotEqual(promtool_test(RULES.read_text(), wrong).returncode, 0)

    def test_the_recorded_episode_is_a_test_of_the_production_rules(self):
        recorded = yaml.safe_load((RULES.parent / "rules_test_lazy.yml").read_text())
        self.assertEqual(recorded["rule_files"], ["rules.yml"])
        self.assertEqual(recorded["evaluation_interval"], episode.INTERVAL)
        checks = recorded["tests"][0]["alert_rule_test"]
        fired = {c["alertname"] for c in checks if c["exp_alerts"]}
        self.assertEqual(fired, set(FAST), "the fast burns fire in the recorded episode")


if __name__ == "__main__":
    unittest.main()
