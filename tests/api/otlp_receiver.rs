//! A real OTLP receiver for the export tests: traces and logs, over HTTP/protobuf or gRPC,
//! in plain text or behind TLS with a certificate authority made here (rcgen), on 127.0.0.1.
//! It keeps every export with its path and headers, decoded with opentelemetry-proto.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One export: the path it was posted to (the gRPC method's path), its headers and what it held.
pub struct Export {
    pub path: String,
    pub headers: HeaderMap,
    pub payload: Payload,
}

pub enum Payload {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// A log record with its resource's `service.name`.
pub struct Record {
    pub service_name: Option<String>,
    pub scope: String,
    pub record: LogRecord,
}

impl Record {
    pub fn body(&self) -> Option<String> {
        text(self.record.body.as_ref()?.value.as_ref()?)
    }

    pub fn attribute(&self, key: &str) -> Option<String> {
        attribute(&self.record.attributes, key)
    }
}

#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<Export>>>);

impl Received {
    fn keep(&self, path: &str, headers: HeaderMap, payload: Payload) {
        let export = Export { path: path.to_owned(), headers, payload };
        self.0.lock().unwrap().push(export);
    }

    /// What was received, each export as `(path, headers)`.
    pub fn requests(&self) -> Vec<(String, HeaderMap)> {
        let exports = self.0.lock().unwrap();
        exports.iter().map(|export| (export.path.clone(), export.headers.clone())).collect()
    }

    pub fn spans(&self) -> Vec<(Option<String>, Span)> {
        let exports = self.0.lock().unwrap();
        let mut spans = vec![];
        for export in exports.iter() {
            let Payload::Traces(request) = &export.payload else { continue };
            for resource_spans in &request.resource_spans {
                let resource = resource_spans.resource.as_ref().map(|r| r.attributes.as_slice());
                let service = attribute(resource.unwrap_or(&[]), "service.name");
                for scope in &resource_spans.scope_spans {
                    spans.extend(scope.spans.iter().map(|span| (service.clone(), span.clone())));
                }
            }
        }
        spans
    }

    /// The value of resource attribute `key` in each span export that has it.
    pub fn resource_attribute(&self, key: &str) -> Vec<String> {
        let exports = self.0.lock().unwrap();
        let traces = exports.iter().filter_map(|export| match &export.payload {
            Payload::Traces(request) => Some(request),
            Payload::Logs(_) => None,
        });
        let resources = traces.flat_map(|request| &request.resource_spans);
        resources.filter_map(|spans| attribute(&spans.resource.as_ref()?.attributes, key)).collect()
    }

    pub fn records(&self) -> Vec<Record> {
        let exports = self.0.lock().unwrap();
        let mut records = vec![];
        for export in exports.iter() {
            let Payload::Logs(request) = &export.payload else { continue };
            for resource_logs in &request.resource_logs {
                let resource = resource_logs.resource.as_ref().map(|r| r.attributes.as_slice());
                let service_name = attribute(resource.unwrap_or(&[]), "service.name");
                for scope_logs in &resource_logs.scope_logs {
                    let scope = scope_logs.scope.as_ref().map_or("", |s| &s.name).to_owned();
                    records.extend(scope_logs.log_records.iter().map(|record| Record {
                        service_name: service_name.clone(),
                        scope: scope.clone(),
                        record: record.clone(),
                    }));
                }
            }
        }
        records
    }
}

fn text(value: &AnyValue) -> Option<String> {
    Some(match value {
        AnyValue::StringValue(text) => text.clone(),
        AnyValue::IntValue(number) => number.to_string(),
        AnyValue::BoolValue(flag) => flag.to_string(),
        AnyValue::DoubleValue(number) => number.to_string(),
        other => format!("{other:?}"),
    })
}

pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    text(attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()?)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A certificate authority made for one test, and a server certificate it signed for
/// 127.0.0.1.
pub struct TestCa {
    /// The authority's certificate, PEM, in a file to name in OTEL_EXPORTER_OTLP_CERTIFICATE.
    pub ca_file: tempfile::NamedTempFile,
    pub server_certificate: String,
    pub server_key: String,
}

impl TestCa {
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "snackdrawer test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let server_certificate = server.signed_by(&server_key, &ca).unwrap();
        let ca_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca_file.path(), ca.pem()).unwrap();
        Self {
            ca_file,
            server_certificate: server_certificate.pem(),
            server_key: server_key.serialize_pem(),
        }
    }

    pub fn ca_path(&self) -> &str {
        self.ca_file.path().to_str().unwrap()
    }

    fn rustls_config(&self) -> tokio_rustls::rustls::ServerConfig {
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certificate = CertificateDer::from_pem_slice(self.server_certificate.as_bytes());
        let key = PrivateKeyDer::from_pem_slice(self.server_key.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.unwrap()], key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    }
}

/// An OTLP/HTTP receiver (`/v1/traces`, `/v1/logs`; any other path answers 404), behind TLS
/// with `tls`'s certificate when given.
pub async fn http_receiver(received: Received, tls: Option<&TestCa>) -> SocketAddr {
    let (traces, logs) = (received.clone(), received);
    let app = Router::new()
        .route(
            "/v1/traces",
            post(move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("a trace export");
                traces.keep(uri.path(), headers, Payload::Traces(request));
                ExportTraceServiceResponse::default().encode_to_vec().into_response()
            }),
        )
        .route(
            "/v1/logs",
            post(move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                let request = ExportLogsServiceRequest::decode(body).expect("a log export");
                logs.keep(uri.path(), headers, Payload::Logs(request));
                ExportLogsServiceResponse::default().encode_to_vec().into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    match tls {
        None => tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }),
        Some(ca) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(ca.rustls_config()));
            let listener = TlsListener { listener, acceptor };
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() })
        }
    };
    address
}

/// TCP connections that completed a TLS handshake; refused handshakes are dropped.
struct TlsListener {
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.listener.accept().await else { continue };
            if let Ok(stream) = self.acceptor.accept(stream).await {
                return (stream, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

struct Grpc(Received);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request.metadata().clone().into_headers();
        let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
        self.0.keep(path, headers, Payload::Traces(request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let headers = request.metadata().clone().into_headers();
        let path = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
        self.0.keep(path, headers, Payload::Logs(request.into_inner()));
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver for traces and logs, behind TLS with `tls`'s certificate when given.
pub async fn grpc_receiver(received: Received, tls: Option<&TestCa>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut server = tonic::transport::Server::builder();
    if let Some(ca) = tls {
        // tonic's TLS takes rustls's process-wide provider, which a workspace build leaves
        // undecided (goose brings aws-lc-rs beside ring) and rustls then panics: name ring, as
        // the service does. Already set by another test of this process is as good.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let identity = tonic::transport::Identity::from_pem(&ca.server_certificate, &ca.server_key);
        let config = tonic::transport::ServerTlsConfig::new().identity(identity);
        server = server.tls_config(config).unwrap();
    }
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        server
            .add_service(TraceServiceServer::new(Grpc(received.clone())))
            .add_service(LogsServiceServer::new(Grpc(received)))
            .serve_with_incoming(incoming),
    );
    address
}
