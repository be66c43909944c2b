"""Shows that ops/verify-fleet's checks can fail: a failure that no stopping replica explains is
reported, and what the database must hold follows the acknowledged writes, deletes included.
Run: python3 -m unittest discover -s ops -t ops"""

import unittest

from verifylib.fleet import expected_rows, unexplained_failures
from verifylib.proxy import Failure, Write

STOPS = [(0, 100.0, 105.0), (1, 110.0, 115.0)]


def failure(replica, opened, at):
    return Failure(at, replica, "POST", "/drawers/", opened, "RemoteDisconnected()")


class Failures(unittest.TestCase):
    def test_a_connection_open_to_the_replica_being_stopped_explains_a_failure(self):
        self.assertEqual(unexplained_failures([failure(0, 90.0, 101.0)], STOPS), [])

    def test_another_replica_a_later_connection_or_another_time_does_not(self):
        for planted in [failure(1, 90.0, 101.0), failure(0, 102.0, 103.0), failure(0, 90.0, 107.0)]:
            self.assertEqual(unexplained_failures([planted], STOPS), [planted])


class Rows(unittest.TestCase):
    def test_writes_and_deletes_make_the_expected_rows(self):
        writes = [
            Write(1, "POST", "/auth/users", None, 201, {"id": 1, "username": "ann"}),
            Write(2, "POST", "/snacks/", None, 201, {"snack": {"id": 13, "name": "figs"}}),
            Write(3, "POST", "/drawers/", None, 201, {"drawer": {"id": 4, "name": "desk"}}),
            Write(4, "POST", "/drawers/", None, 201, {"drawer": {"id": 5, "name": "bag"}}),
            Write(5, "POST", "/drawers/4", {"snack": 13}, 201, {"message": "added"}),
            Write(6, "POST", "/drawers/4", {"snack": 1}, 201, {"message": "added"}),
            Write(7, "POST", "/drawers/5", {"snack": 1}, 201, {"message": "added"}),
            Write(8, "DELETE", "/drawers/4/snacks/1", None, 204, None),
            Write(9, "DELETE", "/drawers/5", None, 204, None),
        ]
        self.assertEqual(
            expected_rows(writes),
            {
                "users": {("1", "ann")},
                "snacks": {("13", "figs")},
                "drawers": {("4", "desk")},
                "drawer_snacks": {("4", "13")},
            },
        )


if __name__ == "__main__":
    unittest.main()
