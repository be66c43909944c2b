"""The OTLP receiver reads what the service exports: a request span with `fault.injected=true`
and a `fault.injected` event, and the request's access log record with its trace and span ids,
encoded here by hand in protobuf's wire format (opentelemetry-proto's field numbers), and posted
to it as the exporter does. Run: python3 -m unittest discover -s ops -t ops"""

import struct
import unittest
import urllib.request

from verifylib import otlp


def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, float):
        return varint(number << 3 | 1) + struct.pack("<d", value)
    value = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(value)) + value


def fixed(number, value, size=8):
    """A fixed64 (wire type 1) or fixed32 (wire type 5) field."""
    return varint(number << 3 | (1 if size == 8 else 5)) + value.to_bytes(size, "little")


def key_value(key, value):
    any_value = {
        bool: lambda: field(otlp.ANY_BOOL, int(value)),
        str: lambda: field(otlp.ANY_STRING, value),
        float: lambda: field(otlp.ANY_DOUBLE, value),
        int: lambda: field(otlp.ANY_INT, value),
    }[type(value)]()
    return field(1, key) + field(2, any_value)


TRACE_ID = bytes(range(16))
SPAN_ID = bytes(range(16, 24))


def export_request():
    event = (
        field(1, 0x1234)  # time_unix_nano is fixed64 in the proto; a varint reads the same here
        + field(2, "fault.injected")
        + field(3, key_value("fault.kind", "latency"))
        + field(3, key_value("fault.delay_ms", 480.5))
    )
    span = (
        field(1, TRACE_ID)
        + field(2, SPAN_ID)
        + field(5, "GET /snacks/")
        + field(6, otlp.SPAN_KIND_SERVER)
        + varint(7 << 3 | 1)
        + struct.pack("<Q", 1)  # start_time_unix_nano, fixed64
        + field(9, key_value("fault.injected", True))
        + field(9, key_value("http.response.status_code", 200))
        + field(11, event)
    )
    scope_spans = field(1, field(1, "snackdrawer")) + field(2, span)
    resource_spans = field(1, field(1, key_value("service.name", "snackdrawer")))
    return field(1, resource_spans + field(2, scope_spans))


LOGGED_AT = 1_764_950_400_123_456_789


def logs_export_request():
    """The access record of the span's request, and a start-up line's, outside any request."""
    access = (
        fixed(1, LOGGED_AT)  # time_unix_nano
        + fixed(11, LOGGED_AT + 5)  # observed_time_unix_nano
        + field(2, 9)  # severity_number: INFO
        + field(3, "INFO")
        + field(5, field(otlp.ANY_STRING, "request served"))
        + field(6, key_value("route", "/snacks/"))
        + field(6, key_value("status", 200))
        + field(6, key_value("duration_ms", 0.39))
        + fixed(8, 1, size=4)  # flags: sampled
        + field(9, TRACE_ID)
        + field(10, SPAN_ID)
    )
    start_up = field(2, 9) + field(3, "INFO") + field(5, field(otlp.ANY_STRING, "serving"))
    resource = field(1, field(1, key_value("service.name", "snackdrawer")))
    access_scope = field(1, field(1, "snackdrawer::access")) + field(2, access)
    start_up_scope = field(1, field(1, "snackdrawer")) + field(2, start_up)
    return field(1, resource + field(2, access_scope) + field(2, start_up_scope))


def post(receiver, path, body):
    request = urllib.request.Request(
        receiver.endpoint + path, data=body, headers={"Content-Type": "application/x-protobuf"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


class Otlp(unittest.TestCase):
    def test_reads_spans_attributes_and_events(self):
        [(trace_id, span)] = list(otlp.spans(export_request()))
        self.assertEqual(trace_id, TRACE_ID.hex())
        self.assertEqual(span.name, "GET /snacks/")
        self.assertEqual(span.kind, otlp.SPAN_KIND_SERVER)
        self.assertEqual(
            span.attributes, {"fault.injected": True, "http.response.status_code": 200}
        )
        self.assertEqual(
            span.events, [("fault.injected", {"fault.kind": "latency", "fault.delay_ms": 480.5})]
        )

    def test_reads_log_records_with_their_ids(self):
        access, start_up = otlp.log_records(logs_export_request())
        self.assertEqual(
            access,
            otlp.LogRecord(
                time_unix_nano=LOGGED_AT,
                observed_time_unix_nano=LOGGED_AT + 5,
                severity_number=9,
                severity_text="INFO",
                body="request served",
                attributes={"route": "/snacks/", "status": 200, "duration_ms": 0.39},
                trace_id=TRACE_ID.hex(),
                span_id=SPAN_ID.hex(),
                scope="snackdrawer::access",
            ),
        )
        self.assertEqual((start_up.body, start_up.scope), ("serving", "snackdrawer"))
        self.assertEqual(
            (start_up.trace_id, start_up.span_id, start_up.time_unix_nano), ("", "", 0)
        )

    def test_negative_ints_and_unknown_wire_types(self):
        self.assertEqual(otlp.any_value(field(otlp.ANY_INT, (1 << 64) - 3)), -3)
        with self.assertRaises(ValueError):
            list(otlp.fields(varint(1 << 3 | 3)))  # a group: not used by OTLP

    def test_the_receiver_keeps_spans_and_records_by_trace(self):
        shown = []
        receiver = otlp.Receiver(show=lambda path, _, received: shown.append((path, received)))
        try:
            self.assertEqual(post(receiver, "/v1/traces", export_request()), 200)
            self.assertEqual(post(receiver, "/v1/logs", logs_export_request()), 200)
            [span] = receiver.trace(TRACE_ID.hex())
            self.assertIs(span.attributes["fault.injected"], True)
            self.assertEqual(span.span_id, SPAN_ID.hex())
            traces, logs = receiver.snapshot()
            [access] = logs[TRACE_ID.hex()]
            self.assertEqual((access.body, access.span_id), ("request served", span.span_id))
            [start_up] = logs[""]
            self.assertEqual(start_up.body, "serving")
            self.assertEqual([path for path, _ in shown], ["/v1/traces", "/v1/logs"])
            self.assertEqual(receiver.problems, set())
        finally:
            receiver.stop()

    def test_the_receiver_names_what_it_could_not_read(self):
        receiver = otlp.Receiver()
        try:
            post(receiver, "/v1/logs", field(1, field(2, field(2, fixed(1, 7, size=4)))))
            post(receiver, "/v1/metrics", b"")
            self.assertEqual(len(receiver.problems), 2, receiver.problems)
            self.assertEqual(receiver.snapshot(), ({}, {}))
        finally:
            receiver.stop()


if __name__ == "__main__":
    unittest.main()
