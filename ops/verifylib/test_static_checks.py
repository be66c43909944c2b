"""Shows that the dashboard syntax check can fail: a query Prometheus's parser rejects, or one
with a variable the dashboard does not define, is reported under its dashboard and panel.
Needs promtool, as ops/verify does. Run: python3 -m unittest discover -s ops -t ops"""

import unittest

from verifylib.static_checks import dashboard_syntax_errors


def dashboard(*exprs, variables=()):
    panel = {
        "type": "timeseries",
        "title": "Panel",
        "targets": [{"expr": e, "legendFormat": f"q{n}"} for n, e in enumerate(exprs)],
    }
    return {
        "title": "Board",
        "templating": {"list": [{"name": v} for v in variables]},
        "panels": [{"type": "row", "title": "Row", "panels": [panel]}],
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

    def test_an_undefined_variable(self):
        _, problems = dashboard_syntax_errors({"b.json": dashboard('m{f="$nope"}')})
        self.assertEqual(problems, ["Board > Panel > q0: unknown variable $nope"])


if __name__ == "__main__":
    unittest.main()
