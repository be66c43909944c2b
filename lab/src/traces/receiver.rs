//! The lab's OTLP/HTTP receiver on loopback: `POST /v1/traces` and `POST /v1/logs` with
//! protobuf bodies, as the service exports them by default (`http/protobuf`), decoded with
//! opentelemetry-proto's messages into the bounded trace store. JSON or compressed bodies are
//! refused with 415, anything undecodable with 400, so a misconfigured exporter says so.

use super::store::{Event, LogLine, SpanRecord, TraceId, TraceStore};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use prost::Message;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::TcpListener;

pub type SharedStore = Arc<Mutex<TraceStore>>;

/// The largest export accepted; the service's batches are far smaller.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Listens on `address` (port 0 picks one) and serves until the runtime ends; returns the
/// address, for OTEL_EXPORTER_OTLP_ENDPOINT.
pub async fn start(address: SocketAddr, store: SharedStore) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(store);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// Protobuf and uncompressed, or the status and message that refuse it.
fn check(headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|t| !t.starts_with("application/x-protobuf")) {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "this receiver reads application/x-protobuf only (OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)",
        ));
    }
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
    if encoding.is_some_and(|e| e != "identity") {
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "compressed exports are not read"));
    }
    Ok(())
}

fn answer(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
}

async fn traces(State(store): State<SharedStore>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err((status, message)) = check(&headers) {
        return refuse(status, message);
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return refuse(StatusCode::BAD_REQUEST, "not an OTLP ExportTraceServiceRequest");
    };
    let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
    for span in request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans)
    {
        let (Some(trace), Some(id)) = (trace_id(&span.trace_id), span_id(&span.span_id)) else {
            continue;
        };
        let error = span.status.as_ref().is_some_and(|s| s.code == SpanStatus::Error as i32);
        let events = span
            .events
            .iter()
            .map(|e| Event {
                name: e.name.clone(),
                time_ns: e.time_unix_nano,
                attributes: pairs(&e.attributes),
            })
            .collect();
        store.add_span(
            trace,
            SpanRecord {
                span_id: id,
                parent: span_id(&span.parent_span_id),
                name: span.name,
                start_ns: span.start_time_unix_nano,
                end_ns: span.end_time_unix_nano,
                error,
                attributes: pairs(&span.attributes),
                events,
            },
        );
    }
    answer(ExportTraceServiceResponse::default().encode_to_vec())
}

async fn logs(State(store): State<SharedStore>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err((status, message)) = check(&headers) {
        return refuse(status, message);
    }
    let Ok(request) = ExportLogsServiceRequest::decode(body) else {
        return refuse(StatusCode::BAD_REQUEST, "not an OTLP ExportLogsServiceRequest");
    };
    let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
    let records =
        request.resource_logs.into_iter().flat_map(|r| r.scope_logs).flat_map(|s| s.log_records);
    for record in records {
        // Lines written outside a request (start-up, shutdown) belong to no trace.
        let Some(id) = trace_id(&record.trace_id) else { continue };
        let time_ns = if record.time_unix_nano > 0 {
            record.time_unix_nano
        } else {
            record.observed_time_unix_nano
        };
        store.add_log(
            id,
            LogLine {
                time_ns,
                severity: record.severity_text.clone(),
                body: record.body.as_ref().map(text).unwrap_or_default(),
                span_id: span_id(&record.span_id),
                attributes: pairs(&record.attributes),
            },
        );
    }
    answer(ExportLogsServiceResponse::default().encode_to_vec())
}

fn trace_id(bytes: &[u8]) -> Option<TraceId> {
    let id: TraceId = bytes.try_into().ok()?;
    (id != [0; 16]).then_some(id)
}

fn span_id(bytes: &[u8]) -> Option<[u8; 8]> {
    let id: [u8; 8] = bytes.try_into().ok()?;
    (id != [0; 8]).then_some(id)
}

fn pairs(attributes: &[KeyValue]) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.as_ref().map(text).unwrap_or_default()))
        .collect()
}

/// An attribute's value as text: strings as they are, booleans `true`/`false`.
fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => hex::encode(b),
        Some(Value::ArrayValue(a)) => {
            format!("[{}]", a.values.iter().map(text).collect::<Vec<_>>().join(","))
        }
        Some(Value::KvlistValue(list)) => format!(
            "{{{}}}",
            pairs(&list.values)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => String::new(),
    }
}
