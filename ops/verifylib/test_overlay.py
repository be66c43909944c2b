"""The rules overlay of ops/verify-faults: every window and `for` of the production rules divided
by 60, nothing else changed; what it cannot scale it refuses. Run: python3 -m unittest discover
-s ops -t ops"""

import unittest

import yaml

from verifylib import RULES, overlay


class Durations(unittest.TestCase):
    def test_reads_and_writes_prometheus_durations(self):
        self.assertEqual(overlay.seconds("5m"), 300)
        self.assertEqual(overlay.seconds("1h30m"), 5400)
        self.assertEqual(overlay.duration(86400), "1d")
        self.assertEqual(overlay.duration(90), "90s")
        for bad in ("", "5", "m5", "5 m", "5mx"):
            with self.assertRaises(ValueError, msg=bad):
                overlay.seconds(bad)

    def test_scales_by_sixty(self):
        scaled = {w: overlay.scaled(w) for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")}
        self.assertEqual(
            scaled,
            {
                "5m": "5s",
                "30m": "30s",
                "1h": "1m",
                "2h": "2m",
                "6h": "6m",
                "1d": "24m",
                "3d": "72m",
            },
        )
        with self.assertRaises(ValueError):
            overlay.scaled("90s")  # 1.5 s: not a whole number of seconds


class Overlay(unittest.TestCase):
    def test_only_windows_change(self):
        expr = 'sum(rate(m{code=~"5.."}[5m])) / sum(rate(m[1h])) > 14.4 * 0.001'
        self.assertEqual(
            overlay.scale_expr(expr),
            'sum(rate(m{code=~"5.."}[5s])) / sum(rate(m[1m])) > 14.4 * 0.001',
        )

    def test_refuses_what_it_cannot_scale(self):
        for expr in ("rate(m[5m] offset 1h)", "max_over_time(rate(m[5m])[1h:1m])", "m @ 100"):
            with self.assertRaises(ValueError, msg=expr):
                overlay.scale_expr(expr)

    def test_the_production_rules(self):
        rules = yaml.safe_load(RULES.read_text())
        scaled = overlay.overlay(rules)
        pairs = [
            (r, s)
            for g, h in zip(rules["groups"], scaled["groups"])
            for r, s in zip(g["rules"], h["rules"])
        ]
        self.assertTrue(pairs)
        for rule, short in pairs:
            self.assertEqual(rule.get("record"), short.get("record"))
            self.assertEqual(rule.get("alert"), short.get("alert"))
            self.assertEqual(rule.get("labels"), short.get("labels"))
            self.assertEqual(rule.get("annotations"), short.get("annotations"))
            # The expression differs only inside the brackets of its windows.
            self.assertEqual(
                overlay.RANGE.sub("[]", rule["expr"]), overlay.RANGE.sub("[]", short["expr"])
            )
            for window, new in zip(
                overlay.RANGE.findall(rule["expr"]), overlay.RANGE.findall(short["expr"])
            ):
                self.assertEqual(overlay.seconds(window), 60 * overlay.seconds(new))
            if "for" in rule:
                self.assertEqual(overlay.seconds(rule["for"]), 60 * overlay.seconds(short["for"]))
        self.assertIn("5m -> 5s", overlay.header(rules))
        self.assertIn("1h -> 1m", overlay.header(rules))


if __name__ == "__main__":
    unittest.main()
