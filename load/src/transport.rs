//! The generator's HTTP client: one kept-alive HTTP/1 connection to the service, spoken with
//! hyper directly. A user needs nothing a general client adds (a pool, redirects, cookies,
//! proxies, TLS), and reqwest's client cost about 50,000 of the 81,000 instructions a stress
//! request took: it cloned its layer stack and parsed the URL three times per request. The
//! connection opens on first use, is kept alive between requests and opens again once the server
//! has closed it; a request that fails or runs out of time hangs up, because a half-read answer
//! would poison the connection for the next one. Plain HTTP only: the generator drives a local or
//! in-cluster service, and an `https://` host is refused before the run starts.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderValue, USER_AGENT};
use hyper::http::request::Builder;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;

/// `snackdrawer-load/<version> (<who>)`: who sent a request, in every trace and access line.
pub fn user_agent(who: &str) -> String {
    format!("snackdrawer-load/{} ({who})", env!("CARGO_PKG_VERSION"))
}

/// The service's address, checked once: a plain-HTTP origin.
#[derive(Clone, Debug)]
pub struct Origin {
    /// `host:port`, to connect to.
    address: String,
    /// The `host` header every request carries.
    host: HeaderValue,
}

#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    #[error("--host {0}: not a URL such as http://127.0.0.1:8000")]
    NotUrl(String),
    #[error(
        "--host {0}: snackdrawer-load speaks plain HTTP only; give the service's http:// address \
         (see docs/load.md)"
    )]
    NotPlainHttp(String),
}

impl Origin {
    /// The origin of `url`; its path, if any, is ignored, as every request's path is absolute.
    pub fn parse(url: &str) -> Result<Self, OriginError> {
        let not_url = || OriginError::NotUrl(url.to_owned());
        let uri: Uri = url.parse().map_err(|_| not_url())?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(OriginError::NotPlainHttp(url.to_owned())),
            None => return Err(not_url()),
        }
        let authority = uri.authority().ok_or_else(not_url)?;
        let host = match authority.port() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_owned(),
        };
        let address = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80));
        Ok(Self { address, host: HeaderValue::try_from(host).map_err(|_| not_url())? })
    }
}

/// An answer read to its end.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What became of a request, and how long it took until the answer's headers came (or until it
/// failed): the latency goose records, as it did for its own requests.
pub struct RoundTrip {
    pub to_headers: Duration,
    pub answer: Result<Answer, TransportError>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot make the request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("{0}")]
    Http(#[from] hyper::Error),
    #[error("timed out")]
    TimedOut,
}

/// One user's connection to the service. Cloning gives a connection to the same origin, with the
/// same user agent, that opens its own socket (goose clones a user's data).
pub struct Connection {
    origin: Origin,
    user_agent: HeaderValue,
    open: Option<Open>,
}

/// A live connection, and the task that drives it; dropping it closes the socket.
struct Open {
    sender: SendRequest<Full<Bytes>>,
    driver: AbortHandle,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Clone for Connection {
    fn clone(&self) -> Self {
        Self { origin: self.origin.clone(), user_agent: self.user_agent.clone(), open: None }
    }
}

impl Connection {
    /// A connection to `origin` whose requests carry `user_agent(who)`; opened on first use.
    pub fn new(origin: Origin, who: &str) -> Self {
        let user_agent = HeaderValue::try_from(user_agent(who))
            .unwrap_or_else(|_| HeaderValue::from_static("snackdrawer-load"));
        Self { origin, user_agent, open: None }
    }

    /// A request to `path_and_query` with this connection's `host` and `user-agent` headers.
    pub fn request(&self, method: Method, path_and_query: &str) -> Builder {
        Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, self.origin.host.clone())
            .header(USER_AGENT, self.user_agent.clone())
    }

    /// Sends `request` with `json_body`, if any, as its JSON body, and reads the answer to its
    /// end, all within `timeout`.
    pub async fn round_trip(
        &mut self,
        request: Builder,
        json_body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> RoundTrip {
        let started = Instant::now();
        let request = match json_body {
            Some(body) => request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(Full::from(body)),
            None => request.body(Full::default()),
        };
        let mut to_headers = None;
        let answer = match request {
            Ok(request) => {
                let exchange = self.exchange(request, started, &mut to_headers);
                tokio::time::timeout(timeout, exchange)
                    .await
                    .unwrap_or(Err(TransportError::TimedOut))
            }
            Err(error) => Err(error.into()),
        };
        if answer.is_err() {
            self.open = None;
        }
        RoundTrip { to_headers: to_headers.unwrap_or_else(|| started.elapsed()), answer }
    }

    async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
        started: Instant,
        to_headers: &mut Option<Duration>,
    ) -> Result<Answer, TransportError> {
        let response: Response<Incoming> = self.sender().await?.send_request(request).await?;
        *to_headers = Some(started.elapsed());
        let (head, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer { status: head.status, headers: head.headers, body })
    }

