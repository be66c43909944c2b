"""Pins what selections.py finds in each PromQL idiom of the dashboards and rules, and that a
misspelt metric, label or value is reported. Run: python3 -m unittest discover -s ops -t ops"""

import unittest

from verifylib.selections import selectors, unknown_selections

SERIES = {
    "function_calls_total": [
        {"function": "SnackRepository::get", "result": "ok"},
        {"function": "SnackRepository::get", "result": "error"},
    ],
    "up": [{"job": "snackdrawer"}],
}


def unknown(expr):
    return unknown_selections(lambda name: SERIES.get(name, []), expr)


class Selectors(unittest.TestCase):
    def test_rate_of_a_selector_in_an_aggregation(self):
        self.assertEqual(
            selectors('sum by (function) (rate(function_calls_total{result="error"}[5m]))'),
            [("function_calls_total", [("result", "=", "error")])],
        )

    def test_grouping_after_the_aggregation_is_not_a_metric(self):
        self.assertEqual(
            selectors("sum(rate(http_total[1m])) by (http_route, le)"), [("http_total", [])]
        )

    def test_bare_names_around_operators_and_keywords(self):
        self.assertEqual(
            selectors("a_total / on (job) group_left b_total or vector(0) and bool c offset 5m"),
            [("a_total", []), ("b_total", []), ("c", [])],
        )

    def test_an_annotation_comparison(self):
        self.assertEqual(selectors("snackdrawer_lazy_mode > 0"), [("snackdrawer_lazy_mode", [])])
        self.assertEqual(
            unknown("snackdrawer_lazy_mod > 0"), ["metric snackdrawer_lazy_mod does not exist"]
        )

    def test_numbers_and_recording_rule_names(self):
        self.assertEqual(
            selectors(
                "histogram_quantile(0.99, x_bucket) > 0.25 * snackdrawer:errors:ratio_rate5m"
            ),
            [("x_bucket", []), ("snackdrawer:errors:ratio_rate5m", [])],
        )

    def test_every_matcher_operator(self):
        self.assertEqual(
            selectors('m{a="1", b!="2", c=~"3.+", d!~"4|5"}'),
            [("m", [("a", "=", "1"), ("b", "!=", "2"), ("c", "=~", "3.+"), ("d", "!~", "4|5")])],
        )

    def test_strings_hold_braces_quotes_and_names(self):
        expr = r'label_replace(m{f=~"a\"}b"}, "result", "cancelled", "result", "")'
        self.assertEqual(selectors(expr), [("m", [("f", "=~", r"a\"}b")])])

    def test_subquery_and_duration_ranges(self):
        self.assertEqual(selectors("max_over_time(rate(m[1m])[1h:5m])"), [("m", [])])


class UnknownSelections(unittest.TestCase):
    def test_what_the_service_has_passes(self):
        self.assertEqual(
            unknown('sum(rate(function_calls_total{result="error", function=~".+"}[5m])) / up'),
            [],
        )

    def test_a_misspelt_metric(self):
        self.assertEqual(
            unknown("sum(rate(function_call_total[5m])) or 0 * sum(up)"),
            ["metric function_call_total does not exist"],
        )

    def test_a_misspelt_label(self):
        self.assertEqual(
            unknown('function_calls_total{reslut="error"}'),
            ["function_calls_total has no label reslut"],
        )

    def test_a_value_no_series_has(self):
        self.assertEqual(
            unknown('function_calls_total{result="errors"}'),
            ['function_calls_total has no series with result="errors"'],
        )

    def test_regex_and_negative_matchers_are_not_values(self):
        self.assertEqual(unknown('function_calls_total{result=~"cancel.*", result!="x"}'), [])

    def test_alert_series_may_be_absent(self):
        self.assertEqual(unknown('count(ALERTS{alertstate="firing"}) or vector(0)'), [])


if __name__ == "__main__":
    unittest.main()
