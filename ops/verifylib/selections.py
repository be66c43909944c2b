"""What a PromQL query selects (metric names and label matchers), and whether the service has it.

Prometheus answers a query that names a metric or label the service does not have with no error
and no data, and a dashboard idiom such as `x or 0 * y` turns that silence into a believable
0. So each selector of a query is looked up on its own.

Prometheus 2.42, the one Debian ships, has no way to list a query's selectors (no parse_query
endpoint, no `promtool promql`), so they are found here with regular expressions. Every query
reaching them has been parsed by Prometheus (`promtool check rules`, then the live query API), so
they need to read valid PromQL only; test_selections.py pins what they find in each idiom the
dashboards and rules use, and that a misspelt name is reported.
"""

import re

# `name{matchers}` and `{matchers}`; a matcher value may hold braces and escaped quotes.
SELECTOR = re.compile(r'([A-Za-z_:][\w:]*)?\s*\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}')
MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
# What may look like a bare metric name and is not: strings, ranges, and grouping label lists.
NOT_SELECTORS = re.compile(
    r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)'
)
# A name not followed by `(` (a function's) that is not a metric either.
KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "inf",
    "nan",
}
# Series Prometheus writes only while an alert is pending or firing: absent is right here.
ONLY_WHILE_ALERTING = {"ALERTS", "ALERTS_FOR_STATE"}


def selectors(expr):
    """(metric name or "", [(label, operator, value)]) for each selector in `expr`."""
    found = [(name, MATCHER.findall(body)) for name, body in SELECTOR.findall(expr)]
    rest = NOT_SELECTORS.sub(" ", SELECTOR.sub(" ", expr))
    for name in re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)\b(?!\s*\()", rest):
        if name.lower() not in KEYWORDS:
            found.append((name, []))
    return found


def unknown_selections(series, expr):
    """What `expr` selects that the service does not have: metrics, label names, and values of
    `=` matchers. `series(name)` gives the label sets of the metric's series."""
    problems = []
    for name, matchers in selectors(expr):
        if name in ONLY_WHILE_ALERTING:
            continue
        found = series(name)
        if not found:
            problems.append(f"metric {name} does not exist")
            continue
        for label, op, value in matchers:
            values = {s.get(label) for s in found}  # None: a series without the label
            if values == {None} and value:
                problems.append(f"{name} has no label {label}")
            elif op == "=" and (re.sub(r"\\(.)", r"\1", value) or None) not in values:
                problems.append(f'{name} has no series with {label}="{value}"')
    return problems
