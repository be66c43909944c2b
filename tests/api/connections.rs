//! The connection edge, on the real binary: a client that hoards connections (idle, or
//! dripping a request head) under a low open-file limit does not lock others out; dawdling
//! connections are closed; what hyper refuses before routing still answers in JSON.

use crate::support::server::RunningServer;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// More connections than the 1024 files the probe's limit allowed.
const HOARD: usize = 1100;

/// The test itself holds `HOARD` sockets: a soft limit of 1024 would stop it first.
fn room_for_the_hoard() {
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
}

fn address(server: &RunningServer) -> String {
    server.base_url.trim_start_matches("http://").to_owned()
}

/// `count` connections that send `first` and then nothing.
async fn hoard(server: &RunningServer, count: usize, first: &[u8]) -> Vec<TcpStream> {
    let address = address(server);
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream =
            TcpStream::connect(&address).await.expect("the kernel queues the connection");
        stream.write_all(first).await.unwrap();
        streams.push(stream);
    }
    streams
}

/// Connections that drip a request head, a byte every 200 ms, until the server closes them.
async fn drip(server: &RunningServer, count: usize) -> tokio::task::JoinHandle<()> {
    let mut streams = hoard(server, count, b"GET /healthz HTTP/1.1\r\nx-drip: ").await;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            for stream in &mut streams {
                let _ = stream.write_all(b"a").await;
            }
        }
    })
}

/// How long `/healthz` takes to answer 200 on a fresh connection; panics past `limit`.
async fn healthz_within(server: &RunningServer, limit: Duration) -> Duration {
    let started = Instant::now();
    let probe = async {
        let mut stream = TcpStream::connect(address(server)).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let answer = tokio::time::timeout(limit, probe).await.unwrap_or_else(|_| {
        panic!("/healthz did not answer within {limit:?}; logs: {:#?}", server.logs())
    });
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    started.elapsed()
}

#[tokio::test]
async fn idle_connections_beyond_the_soft_file_limit_lock_nobody_out() {
    room_for_the_hoard();
    let server = RunningServer::start_with_ulimit(&["-Sn 1024"], &[]);
    let _idle = hoard(&server, HOARD, b"").await;
    let _partial = hoard(&server, 50, b"GET /hea").await;
    healthz_within(&server, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn at_the_connection_cap_idle_connections_make_room_at_once() {
    room_for_the_hoard();
    // Soft and hard limits at 1024: the cap is below it, and the hoard exceeds the cap.
    let server = RunningServer::start_with_ulimit(
        &["-Sn 1024", "-Hn 1024"],
        &[("SNACKDRAWER_HEADER_TIMEOUT", "5"), ("SNACKDRAWER_IDLE_TIMEOUT", "600")],
    );
    let _idle = hoard(&server, HOARD, b"").await;
    healthz_within(&server, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn at_the_connection_cap_dripping_connections_are_cut_at_the_header_timeout() {
    room_for_the_hoard();
    let server = RunningServer::start_with_ulimit(
        &["-Sn 1024", "-Hn 1024"],
        &[("SNACKDRAWER_HEADER_TIMEOUT", "2"), ("SNACKDRAWER_IDLE_TIMEOUT", "600")],
    );
    let dripping = drip(&server, HOARD).await;
    // The header timeout, and a second for the queue behind it.
    healthz_within(&server, Duration::from_secs(4)).await;
    dripping.abort();
}

#[tokio::test]
async fn out_of_file_descriptors_the_server_sheds_idle_connections_and_logs_once() {
    room_for_the_hoard();
    // A cap above what the files allow: accepts fail with EMFILE.
    let server = RunningServer::start_with_ulimit(
        &["-Sn 1024", "-Hn 1024"],
        &[("SNACKDRAWER_MAX_CONNECTIONS", "5000"), ("SNACKDRAWER_IDLE_TIMEOUT", "600")],
    );
    let _idle = hoard(&server, HOARD, b"").await;
    healthz_within(&server, Duration::from_secs(3)).await;
    let exhausted: Vec<_> =
        server.logs().into_iter().filter(|line| line.contains("out of file descriptors")).collect();
    assert_eq!(exhausted.len(), 1, "{exhausted:#?}");
}

#[tokio::test]
async fn silent_and_slow_connections_are_closed_at_their_timeouts() {
    let server = RunningServer::start(&[
        ("SNACKDRAWER_HEADER_TIMEOUT", "0.5"),
        ("SNACKDRAWER_IDLE_TIMEOUT", "1"),
    ]);
    let closed_after = |first: &'static [u8]| {
        let address = address(&server);
        async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.write_all(first).await.unwrap();
            let started = Instant::now();
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest));
            read.await.expect("the server closes the connection").unwrap();
            assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
            started.elapsed()
        }
    };
    let silent = closed_after(b"").await;
    assert!(silent >= Duration::from_millis(900), "idle connection closed after {silent:?}");
    let partial = closed_after(b"GET /hea").await;
    assert!(partial < Duration::from_millis(900), "partial head closed after {partial:?}");
    // The HTTP/2 preface, cut short: before hyper knows which HTTP it is.
    closed_after(b"PRI * HTTP/2.0\r\n").await;
}

/// One raw request; the status line and the body of the answer.
async fn raw(server: &RunningServer, request: &[u8]) -> (String, Value) {
    let mut stream = TcpStream::connect(address(server)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("content-type: application/json"), "{head}");
    (head.lines().next().unwrap().to_owned(), serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn requests_refused_before_routing_answer_in_the_contract_s_shape() {
    let server = RunningServer::start(&[]);
    let many_headers: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        (b"GET / HTTP/9.9\r\n\r\n".to_vec(), "400 Bad Request"),
        (b"GET /sn acks HTTP/1.1\r\n\r\n".to_vec(), "400 Bad Request"),
        (format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(70_000)).into_bytes(), "414 URI Too Long"),
        (
            format!("GET / HTTP/1.1\r\nx-big: {}\r\n\r\n", "a".repeat(1 << 20)).into_bytes(),
            "431 Request Header Fields Too Large",
        ),
        (
            format!("GET / HTTP/1.1\r\n{many_headers}\r\n").into_bytes(),
            "431 Request Header Fields Too Large",
        ),
    ];
    for (request, status) in cases {
        let (status_line, body) = raw(&server, &request).await;
        assert_eq!(status_line, format!("HTTP/1.1 {status}"));
        let error = body["error"].as_str().unwrap_or_else(|| panic!("{body}"));
        assert!(error.starts_with(&format!("{status}: ")), "{error}");
    }
}
