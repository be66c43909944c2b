"""ops/verify-incidents reads the catalogue from the source: every incident it finds must have a
signature and an event here, and a plan that is not empty. `one-unlucky-user`'s traces must
show one user's drawer calls failing and another's served: a fault on two users' calls (the
whole port failing) is refused."""

import unittest

from verifylib import incidents
from verifylib.otlp import SPAN_KIND_SERVER, LogRecord, Span

DRAWERS = incidents.EVENTS["one-unlucky-user"][1]
INCIDENT = range(1_000, 2_000)  # while the plan was in, in nanoseconds


def request(user, status, fault=False, start=1_500):
    """The spans of one `GET /drawers/` of `user`, begun at `start`, answered `status`, its
    drawer call faulted when `fault`, as the service exports them (the status as text, the
    user as an int)."""
    events = [("fault.injected", {"fault.kind": "internal"})] if fault else []
    function = {"code.function.name": f"{DRAWERS}list_by_owner"}
    call = Span("SELECT drawers", 3, function, events, "02", start + 1)  # kind 3: client
    attributes = {"enduser.id": user, "http.response.status_code": str(status)}
    return [call, Span("GET /drawers/", SPAN_KIND_SERVER, attributes, [], "01", start)]


def traces(*requests):
    return {f"{n:032x}": spans for n, spans in enumerate(requests)}


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


def log(severity, **attributes):
    return LogRecord(0, 0, 0, severity, "injected a fault on purpose", attributes, "", "", "")


class Events(unittest.TestCase):
    def test_a_process_fault_is_seen_by_its_warn_record_alone(self):
        exported = incidents.Exported()
        process = {"fault.target": "process", "fault.kind": "cpu"}
        exported("/v1/logs", {}, [(None, log("WARN", **process)), (None, log("INFO", **process))])
        exported("/v1/logs", {}, [(None, log("WARN", **{"fault.kind": "leak"}))])
        self.assertEqual(exported.count(*incidents.EVENTS["cpu-hog"]), 1)
        self.assertEqual(exported.count(*incidents.EVENTS["memory-leak"]), 0)
        self.assertEqual(exported.warns, 2)

    def test_a_faulted_port_call_counts_for_its_target(self):
        exported = incidents.Exported()
        call = request(2, 500, fault=True)[0]
        target = f"{DRAWERS}list_by_owner"
        event = ("fault.injected", {"fault.kind": "internal", "fault.target": target})
        exported("/v1/traces", {}, [(None, call._replace(events=[event]))])
        self.assertEqual(exported.count(*incidents.EVENTS["one-unlucky-user"]), 1)
        self.assertEqual(exported.count(*incidents.EVENTS["broken-drawer-page"]), 0)


class OneUser(unittest.TestCase):
    def test_one_user_failing_while_another_is_served_passes(self):
        seen = traces(
            request(1, 500, True), request(1, 500, True), request(2, 200), request(3, 404)
        )
        line, problems = incidents.one_user(seen, 1, DRAWERS, INCIDENT)
        self.assertEqual(problems, [])
        self.assertIn("enduser.id 1 (2 requests)", line)
        self.assertIn("2 other users (2 requests)", line)

    def test_two_users_failing_is_refused(self):
        seen = traces(request(1, 500, True), request(2, 500, True), request(3, 200))
        _, problems = incidents.one_user(seen, 1, DRAWERS, INCIDENT)
        self.assertEqual(
            problems,
            [f"faults were injected into {DRAWERS}… calls with enduser.id 1, 2, not 1 alone"],
        )

    def test_nobody_else_served_is_refused(self):
        """Other users' requests failing on their own (a 5xx without a fault) serve nobody."""
        seen = traces(request(1, 500, True), request(2, 503), request(1, 200))
        _, problems = incidents.one_user(seen, 1, DRAWERS, INCIDENT)
        self.assertEqual(problems, [f"no other user's {DRAWERS}… call was served meanwhile"])

    def test_requests_begun_before_or_after_the_incident_do_not_count(self):
        """A batch exported late, or a request just after the plan went, proves nothing."""
        seen = traces(
            request(1, 500, True), request(2, 200, start=999), request(3, 200, start=2_000),
            request(2, 500, True, start=500),
        )
        _, problems = incidents.one_user(seen, 1, DRAWERS, INCIDENT)
        self.assertEqual(problems, [f"no other user's {DRAWERS}… call was served meanwhile"])


if __name__ == "__main__":
    unittest.main()
