//! The real binary on the SQL stores: what is written survives a SIGTERM and a restart, and
//! PostgreSQL outages answer 503 quickly and heal by themselves.

use crate::support::server::RunningServer;
use crate::support::stores::{FreshDatabase, postgres_admin_url, postgres_enabled, sqlite_url};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// Far longer than any 503 should take with a 0.3 s acquire timeout: only a hang fails this.
const NO_HANG: Duration = Duration::from_secs(10);

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(server: &RunningServer) -> Self {
        Self { http: reqwest::Client::new(), base: server.base_url.clone() }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send("GET", path, token, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send("POST", path, token, Some(body)).await
    }

    async fn log_in(&self, username: &str) -> String {
        let (status, body) =
            self.post("/auth/login", None, json!({"username": username, "password": "pw"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Polls until `path` answers 200, for at most `limit`.
    async fn wait_for_ok(&self, path: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let (status, body) = self.get(path, None).await;
            if status == StatusCode::OK {
                return;
            }
            assert!(
                status == StatusCode::SERVICE_UNAVAILABLE,
                "only 503 while recovering: {status} {body}"
            );
            assert!(Instant::now() < deadline, "{path} still {status} after {limit:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asserts a 503 in the error shape, with `Retry-After`, answered without hanging.
    async fn assert_unavailable(&self, path: &str) {
        let started = Instant::now();
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let (status, retry_after) =
            (response.status(), response.headers().get("retry-after").cloned());
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(retry_after.as_ref().map(|value| value.to_str().unwrap()), Some("1"), "{path}");
        assert!(body["error"].as_str().unwrap().starts_with("503 Service Unavailable: "), "{body}");
        assert!(started.elapsed() < NO_HANG, "{path} took {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn sqlite_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SNACKDRAWER_JWT_SECRET", "the same secret across both starts!"),
    ];

    let mut first = RunningServer::start(&env);
    let client = Client::new(&first);
    let (status, _) =
        client.post("/auth/users", None, json!({"username": "ann", "password": "pw"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = client.log_in("ann").await;
    let (_, created) = client.post("/snacks/", Some(&token), json!({"name": "kale chips"})).await;
    let (_, drawer) = client.post("/drawers/", Some(&token), json!({"name": "desk"})).await;
    let drawer_path = format!("/drawers/{}", drawer["drawer"]["id"]);
    for snack in [created["snack"]["id"].clone(), json!(3)] {
        let (status, _) = client.post(&drawer_path, Some(&token), json!({ "snack": snack })).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let before = client.get(&drawer_path, Some(&token)).await;
    let catalogue = client.get("/snacks/", None).await;
    assert!(first.terminate().success());

    let second = RunningServer::start(&env);
    let client = Client::new(&second);
    assert_eq!(client.get("/snacks/", None).await, catalogue, "seeded once, not on every start");
    assert_eq!(client.get(&drawer_path, Some(&token)).await, before, "an old token still works");
    let token = client.log_in("ann").await;
    assert_eq!(client.get(&drawer_path, Some(&token)).await, before);
    let logs = second.logs().join("\n");
    assert!(!logs.contains("seeded the snack catalogue"), "{logs}");
}

#[tokio::test]
async fn the_migrate_command_prepares_a_database_and_is_harmless_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    for _ in 0..2 {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_snackdrawer"))
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(dir.path().join("snackdrawer.db").exists());
}

/// A TCP relay in front of PostgreSQL that the test can cut and restore, like a network outage.
struct Relay {
    address: SocketAddr,
    tasks: Option<JoinSet<()>>,
}

impl Relay {
    async fn start() -> Self {
        let address = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let mut relay = Self { address, tasks: None };
        relay.restore();
        relay
    }

    /// Starts accepting again on the same port.
    fn restore(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.address).unwrap();
        let listener = socket.listen(64).unwrap();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Closes the port and every relayed connection.
    async fn cut(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.shutdown().await;
        }
    }
}

#[tokio::test]
async fn postgres_unreachable_at_start_then_cut_then_back() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let mut relay = Relay::start().await;
    relay.cut().await;
    let (_, name) = database.url.rsplit_once('/').unwrap();
    let url = format!("postgres://postgres@{}/{name}", relay.address);
    let server = RunningServer::start(&[
        ("DATABASE_URL", url.as_str()),
        ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.3"),
    ]);
    let client = Client::new(&server);

    // Down from the start: the service runs, answers 503, and stays alive.
    client.assert_unavailable("/snacks/").await;
    client.assert_unavailable("/readyz").await;
    assert_eq!(client.get("/healthz", None).await.0, StatusCode::OK);

    // Up: it migrates and seeds by itself.
    relay.restore();
    client.wait_for_ok("/readyz", Duration::from_secs(60)).await;
    let (status, snacks) = client.get("/snacks/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snacks["snacks"][0], json!({"id": 1, "name": "chips"}));

    // Cut while serving: pooled connections die and new ones are refused.
    relay.cut().await;
    for _ in 0..3 {
        client.assert_unavailable("/snacks/").await;
    }
    relay.restore();
    client.wait_for_ok("/snacks/", Duration::from_secs(30)).await;
}

#[tokio::test]
async fn postgres_connections_terminated_by_the_server_heal() {
    if !postgres_enabled() {
        return;
    }
    let database = FreshDatabase::create().await;
    let server = RunningServer::start(&[
        ("DATABASE_URL", database.url.as_str()),
        ("SNACKDRAWER_DB_ACQUIRE_TIMEOUT", "0.3"),
    ]);
    let client = Client::new(&server);
    client.wait_for_ok("/snacks/", Duration::from_secs(10)).await;

    let admin = Database::connect(postgres_admin_url().unwrap()).await.unwrap();
    let (_, name) = database.url.rsplit_once('/').unwrap();
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    for _ in 0..3 {
        client.assert_unavailable("/snacks/").await;
    }
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    client.wait_for_ok("/snacks/", Duration::from_secs(10)).await;
    let logs = server.logs().join("\n");
    assert!(!logs.contains("\"level\":\"ERROR\""), "an outage is not a bug: {logs}");
}
