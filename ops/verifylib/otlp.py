"""A trace receiver just big enough to follow an exemplar to its trace: an OTLP/HTTP endpoint
(`POST /v1/traces`, protobuf, what the service exports with OTEL_EXPORTER_OTLP_ENDPOINT) that
keeps, per trace id, each span's name, attributes and events. There is no Jaeger on these
machines and no protobuf module in the standard library, so the few messages needed are read
straight off the wire format (opentelemetry-proto's trace.proto field numbers below);
test_otlp.py checks the reader on a message built by hand.
"""

import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

# opentelemetry/proto/collector/trace/v1 and trace/v1, common/v1: field numbers.
REQUEST_RESOURCE_SPANS = 1
RESOURCE_SPANS_SCOPE_SPANS = 2
SCOPE_SPANS_SPANS = 2
SPAN_TRACE_ID, SPAN_NAME, SPAN_KIND, SPAN_ATTRIBUTES, SPAN_EVENTS = 1, 5, 6, 9, 11
EVENT_NAME, EVENT_ATTRIBUTES = 2, 3
KEY_VALUE_KEY, KEY_VALUE_VALUE = 1, 2
ANY_STRING, ANY_BOOL, ANY_INT, ANY_DOUBLE = 1, 2, 3, 4
SPAN_KIND_SERVER = 2


class Span(NamedTuple):
    name: str
    kind: int
    attributes: dict
    events: list  # (name, attributes)


def varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data):
    """(field number, value) for each field of a protobuf message: an int for a varint, bytes
    for a length-delimited field or a fixed 64/32-bit one."""
    at = 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 1:
            value, at = data[at : at + 8], at + 8
        elif wire == 2:
            length, at = varint(data, at)
            value, at = data[at : at + length], at + length
        elif wire == 5:
            value, at = data[at : at + 4], at + 4
        else:
            raise ValueError(f"wire type {wire} is not read here")
        yield number, value


def any_value(data):
    for number, value in fields(data):
        if number == ANY_STRING:
            return value.decode()
        if number == ANY_BOOL:
            return bool(value)
        if number == ANY_INT:
            return value - (1 << 64) if value >= 1 << 63 else value
        if number == ANY_DOUBLE:
            return struct.unpack("<d", value)[0]
    return None


def attributes(messages):
    found = {}
    for message in messages:
        parts = dict(fields(message))
        found[parts[KEY_VALUE_KEY].decode()] = any_value(parts.get(KEY_VALUE_VALUE, b""))
    return found


def span(data):
    trace_id, name, kind, attrs, events = b"", "", 0, [], []
    for number, value in fields(data):
        if number == SPAN_TRACE_ID:
            trace_id = value
        elif number == SPAN_NAME:
            name = value.decode()
        elif number == SPAN_KIND:
            kind = value
        elif number == SPAN_ATTRIBUTES:
            attrs.append(value)
        elif number == SPAN_EVENTS:
            event_name, event_attrs = "", []
            for n, v in fields(value):
                if n == EVENT_NAME:
                    event_name = v.decode()
                elif n == EVENT_ATTRIBUTES:
                    event_attrs.append(v)
            events.append((event_name, attributes(event_attrs)))
    return trace_id.hex(), Span(name, kind, attributes(attrs), events)


def spans(request):
    """(trace id in hex, Span) for every span of an ExportTraceServiceRequest."""
    for number, resource_spans in fields(request):
        if number != REQUEST_RESOURCE_SPANS:
            continue
        for n, scope_spans in fields(resource_spans):
            if n != RESOURCE_SPANS_SCOPE_SPANS:
                continue
            for m, data in fields(scope_spans):
                if m == SCOPE_SPANS_SPANS:
                    yield span(data)


class Receiver(ThreadingHTTPServer):
    """Listens on a loopback port; `traces` maps each trace id to its spans. Log records (the
    service exports them beside its spans) are counted by export, not read."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.traces = {}
        self.log_exports = 0
        self.problems = set()
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trace(self, trace_id):
        with self.lock:
            return list(self.traces.get(trace_id, []))

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/logs" and "gzip" not in self.headers.get("Content-Encoding", ""):
            with self.server.lock:
                self.server.log_exports += 1
        elif self.path != "/v1/traces" or "gzip" in self.headers.get("Content-Encoding", ""):
            self.server.problems.add(f"unexpected export: {self.path} {dict(self.headers)}")
        else:
            try:
                received = list(spans(body))
            except (ValueError, IndexError, KeyError, UnicodeDecodeError) as error:
                self.server.problems.add(f"an export could not be read: {error!r}")
                received = []
            with self.server.lock:
                for trace_id, one in received:
                    self.server.traces.setdefault(trace_id, []).append(one)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass
