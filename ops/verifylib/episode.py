"""A lazy-mode episode recorded live, replayed against the production rules by `promtool test
rules`: the real request counters of an ops/verify-faults run become the input series of a rules
test, one sample a minute for each sample a second, so the production windows (5 m, 1 h...) see
what the overlay's windows (5 s, 1 m...) saw live. Its expectations are the alert states the
live run observed: quiet before lazy mode, the fast-burn alerts firing when it was turned off,
quiet again once it recovered. ops/verify-faults checks each run's own episode this way, and
`ops/verify-faults --record` commits one as ops/prometheus/rules_test_lazy.yml, which ops/verify
runs with the other rules tests, so the alerts keep firing on a lazy episode without a live run.
"""

import yaml

INTERVAL = "1m"  # one test sample a minute for each live sample a second: overlay.SCALE


def number(value):
    if value is None:
        return "_"  # no sample at this step (the series did not exist yet)
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def series_name(metric, labels):
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}" if inner else metric


def alerts_of(rules):
    return {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}


def rules_test(series, points, rules, header, rule_file="rules.yml"):
    """The text of a promtool rules test. `series` is [(metric, labels, [value or None a
    minute])]; `points` is [(minute, what, {alert name: firing?})]; `rules` the production rule
    groups, whose labels and annotations the firing alerts must carry; `header` a comment."""
    alerts = alerts_of(rules)
    checks = []
    for minute, what, expected in points:
        for name, firing in sorted(expected.items()):
            rule = alerts[name]
            exp = [
                {
                    "exp_labels": dict(rule.get("labels", {})),
                    "exp_annotations": dict(rule.get("annotations", {})),
                }
            ]
            checks.append(
                {
                    "eval_time": f"{minute}m",
                    "alertname": name,
                    "exp_alerts": exp if firing else [],
                    "_what": what,
                }
            )
    document = {
        "rule_files": [rule_file],
        "evaluation_interval": INTERVAL,
        "tests": [
            {
                "interval": INTERVAL,
                "input_series": [
                    {"series": series_name(m, labels), "values": " ".join(map(number, values))}
                    for m, labels, values in series
                ],
                "alert_rule_test": checks,
            }
        ],
    }
    text = yaml.safe_dump(document, sort_keys=False, width=100000, allow_unicode=True)
    # What each check is about, as a comment above it (promtool rejects unknown keys).
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("_what: "):
            continue
        if stripped.startswith("- eval_time: "):
            what = next(c["_what"] for c in checks if f"- eval_time: {c['eval_time']}" == stripped)
            lines.append(f"{line[: len(line) - len(stripped)]}# {what}")
        lines.append(line)
    return header + "\n".join(lines) + "\n"
