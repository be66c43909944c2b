//! The real `snackdrawer` binary as a child process, for black-box tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct RunningServer {
    child: Child,
    pub base_url: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl RunningServer {
    /// Starts the binary on a free loopback port with JSON logs, cheap hashing and the memory
    /// store; `env` adds to or overrides that. Returns once the server says where it listens.
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::start_with_args(&[], env)
    }

    /// As `start`, with command-line `args` too (flags rather than their variables).
    pub fn start_with_args(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_snackdrawer"));
        command.args(args);
        Self::launch(command, env)
    }

    /// As `start`, with the process's limits set first by `ulimit`, once per entry of
    /// `limits` (e.g. `["-Sn 1024", "-Hn 1024"]`), as a shell would.
    pub fn start_with_ulimit(limits: &[&str], env: &[(&str, &str)]) -> Self {
        let ulimits: Vec<String> = limits.iter().map(|limit| format!("ulimit {limit}")).collect();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("{} && exec \"$0\"", ulimits.join(" && ")))
            .arg(env!("CARGO_BIN_EXE_snackdrawer"));
        Self::launch(command, env)
    }

    fn launch(mut command: Command, env: &[(&str, &str)]) -> Self {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SNACKDRAWER_LISTEN", "127.0.0.1:0")
            .env("SNACKDRAWER_LOG_FORMAT", "json")
            .env("SNACKDRAWER_SCRYPT_LOG_N", "4")
            // Tests write as fast as they can as one user; the write rate has tests of its own.
            .env("SNACKDRAWER_WRITE_RATE_PER_USER", "0")
            .env("DATABASE_URL", "memory")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the snackdrawer binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (logs, address_tx) = (logs.clone(), address_tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let address = serving_address(&line);
                    // Stored first, so a test that has the address also finds the line.
                    logs.lock().unwrap().push(line);
                    if let Some(address) = address {
                        let _ = address_tx.send(address);
                    }
                }
            });
        }
        let address = address_rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the server did not report its address; logs: {:#?}", logs.lock().unwrap())
        });
        Self { child, base_url: format!("http://{address}"), logs }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (up to 30 s) for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        signal_terminate(self.pid());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server ignored SIGTERM for 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One answer of the real binary: its status, headers and JSON body (`Null` when it has none).
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl RunningServer {
    /// `method path` sent by `client`, with a bearer `token` and a JSON `body` when given.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        let mut request = client.request(method.parse().unwrap(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Answer { status, headers, body }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal_terminate(pid: u32) {
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -TERM {pid} failed");
}

/// The address from the start-up line `{"message":"snackdrawer is serving","address":…}`.
fn serving_address(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    (entry["message"] == "snackdrawer is serving")
        .then(|| entry["address"].as_str())??
        .to_owned()
        .into()
}

/// Opens a connection and sends a registration's headers and the first half of its body, so
/// the request is certainly in flight (the server is waiting for the rest).
pub async fn half_sent_registration(server: &RunningServer) -> (TcpStream, &'static [u8]) {
    let body: &'static [u8] = br#"{"username": "late", "password": "pw"}"#;
    let address = server.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /auth/users HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    (stream, &body[10..])
}

pub async fn read_status(mut stream: TcpStream) -> String {
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}
