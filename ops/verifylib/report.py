"""What ops/verify prints, and the failures it counts. Every check reports through here, so one
run ends with one verdict: how many checks failed, or "all passed"."""

from typing import NamedTuple

failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL {message}")


def ok(message):
    print(f"ok   {message}")


def section(title):
    print(f"\n== {title}", flush=True)


class Result(NamedTuple):
    """One checked query: where it comes from, how many series with a value it returned (one
    count per assignment of the dashboard's variables), and what is wrong with it."""

    where: str
    counts: list
    problems: list
    expr: str = ""


def report(title, results):
    """A table of `results`, each problem counted as a failure."""
    section(title)
    print("series  query")
    for result in results:
        low, high = min(result.counts, default="-"), max(result.counts, default="-")
        series = f"{low}" if low == high else f"{low}-{high}"
        values = f"  [{len(result.counts)} variable values]" if len(result.counts) > 1 else ""
        print(f"{series:>6}  {result.where}{values}")
        if result.expr:
            print(f"{'':8}{result.expr}")
        for problem in result.problems:
            fail(f"{result.where}: {problem}")
