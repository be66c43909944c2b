//! A client of the real binary over HTTP (`RunningServer`), with the few assertions the
//! black-box tests of outages share.

use super::server::RunningServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Far longer than any 503 should take with a 0.3 s acquire timeout: only a hang fails this.
pub const NO_HANG: Duration = Duration::from_secs(10);

pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(server: &RunningServer) -> Self {
        Self { http: reqwest::Client::new(), base: server.base_url.clone() }
    }

    pub async fn send(
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

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send("POST", path, token, Some(body)).await
    }

    pub async fn log_in(&self, username: &str) -> String {
        let (status, body) =
            self.post("/auth/login", None, json!({"username": username, "password": "pw"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Polls until `path` answers 200, for at most `limit`.
    pub async fn wait_for_ok(&self, path: &str, limit: Duration) {
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
    pub async fn assert_unavailable(&self, path: &str) {
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
