"""What ops/pictures requires of the lab's screen (LAB_SHOWS): the screen in the docs, which it
printed, shows all of it; that screen with a page quiet, no trace received or another
Prometheus is refused. Run: python3 -m unittest discover -s ops -t ops"""

import re
import unittest

from . import ROOT
from .pictures import lab_missing

SCREEN = (ROOT / "docs" / "img" / "lab.txt").read_text()
PROMETHEUS = re.search(r"read from Prometheus at (\S+)", SCREEN)[1]
OTLP = re.search(r"^TRACES .* from http://(\S+)", SCREEN, re.M)[1]


class LabScreen(unittest.TestCase):
    def test_the_screen_in_the_docs_shows_everything(self):
        self.assertEqual(lab_missing(SCREEN, PROMETHEUS, OTLP), [])

    def test_a_quiet_page_or_no_trace_is_refused(self):
        quiet = re.sub(r"^(latency .*fast page: )FIRING", r"\1ok", SCREEN, flags=re.M)
        self.assertEqual(lab_missing(quiet, PROMETHEUS, OTLP), ["the latency page firing"])
        empty = re.sub(r"^TRACES \d+ kept", "TRACES 0 kept", SCREEN, flags=re.M)
        self.assertEqual(lab_missing(empty, PROMETHEUS, OTLP), ["the service's traces"])

    def test_the_burn_rates_must_come_from_the_runs_prometheus(self):
        elsewhere = "http://127.0.0.1:1"
        self.assertEqual(
            lab_missing(SCREEN, elsewhere, OTLP), ["the burn rates from Prometheus"]
        )


if __name__ == "__main__":
    unittest.main()
