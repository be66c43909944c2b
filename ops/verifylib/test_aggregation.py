"""Shows that the fleet check of ops/verify can fail: per-replica series under one legend, a sum
that is not what the replicas add up to, and a share outside the replicas' own; and that every
selector of the dashboards' idioms is restricted to one replica.
Run: python3 -m unittest discover -s ops -t ops"""

import unittest

from verifylib.aggregation import problems, restrict

I = 'instance="a:1"'
A, B, C = "a:1", "b:1", "c:1"


def vector(**by_route):
    return {frozenset({("route", r)}): v for r, v in by_route.items()}


class Restrict(unittest.TestCase):
    def test_every_selector_gets_the_matcher(self):
        cases = {
            "sum(rate(m[5m]))": f"sum(rate(m{{{I}}}[5m]))",
            'sum by (le) (rate(m_bucket{le="0.25"}[15s]))': (
                f'sum by (le) (rate(m_bucket{{le="0.25", {I}}}[15s]))'
            ),
            '(sum(rate(m{c=~"5.."}[1m])) or 0 * sum(rate(m[1m]))) / sum(rate(m[1m]))': (
                f'(sum(rate(m{{c=~"5..", {I}}}[1m])) or 0 * sum(rate(m{{{I}}}[1m]))) '
                f"/ sum(rate(m{{{I}}}[1m]))"
            ),
            "snackdrawer:ratio_rate5m / 0.001": f"snackdrawer:ratio_rate5m{{{I}}} / 0.001",
            "count(ALERTS{a=\"b\"}) or vector(0)": f'count(ALERTS{{a="b", {I}}}) or vector(0)',
        }
        for expr, restricted in cases.items():
            self.assertEqual(restrict(expr, "instance", "a:1"), restricted)


class Problems(unittest.TestCase):
    def test_a_sum_that_is_the_replicas_sum_passes(self):
        parts = {A: vector(x=1.0, y=2.0), B: vector(x=3.0), C: vector(x=0.5, y=1.0)}
        expr = "sum by (route) (rate(m[1m]))"
        self.assertEqual(problems(expr, "", vector(x=4.5, y=3.0), parts), [])

    def test_a_label_value_with_a_slash_is_no_ratio(self):
        expr = 'sum by (route) (rate(m{function="POST /drawers/{id}"}[1m]))'
        parts = {A: vector(x=1.0), B: vector(x=3.0), C: vector(x=0.5)}
        self.assertEqual(problems(expr, "", vector(x=4.5), parts), [])
        self.assertNotEqual(problems(expr, "", vector(x=3.0), parts), [])

    def test_a_top_k_checks_only_what_every_replica_kept(self):
        expr = "topk(2, sum by (route) (rate(m[1m])))"
        parts = {A: vector(x=1.0, y=2.0), B: vector(x=3.0, z=9.0), C: vector(x=0.5, y=1.0)}
        self.assertEqual(problems(expr, "", vector(x=4.5, y=3.0), parts), [])
        self.assertNotEqual(problems(expr, "", vector(x=4.0, y=3.0), parts), [])

    def test_a_sum_the_replicas_do_not_add_up_to_fails(self):
        parts = {A: vector(x=1.0), B: vector(x=3.0), C: vector(x=0.5)}
        found = problems("sum by (route) (rate(m[1m]))", "", vector(x=3.0), parts)
        self.assertEqual(found, ['{route="x"}: 3 over the fleet, the replicas add up to 4.5'])

    def test_a_share_between_the_replicas_passes_and_one_outside_fails(self):
        expr = "sum(rate(e[1m])) / avg(rate(m[1m]))"
        parts = {A: vector(x=0.1), B: vector(x=0.3), C: vector(x=0.2)}
        self.assertEqual(problems(expr, "", vector(x=0.25), parts), [])
        found = problems(expr, "", vector(x=0.6), parts)
        self.assertEqual(
            found, ['{route="x"}: 0.6 over the fleet, outside the replicas\' 0.1..0.3']
        )

    def test_per_replica_series_need_the_instance_in_their_legend(self):
        whole = {frozenset({("instance", A)}): 1.0, frozenset({("instance", B)}): 0.0}
        self.assertEqual(problems("snackdrawer_lazy_mode", "lazy {{instance}}", whole, {}), [])
        self.assertEqual(
            problems("snackdrawer_lazy_mode", "lazy mode level", whole, {}),
            [
                "its series are per replica (they carry `instance`) and its legend does not "
                "say which"
            ],
        )


if __name__ == "__main__":
    unittest.main()
