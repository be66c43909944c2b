"""Shows that each check of the telemetry pipeline and of Grafana's links can fail: a derived field
that finds no trace id in a record's labels or opens no trace data source, a trace-to-logs link to
another data source or filtering on the line, exemplars opening no trace data source, a LogQL
query on a label Loki never makes, a collector exporter aimed at a wrong port or path, and a
pipeline naming a component that is not configured. Each starts from the committed files and
plants one fault. Run: python3 -m unittest discover -s ops -t ops"""

import copy
import json
import unittest

import yaml

from verifylib import GRAFANA, OPS, links

SOURCES = links.provisioned(
    yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())[
        "datasources"
    ]
)
CONFIGS = {
    name: yaml.safe_load((OPS / "telemetry" / f"{name}.yaml").read_text())
    for name in ("otel-collector", "tempo", "loki")
}
LABELS = links.loki_labels(links.SAMPLE_LINE, links.SAMPLE_RESOURCE)
TRACE_ID = json.loads(links.SAMPLE_LINE)["trace_id"]


def source(sources, uid):
    return next(s for s in sources if s["uid"] == uid)


class LokiLabels(unittest.TestCase):
    def test_a_json_line_as_loki_keeps_its_record(self):
        self.assertEqual(
            LABELS,
            {
                "service_name": "snackdrawer",
                "duration_ms": "0.390943",
                "method": "GET",
                "route": "/snacks/{id}",
                "status": "200",
                "severity_number": "9",
                "severity_text": "INFO",
                "trace_id": TRACE_ID,
                "span_id": "68e75bf4670d1caf",
                "scope_name": "snackdrawer::access",
            },
        )

    def test_a_label_field_takes_the_first_label_its_regex_finds(self):
        field = {"matcherType": "label", "matcherRegex": "trace"}
        labels = {"parent_trace": "x", "trace_id": TRACE_ID}
        self.assertEqual(links.derived_value(field, labels), "x")
        self.assertIsNone(links.derived_value({"matcherRegex": "trace_id=(\\w+)"}, labels))


class TraceLinks(unittest.TestCase):
    def problems(self, change):
        sources = copy.deepcopy(SOURCES)
        change(sources)
        return links.trace_link_problems(sources, LABELS, TRACE_ID)

    def test_the_committed_provisioning_links_every_way(self):
        self.assertEqual(self.problems(lambda s: None), [])

    def test_a_derived_field_on_the_line_finds_no_trace_id(self):
        def on_the_line(sources):
            field = source(sources, "loki")["jsonData"]["derivedFields"][0]
            field.update(matcherType="regex", matcherRegex='"trace_id":"(\\w+)"')

        [problem] = self.problems(on_the_line)
        self.assertIn("no derived field takes the trace id", problem)

    def test_a_derived_field_on_another_label_finds_no_trace_id(self):
        def span_id(sources):
            source(sources, "loki")["jsonData"]["derivedFields"][0]["matcherRegex"] = "^span_id$"

        self.assertIn("no derived field takes the trace id", self.problems(span_id)[0])

    def test_a_derived_field_opening_another_data_source(self):
        def to_prometheus(sources):
            source(sources, "loki")["jsonData"]["derivedFields"][0]["datasourceUid"] = "prometheus"

        [problem] = self.problems(to_prometheus)
        self.assertIn("opens data source prometheus, which is no provisioned trace", problem)

    def test_trace_to_logs_pointing_at_a_wrong_uid(self):
        def wrong_uid(sources):
            source(sources, "tempo")["jsonData"]["tracesToLogsV2"]["datasourceUid"] = "logs"

        self.assertEqual(
            self.problems(wrong_uid),
            ["Tempo: trace-to-logs opens logs, which is no provisioned Loki"],
        )

    def test_trace_to_logs_by_the_line_or_the_span(self):
        def line_filter(sources):
            link = source(sources, "tempo")["jsonData"]["tracesToLogsV2"]
            link.update(customQuery=False, filterByTraceID=True)

        self.assertIn("Grafana's own filters the line", self.problems(line_filter)[0])

        def span_id(sources):
            link = source(sources, "tempo")["jsonData"]["tracesToLogsV2"]
            link["query"] = link["query"].replace("__trace.traceId", "__span.spanId")

        self.assertIn("does not filter on the trace's id", self.problems(span_id)[0])

    def test_trace_to_logs_mapping_a_tag_to_no_label(self):
        def dotted(sources):
            source(sources, "tempo")["jsonData"]["tracesToLogsV2"]["tags"] = ["service.name"]

        problems = self.problems(dotted)
        self.assertIn("maps tags to ['service.name'], labels the record does not have", problems[0])

    def test_exemplars_opening_no_trace_data_source(self):
        def to_loki(sources):
            link = source(sources, "prometheus")["jsonData"]["exemplarTraceIdDestinations"][0]
            link["datasourceUid"] = "loki"

        [problem] = self.problems(to_loki)
        self.assertIn("exemplars open data source loki", problem)


class LogQueries(unittest.TestCase):
    def test_labels_loki_never_makes(self):
        self.assertEqual(links.log_query_problems('{service_name="x"} | route="/a"', LABELS), [])
        self.assertEqual(
            links.log_query_problems('{service="x"} | http_route="/a" | status=~"5.."', LABELS),
            ["service is no label of the record", "http_route is no label of the record"],
        )

    def test_a_query_that_does_not_select_the_record(self):
        [problem] = links.log_query_problems(
            '{service_name="snackdrawer"} | trace_id="0"', LABELS, selects=True
        )
        self.assertIn('trace_id="0" does not select the record', problem)


class Collector(unittest.TestCase):
    def problems(self, change):
        configs = copy.deepcopy(CONFIGS)
        change(configs)
        ports = links.listening(configs["otel-collector"], configs["tempo"], configs["loki"])
        return links.collector_problems(configs["otel-collector"], ports)

    def test_the_committed_configurations_meet(self):
        self.assertEqual(self.problems(lambda c: None), [])

    def test_loki_listening_elsewhere(self):
        def moved(configs):
            configs["loki"]["server"]["http_listen_port"] = 3101

        [problem] = self.problems(moved)
        self.assertIn(
            "otlphttp/loki sends logs to loki:3100, where loki has no http listener", problem
        )

    def test_loki_s_push_api_instead_of_its_otlp_endpoint(self):
        def push(configs):
            configs["otel-collector"]["exporters"]["otlphttp/loki"][
                "endpoint"
            ] = "http://loki:3100/loki/api/v1/push"

        self.assertIn("not to the path /otlp", self.problems(push)[0])

    def test_traces_sent_to_tempo_s_query_port(self):
        def query_port(configs):
            configs["otel-collector"]["exporters"]["otlp/tempo"]["endpoint"] = "tempo:3200"

        self.assertIn("where tempo has no otlp-grpc listener", self.problems(query_port)[0])

    def test_a_pipeline_naming_an_unconfigured_component(self):
        def unconfigured(configs):
            configs["otel-collector"]["service"]["pipelines"]["logs"]["processors"].append("filter")

        self.assertEqual(
            self.problems(unconfigured), ["pipeline logs: filter is no configured processor"]
        )

    def test_a_logs_pipeline_without_loki(self):
        def debug(configs):
            configs["otel-collector"]["exporters"]["debug"] = {}
            configs["otel-collector"]["service"]["pipelines"]["logs"]["exporters"] = ["debug"]

        self.assertEqual(
            self.problems(debug), ["no otlphttp exporter of the logs pipeline reaches loki"]
        )


if __name__ == "__main__":
    unittest.main()
