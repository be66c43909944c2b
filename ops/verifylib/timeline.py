"""What the fault experiment saw, poll by poll, and the figures it reads off that: when a signal
first crossed its threshold, when it settled back for good, and its peak. Pure functions of the
observations, so test_timeline.py pins them without a live run.
"""

import math
import re
from datetime import datetime
from typing import NamedTuple


class Observation(NamedTuple):
    """One poll: when (Unix seconds), the dashboard's 5xx share and p95 (None: no value), the
    alerts pending or firing ({name: state}), and whether the lazy-mode annotation draws."""

    t: float
    error: float | None
    p95: float | None
    alerts: dict
    annotation: bool


def above(value, threshold):
    return value is not None and not math.isnan(value) and value > threshold


def below(value, threshold):
    """A value under the threshold; no value at all (no traffic) is not "below"."""
    return value is not None and not math.isnan(value) and value < threshold


def first(observations, since, test):
    """The time of the first observation from `since` on for which `test` holds, or None."""
    return next((o.t for o in observations if o.t >= since and test(o)), None)


def settled(observations, since, test, confirm):
    """When `test` started holding for good: the start of the last run of observations from
    `since` on for which it holds, if that run reaches the last observation and lasts at least
    `confirm` seconds; otherwise None."""
    start = None
    for o in observations:
        if o.t < since:
            continue
        if test(o):
            start = o.t if start is None else start
        else:
            start = None
    if start is None or observations[-1].t - start < confirm:
        return None
    return start


def peak(observations, since, until, field):
    """The largest value of `field` between `since` and `until`, or None."""
    values = [
        getattr(o, field)
        for o in observations
        if since <= o.t <= until and getattr(o, field) is not None
    ]
    values = [v for v in values if not math.isnan(v)]
    return max(values, default=None)


def unix_time(rfc3339):
    """Prometheus's RFC 3339 time (nanoseconds and `Z` included) as Unix seconds."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", rfc3339).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()
