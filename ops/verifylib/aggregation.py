"""Whether the dashboards read right over a fleet: with several replicas scraped, each an
`instance` of the job, every dashboard query must either aggregate the replicas into one answer
or tell them apart, and an aggregate must be what the replicas add up to.

- A query whose series carry `instance` must name it in its legend (`{{instance}}`): otherwise
  Grafana draws one line per replica under one name, which reads as noise.
- A query of sums (no ratio, quantile, average, count, least or greatest in it; a top-k of sums
  is one) must equal the sum over the replicas of the same query restricted to each
  (`instance="…"` added to every selector), evaluated at the same instant: a replica counted
  twice (a join that duplicates series), a total scaled by a constant, or a selector the
  restriction misses, fails.
- Any other query (a share, a quantile, a burn rate, an average) must lie between the least and
  the greatest of the replicas' own values, as a weighted mean does: a share whose numerator and
  denominator cover different replicas (`sum(errors) / avg(all)`), fails. An `avg` or `max` over
  replicas is taken at its word: whether a panel should sum instead is for its author to say.

Recorded series (rules' results) carry no `instance` and are checked through the rules'
own expressions instead.
"""

import math
import re

from .selections import KEYWORDS, NOT_SELECTORS, SELECTOR

# What makes a query other than a sum. Not topk/bottomk: they keep the values they pick.
NON_ADDITIVE = re.compile(r"/|histogram_quantile|\b(avg|max|min|count|quantile|stddev)\b")
SELECTIVE = re.compile(r"\b(topk|bottomk)\b")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
TOLERANCE = 1e-6


def restrict(expr, label, value):
    """`expr` with `label="value"` added to every selector, bare metric names included."""
    matcher = f'{label}="{value}"'
    out, last = [], 0
    # Selectors with braces first; the bare names are found in the text between them.
    for match in SELECTOR.finditer(expr):
        out.append(restrict_bare(expr[last : match.start()], matcher))
        name, body = match.group(1) or "", match.group(2).strip()
        out.append(f"{name}{{{body + ', ' if body else ''}{matcher}}}")
        last = match.end()
    out.append(restrict_bare(expr[last:], matcher))
    return "".join(out)


def restrict_bare(text, matcher):
    """Bare metric names in `text` (no braces) get `{matcher}`; strings, ranges, label lists,
    keywords and function names are left alone."""
    masked = NOT_SELECTORS.sub(lambda m: " " * len(m.group(0)), text)
    out, last = [], 0
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)\b(?!\s*\()", masked):
        if match.group(1).lower() in KEYWORDS:
            continue
        out.append(text[last : match.end()] + f"{{{matcher}}}")
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def where(labels):
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"


def additive(expr):
    """True for a query of sums alone; label values (`function="POST /snacks/"`) do not count."""
    return not NON_ADDITIVE.search(STRING.sub('""', expr))


def by_labels(result):
    """{frozenset of labels: value} of an instant query's vector, NaNs left out."""
    return {
        frozenset(s["metric"].items()): float(s["value"][1])
        for s in result
        if not math.isnan(float(s["value"][1]))
    }


def problems(expr, legend, whole, parts):
    """What is wrong with `expr` over a fleet. `whole`: its vector over every replica; `parts`:
    {instance: its vector restricted to that replica}, all at one instant."""
    if any(key == "instance" for labels in whole for key, _ in labels):
        return [] if "{{instance}}" in (legend or "") else [
            "its series are per replica (they carry `instance`) and its legend does not say which"
        ]
    found = []
    # A replica's own top ten may leave out a series the fleet's has: check only the series
    # every replica kept.
    selective = SELECTIVE.search(STRING.sub('""', expr))
    for labels, value in whole.items():
        values = [part[labels] for part in parts.values() if labels in part]
        if not values or (selective and len(values) < len(parts)):
            continue
        if additive(expr):
            total = sum(values)
            if abs(value - total) > TOLERANCE * max(1.0, abs(total)):
                found.append(
                    f"{where(labels)}: {value:g} over the fleet, the replicas add up to {total:g}"
                )
        elif len(values) == len(parts):
            low, high = min(values), max(values)
            slack = TOLERANCE * max(1.0, abs(low), abs(high))
            if not low - slack <= value <= high + slack:
                found.append(
                    f"{where(labels)}: {value:g} over the fleet, outside the replicas' "
                    f"{low:g}..{high:g}"
                )
    return found

