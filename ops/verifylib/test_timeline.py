"""The figures ops/verify-faults reads off its polls: first crossing, settling back for good, the
peak. Run: python3 -m unittest discover -s ops -t ops"""

import math
import unittest

from verifylib.timeline import Observation, above, below, first, peak, settled, unix_time


def seen(*errors):
    """One observation a second with these 5xx shares."""
    return [Observation(float(t), e, None, {}, False) for t, e in enumerate(errors)]


class Timeline(unittest.TestCase):
    def test_above_and_below_need_a_value(self):
        self.assertTrue(above(0.2, 0.1))
        self.assertFalse(above(None, 0.1))
        self.assertFalse(above(math.nan, 0.1))
        self.assertFalse(below(None, 0.1), "no traffic is not a recovery")
        self.assertFalse(below(math.nan, 0.1))
        self.assertFalse(below(0.1, 0.1))

    def test_first_crossing_from_a_time_on(self):
        observations = seen(0.5, 0, 0, 0.2, 0.3)
        over = lambda o: above(o.error, 0.1)  # noqa: E731
        self.assertEqual(first(observations, 0, over), 0)
        self.assertEqual(first(observations, 1, over), 3)
        self.assertIsNone(first(observations, 5, over))

    def test_settled_is_the_start_of_the_last_run_and_must_last(self):
        observations = seen(0.3, 0, 0, 0.2, 0, 0, 0, 0)
        calm = lambda o: below(o.error, 0.1)  # noqa: E731
        self.assertEqual(settled(observations, 0, calm, confirm=3), 4, "the dip at 1-2 is not it")
        self.assertIsNone(settled(observations, 0, calm, confirm=4))
        self.assertIsNone(settled(seen(0, 0, 0.5), 0, calm, confirm=0), "not calm at the end")

    def test_peak_within_a_span(self):
        observations = seen(0.9, 0.1, None, math.nan, 0.4, 0.2)
        self.assertEqual(peak(observations, 1, 5, "error"), 0.4)
        self.assertIsNone(peak(observations, 2, 3, "error"))

    def test_prometheus_times(self):
        self.assertEqual(unix_time("1970-01-01T00:01:40.5Z"), 100.5)
        self.assertAlmostEqual(unix_time("2026-12-01T19:25:08.123456789Z") % 60, 8.123456)


if __name__ == "__main__":
    unittest.main()