    /// The open connection once it can take a request, or a new one if there is none or the
    /// server has closed it.
    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, TransportError> {
        if let Some(open) = &mut self.open
            && open.sender.ready().await.is_err()
        {
            self.open = None;
        }
        let open = match self.open.take() {
            Some(open) => open,
            None => self.connect().await?,
        };
        Ok(&mut self.open.insert(open).sender)
    }

    async fn connect(&self) -> Result<Open, TransportError> {
        let stream =
            TcpStream::connect(&self.origin.address).await.map_err(TransportError::Connect)?;
        stream.set_nodelay(true).map_err(TransportError::Connect)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection's own error also fails the request that meets it, which reports it.
        let driver = tokio::spawn(connection).abort_handle();
        Ok(Open { sender, driver })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{ConnectInfo, State};
    use axum::response::IntoResponse;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    fn parts(origin: &Origin) -> (&str, &str) {
        (origin.address.as_str(), origin.host.to_str().unwrap())
    }

    #[test]
    fn an_origin_is_where_to_connect_and_what_host_to_name() {
        let origin = Origin::parse("http://127.0.0.1:8000/").unwrap();
        assert_eq!(parts(&origin), ("127.0.0.1:8000", "127.0.0.1:8000"));
        let origin = Origin::parse("http://snackdrawer").unwrap();
        assert_eq!(parts(&origin), ("snackdrawer:80", "snackdrawer"));
        let origin = Origin::parse("http://[::1]:8000").unwrap();
        assert_eq!(parts(&origin), ("[::1]:8000", "[::1]:8000"));
    }

    #[test]
    fn only_plain_http_is_an_origin() {
        assert!(matches!(Origin::parse("https://example.com"), Err(OriginError::NotPlainHttp(_))));
        for url in ["127.0.0.1:8000", "/snacks/", "http://", "not a url"] {
            assert!(matches!(Origin::parse(url), Err(OriginError::NotUrl(_))), "{url}");
        }
    }

    type Ports = Arc<Mutex<Vec<u16>>>;

    /// Answers `ok`; on `/close` closing the connection, on `/slow` ten seconds late. Notes the
    /// client port of every request.
    async fn answer(
        State(ports): State<Ports>,
        ConnectInfo(client): ConnectInfo<SocketAddr>,
        uri: Uri,
    ) -> Response<axum::body::Body> {
        ports.lock().unwrap().push(client.port());
        match uri.path() {
            "/close" => ([(hyper::header::CONNECTION, "close")], "ok").into_response(),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late".into_response()
            }
            _ => "ok".into_response(),
        }
    }

    async fn serve() -> (Origin, Ports) {
        let ports = Ports::default();
        let app = axum::Router::new().fallback(answer).with_state(Arc::clone(&ports));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = Origin::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (origin, ports)
    }

    #[tokio::test]
    async fn one_connection_serves_until_the_server_closes_it_or_a_request_times_out() {
        let (origin, ports) = serve().await;
        let mut connection = Connection::new(origin, "test");
        let mut outcomes = vec![];
        for path in ["/", "/", "/close", "/", "/slow", "/"] {
            let request = connection.request(Method::GET, path);
            let timeout = Duration::from_millis(300);
            let round_trip = connection.round_trip(request, None, timeout).await;
            outcomes.push(match round_trip.answer {
                Ok(answer) => format!("{} {}", answer.status.as_u16(), text(&answer.body)),
                Err(error) => error.to_string(),
            });
        }
        assert_eq!(outcomes, ["200 ok", "200 ok", "200 ok", "200 ok", "timed out", "200 ok"]);
        let ports = ports.lock().unwrap().clone();
        let connections: Vec<usize> = ports
            .iter()
            .map(|port| ports.iter().position(|first| first == port).unwrap())
            .collect();
        // The same socket until the server closed it, the next one until the time-out.
        assert_eq!(connections, [0, 0, 0, 3, 3, 5], "client ports {ports:?}");
    }

    fn text(body: &Bytes) -> &str {
        std::str::from_utf8(body).unwrap()
    }
}
