"""ops/verify-incidents reads the catalogue from the source: every incident it finds must have a
signature and an event here, and a plan that is not empty."""

import unittest

from verifylib import incidents


class Catalogue(unittest.TestCase):
    def test_every_incident_of_the_source_has_its_signature_and_event(self):
        found = incidents.catalogue()
        names = [name for name, _ in found]
        self.assertEqual(sorted(names), sorted(incidents.SIGNATURES))
        self.assertEqual(sorted(names), sorted(incidents.EVENTS))
        # Every incident is photographed but log-flood, whose picture is its lines.
        self.assertEqual(sorted(names), sorted([*incidents.PICTURES, "log-flood"]))
        self.assertTrue(all(plan.strip() for _, plan in found))
        plans = dict(found)
        self.assertEqual(plans["broken-drawer-page"], "GET /drawers/{id} error=internal p=0.3")

    def test_a_relative_signature_is_measured_from_the_start(self):
        cpu = incidents.SIGNATURES["cpu-hog"]
        self.assertTrue(incidents.crossed(cpu, 1.0, 0.4))
        self.assertFalse(incidents.crossed(cpu, 1.0, 0.6))
        self.assertFalse(incidents.crossed(cpu, None, 0.0))
        share = incidents.SIGNATURES["broken-drawer-page"]
        self.assertTrue(incidents.crossed(share, 0.2, 0.15), "absolute: the start does not count")


if __name__ == "__main__":
    unittest.main()
