"""The OTLP trace receiver reads what the service exports: a request span with
`fault.injected=true` and a `fault.injected` event, encoded here by hand in protobuf's wire format
(opentelemetry-proto's field numbers), and posted to it as the exporter does. Run: python3 -m
unittest discover -s ops -t ops"""

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


def key_value(key, value):
    any_value = {
        bool: lambda: field(otlp.ANY_BOOL, int(value)),
        str: lambda: field(otlp.ANY_STRING, value),
        float: lambda: field(otlp.ANY_DOUBLE, value),
        int: lambda: field(otlp.ANY_INT, value),
    }[type(value)]()
    return field(1, key) + field(2, any_value)


TRACE_ID = bytes(range(16))


def export_request():
    event = (
        field(1, 0x1234)  # time_unix_nano is fixed64 in the proto; a varint reads the same here
        + field(2, "fault.injected")
        + field(3, key_value("fault.kind", "latency"))
        + field(3, key_value("fault.delay_ms", 480.5))
    )
    span = (
        field(1, TRACE_ID)
        + field(2, bytes(8))
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

    def test_negative_ints_and_unknown_wire_types(self):
        self.assertEqual(otlp.any_value(field(otlp.ANY_INT, (1 << 64) - 3)), -3)
        with self.assertRaises(ValueError):
            list(otlp.fields(varint(1 << 3 | 3)))  # a group: not used by OTLP

    def test_the_receiver_keeps_spans_by_trace(self):
        receiver = otlp.Receiver()
        try:
            request = urllib.request.Request(
                receiver.endpoint + "/v1/traces",
                data=export_request(),
                headers={"Content-Type": "application/x-protobuf"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                self.assertEqual(response.status, 200)
            [span] = receiver.trace(TRACE_ID.hex())
            self.assertIs(span.attributes["fault.injected"], True)
            self.assertEqual(receiver.problems, set())
        finally:
            receiver.stop()


if __name__ == "__main__":
    unittest.main()
