"""Reading the dashboards as Grafana would: every panel (those inside rows too), every query
under a name a reader can find ("dashboard > panel > legend"), every annotation query
("dashboard > annotation name"), and Grafana's variables put into a query the way Grafana puts
them, so that the query Prometheus checks is the query Grafana sends.
"""

import json
import re

from . import DASHBOARDS

# What Grafana's own variables become here. Grafana makes $__rate_interval at least four scrape
# intervals; a little more than that keeps quantiles steady under this light traffic.
BUILTINS = {"__rate_interval": "15s", "__range": "1m", "__interval": "1s"}
# $name, ${name} and ${name:format}, as Grafana writes a variable into a query.
VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)")
# The one kind of variable query these dashboards use.
LABEL_VALUES = re.compile(r"label_values\((.*),\s*(\w+)\)")


def builtins_text():
    """The values given to Grafana's own variables, for a report's headline."""
    return ", ".join(f"${k}={v}" for k, v in BUILTINS.items())


class Unresolvable(Exception):
    """A dashboard variable this check cannot give a value."""


def load():
    """Every dashboard under ops/grafana/dashboards, by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels_of(dashboard):
    """Every panel, those inside rows included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def targets_of(dashboard, kind):
    """(where, target) for every query of data source type `kind` of every panel; `where` names
    it for a reader."""
    for panel in panels_of(dashboard):
        for target in panel.get("targets", []):
            # A query naming no data source goes to the default one, Prometheus.
            source = target.get("datasource") or panel.get("datasource") or {}
            if source.get("type", "prometheus") != kind:
                continue
            legend = target.get("legendFormat", "")
            yield f"{dashboard['title']} > {panel['title']} > {legend}", target


def queries(dashboard):
    """(where, target) for every PromQL query of every panel."""
    return targets_of(dashboard, "prometheus")


def log_queries(dashboard):
    """(where, target) for every LogQL query (Loki's) of every panel."""
    return targets_of(dashboard, "loki")


def annotation_expr(annotation):
    """An annotation's PromQL: Grafana's Prometheus data source keeps it in `target.expr`, and
    moves an older top-level `expr` there when it loads a dashboard."""
    return (annotation.get("target") or {}).get("expr") or annotation.get("expr", "")


def annotations(dashboard):
    """(where, annotation) for every Prometheus-backed annotation query of the dashboard (the
    ones with a query: Grafana's built-in annotations have none)."""
    for annotation in (dashboard.get("annotations") or {}).get("list", []):
        if annotation.get("builtIn"):
            continue
        yield f"{dashboard['title']} > annotation {annotation['name']}", annotation


def find_query(dashboard, panel_title, legend):
    """The query of `dashboard`'s panel `panel_title` drawn with `legend`, as the dashboard has
    it; KeyError when there is none, so a renamed panel fails loudly wherever it is used."""
    for panel in panels_of(dashboard):
        for target in panel.get("targets", []) if panel["title"] == panel_title else []:
            if target.get("legendFormat") == legend:
                return target["expr"]
    raise KeyError(f"{dashboard['title']}: no panel {panel_title!r} with a query {legend!r}")


def substitute(text, values):
    """`text` with each variable replaced by its value in `values`."""

    def value(match):
        name = match.group(1) or match.group(2)
        if name.isdigit():  # a regex back-reference such as label_replace's ${1}, as in Grafana
            return match.group(0)
        if name not in values:
            raise Unresolvable(f"unknown variable ${name}")
        return values[name]

    return VARIABLE.sub(value, text)


def variable_queries(dashboard):
    """(name, series selector, label) of each variable, from its `label_values(selector, label)`;
    the selector may use earlier variables."""
    for variable in dashboard["templating"]["list"]:
        match = LABEL_VALUES.fullmatch(variable["query"].strip())
        if not match:
            raise Unresolvable(
                f"variable {variable['name']}: cannot evaluate {variable['query']!r}"
            )
        yield variable["name"], match[1], match[2]
