"""The part of Prometheus's HTTP API the live checks ask: instant and range queries, series,
label values, targets, rules, alerts and exemplars. A query "has data" only where a sample is a
number: a NaN draws nothing in Grafana.
"""

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request


class Prometheus:
    def __init__(self, url):
        self.url = url
        self.series_cache = {}

    def get(self, endpoint, **params):
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(
                f"{self.url}/api/v1/{endpoint}?{query}", timeout=10
            ) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            return json.load(error)

    def query(self, expr):
        """(series with a value, error). A NaN sample draws nothing in Grafana: not data."""
        answer = self.get("query", query=expr)
        if answer["status"] != "success":
            return 0, answer.get("error", "failed")
        data = answer["data"]
        samples = (
            [data["result"]]
            if data["resultType"] == "scalar"
            else [s["value"] for s in data["result"]]
        )
        return sum(not math.isnan(float(value)) for _, value in samples), None

    def series(self, metric):
        if metric not in self.series_cache:
            self.series_cache[metric] = self.get(
                "series", **{"match[]": metric, "start": time.time() - 600}
            )["data"]
        return self.series_cache[metric]

    def label_values(self, selector, label):
        return self.get(
            f"label/{label}/values", **{"match[]": selector, "start": time.time() - 600}
        )["data"]

    def values(self, expr):
        """The numbers an instant query returns now, NaN ones left out; raises on an error."""
        answer = self.get("query", query=expr)
        if answer["status"] != "success":
            raise RuntimeError(f"{expr}: {answer.get('error')}")
        result = answer["data"]["result"]
        if answer["data"]["resultType"] == "scalar":
            result = [{"value": result}]
        numbers = [float(s["value"][1]) for s in result]
        return [n for n in numbers if not math.isnan(n)]

    def active_alerts(self):
        """alert name -> (state, activeAt) for every alert pending or firing now."""
        return {
            a["labels"]["alertname"]: (a["state"], a.get("activeAt"))
            for a in self.get("alerts")["data"]["alerts"]
        }

    def range(self, expr, start, end, step=1):
        """[(labels, {timestamp: value})] of a range query; raises on an error."""
        answer = self.get("query_range", query=expr, start=start, end=end, step=step)
        if answer["status"] != "success":
            raise RuntimeError(f"{expr}: {answer.get('error')}")
        return [
            (s["metric"], {float(t): float(v) for t, v in s["values"]})
            for s in answer["data"]["result"]
        ]
