"""An OTLP receiver just big enough to follow an exemplar to its trace and a trace to its log
records: an OTLP/HTTP endpoint (`POST /v1/traces` and `POST /v1/logs`, protobuf, what the service
exports with OTEL_EXPORTER_OTLP_ENDPOINT) that keeps, per trace id, each span's name, attributes
and events and each log record's severity, body, attributes and ids. There is no Jaeger or
Collector on these machines and no protobuf module in the standard library, so the few messages
needed are read straight off the wire format (opentelemetry-proto's trace.proto and logs.proto
field numbers below); test_otlp.py checks the reader on messages built by hand.

Run as a program (ops/otlp-receiver), it prints each export's path and destination headers and
each span and log record as it arrives, one line each.
"""

import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

# opentelemetry/proto/collector/trace/v1 and trace/v1, common/v1: field numbers.
REQUEST_RESOURCE_SPANS = 1
RESOURCE_SPANS_SCOPE_SPANS = 2
SCOPE_SPANS_SPANS = 2
SPAN_TRACE_ID, SPAN_SPAN_ID, SPAN_NAME, SPAN_KIND, SPAN_START = 1, 2, 5, 6, 7
SPAN_ATTRIBUTES, SPAN_EVENTS = 9, 11
EVENT_NAME, EVENT_ATTRIBUTES = 2, 3
KEY_VALUE_KEY, KEY_VALUE_VALUE = 1, 2
ANY_STRING, ANY_BOOL, ANY_INT, ANY_DOUBLE = 1, 2, 3, 4
SPAN_KIND_SERVER = 2
# opentelemetry/proto/collector/logs/v1 and logs/v1: ExportLogsServiceRequest.resource_logs,
# ResourceLogs.scope_logs, ScopeLogs.scope and .log_records, InstrumentationScope.name, and the
# LogRecord's fields.
REQUEST_RESOURCE_LOGS = 1
RESOURCE_LOGS_SCOPE_LOGS = 2
SCOPE_LOGS_SCOPE, SCOPE_LOGS_LOG_RECORDS = 1, 2
SCOPE_NAME = 1
LOG_TIME, LOG_SEVERITY_NUMBER, LOG_SEVERITY_TEXT, LOG_BODY, LOG_ATTRIBUTES = 1, 2, 3, 5, 6
LOG_TRACE_ID, LOG_SPAN_ID, LOG_OBSERVED_TIME = 9, 10, 11


class Span(NamedTuple):
    name: str
    kind: int
    attributes: dict
    events: list  # (name, attributes)
    span_id: str  # hex
    start_unix_nano: int = 0


class LogRecord(NamedTuple):
    time_unix_nano: int  # 0 when unknown: the tracing bridge sets only the observed time
    observed_time_unix_nano: int
    severity_number: int
    severity_text: str
    body: object  # the AnyValue, read as any_value reads it
    attributes: dict
    trace_id: str  # hex; "" for a line written outside any request
    span_id: str
    scope: str  # the tracing target (`snackdrawer::access`)


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
    trace_id, span_id, name, kind, start, attrs, events = b"", b"", "", 0, 0, [], []
    for number, value in fields(data):
        if number == SPAN_TRACE_ID:
            trace_id = value
        elif number == SPAN_SPAN_ID:
            span_id = value
        elif number == SPAN_NAME:
            name = value.decode()
        elif number == SPAN_KIND:
            kind = value
        elif number == SPAN_START:
            start = struct.unpack("<Q", value)[0]  # fixed64
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
    return trace_id.hex(), Span(name, kind, attributes(attrs), events, span_id.hex(), start)


def nested(message, *path):
    """The innermost messages along `path`, a field number per level (repeated fields)."""
    if not path:
        yield message
        return
    for number, value in fields(message):
        if number == path[0]:
            yield from nested(value, *path[1:])


def spans(request):
    """(trace id in hex, Span) for every span of an ExportTraceServiceRequest."""
    path = (REQUEST_RESOURCE_SPANS, RESOURCE_SPANS_SCOPE_SPANS, SCOPE_SPANS_SPANS)
    for data in nested(request, *path):
        yield span(data)


def log_record(data, scope):
    time = observed = severity = 0
    severity_text, body, attrs, trace_id, span_id = "", None, [], b"", b""
    for number, value in fields(data):
        if number == LOG_TIME:
            time = struct.unpack("<Q", value)[0]  # fixed64
        elif number == LOG_OBSERVED_TIME:
            observed = struct.unpack("<Q", value)[0]
        elif number == LOG_SEVERITY_NUMBER:
            severity = value
        elif number == LOG_SEVERITY_TEXT:
            severity_text = value.decode()
        elif number == LOG_BODY:
            body = any_value(value)
        elif number == LOG_ATTRIBUTES:
            attrs.append(value)
        elif number == LOG_TRACE_ID:
            trace_id = value
        elif number == LOG_SPAN_ID:
            span_id = value
    return LogRecord(
        time,
        observed,
        severity,
        severity_text,
        body,
        attributes(attrs),
        trace_id.hex(),
        span_id.hex(),
        scope,
    )


def log_records(request):
    """Every LogRecord of an ExportLogsServiceRequest, with its scope's name."""
    for scope_logs in nested(request, REQUEST_RESOURCE_LOGS, RESOURCE_LOGS_SCOPE_LOGS):
        scope = "".join(n.decode() for n in nested(scope_logs, SCOPE_LOGS_SCOPE, SCOPE_NAME))
        for data in nested(scope_logs, SCOPE_LOGS_LOG_RECORDS):
            yield log_record(data, scope)


class Receiver(ThreadingHTTPServer):
    """Listens on a loopback port (`address`, any free one by default); `traces` maps each trace
    id to its spans, `logs` each trace id to its log records ("" for lines written outside a
    request). `show`, when given, is called with each export's path, headers and what it held,
    as (trace id, Span) or (trace id, LogRecord) pairs."""

    daemon_threads = True

    def __init__(self, address=("127.0.0.1", 0), show=None):
        super().__init__(address, Handler)
        self.traces, self.logs = {}, {}
        self.problems = set()
        self.show = show
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def trace(self, trace_id):
        with self.lock:
            return list(self.traces.get(trace_id, []))

    def snapshot(self):
        """Copies of `traces` and `logs`, taken together."""
        with self.lock:
            return (
                {k: list(v) for k, v in self.traces.items()},
                {k: list(v) for k, v in self.logs.items()},
            )

    def keep(self, path, headers, received):
        kept = self.traces if path == "/v1/traces" else self.logs
        with self.lock:
            for trace_id, one in received:
                kept.setdefault(trace_id, []).append(one)
            if self.show:  # under the lock, so lines of two exports do not interleave
                self.show(path, headers, received)

    def problem(self, text):
        with self.lock:
            self.problems.add(text)

    def stop(self):
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        read = {
            "/v1/traces": spans,
            "/v1/logs": lambda body: ((r.trace_id, r) for r in log_records(body)),
        }.get(self.path)
        encoding = self.headers.get("Content-Encoding", "")
        if read is None or "gzip" in encoding:
            # Not the headers: a destination's may hold a key.
            content = f"{self.headers.get('Content-Type')}, encoding {encoding or 'none'}"
            self.server.problem(f"unexpected export: {self.path} ({content})")
        else:
            try:
                received = list(read(body))
            except (ValueError, IndexError, KeyError, UnicodeDecodeError, struct.error) as error:
                self.server.problem(f"an export could not be read: {error!r}")
                received = []
            self.server.keep(self.path, self.headers, received)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass
