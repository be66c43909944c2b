//! The service's admin API, as the lab uses it: the fault status every second, and the changes
//! the keys ask for (lazy mode on or off, a preset plan, everything off). Each request is the
//! method, path and body the API documents (docs/faults.md); a new endpoint is one more
//! `AdminRequest`.

use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("cannot reach the admin API at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the admin API answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("the admin API's answer at {url} is not a fault status: {source}")]
    Unreadable { url: String, source: serde_json::Error },
}

/// What the lab asks of the admin API.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminRequest {
    Status,
    /// Replace the plan with a compact one (`PUT /faults {"text": …}`).
    SetPlan(String),
    /// No rules, no laziness, no schedule.
    ClearAll,
    LazyOn,
    LazyOff,
    /// An incident of the service's catalogue, not saying which (`POST /faults/mystery`).
    StartMystery,
}

impl AdminRequest {
    fn parts(&self) -> (reqwest::Method, &'static str, Option<Value>) {
        use reqwest::Method;
        match self {
            AdminRequest::Status => (Method::GET, "/faults", None),
            AdminRequest::SetPlan(text) => (Method::PUT, "/faults", Some(json!({ "text": text }))),
            AdminRequest::ClearAll => (Method::DELETE, "/faults", None),
            AdminRequest::LazyOn => (Method::POST, "/lazy", Some(json!({}))),
            AdminRequest::LazyOff => (Method::DELETE, "/lazy", None),
            AdminRequest::StartMystery => (Method::POST, "/faults/mystery", Some(json!({}))),
        }
    }
}

/// `GET /faults`'s answer, the parts the screen shows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FaultStatus {
    #[serde(default)]
    pub plan: Plan,
    #[serde(default)]
    pub lazy: Lazy,
    #[serde(default)]
    pub injected: Vec<Injected>,
    #[serde(default)]
    pub mystery: Option<Mystery>,
}

/// A mystery: a secret while it runs untold (`"running"`, and nothing else is told), or, once
/// guessed or revealed, the incident's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Mystery {
    Secret(String),
    Told { name: String },
}

impl FaultStatus {
    /// A mystery runs and is still a secret.
    pub fn secret(&self) -> bool {
        matches!(self.mystery, Some(Mystery::Secret(_)))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Plan {
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Lazy {
    #[serde(default)]
    pub on: bool,
    #[serde(default)]
    pub level: f64,
    pub remaining_s: Option<f64>,
    #[serde(default)]
    pub settings: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Injected {
    pub target: String,
    pub kind: String,
    pub count: u64,
}

impl FaultStatus {
    /// What a change of this status is called on the charts' annotations, if it changed
    /// from `before`: the plan, or lazy mode turned on or off.
    pub fn change_from(&self, before: &FaultStatus) -> Option<String> {
        if self.secret() != before.secret() {
            return Some(match &self.mystery {
                Some(Mystery::Secret(_)) => "a mystery".to_owned(),
                Some(Mystery::Told { name }) => format!("mystery told: {name}"),
                None => "mystery over".to_owned(),
            });
        }
        if self.plan.text != before.plan.text {
            return Some(if self.plan.text.is_empty() {
                "plan cleared".to_owned()
            } else {
                format!("plan: {}", self.plan.text)
            });
        }
        (self.lazy.on != before.lazy.on)
            .then(|| if self.lazy.on { "lazy on" } else { "lazy off" }.to_owned())
    }
}

#[derive(Debug, Clone)]
pub struct Admin {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Admin {
    pub fn new(base: &str, token: String) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), token, client: reqwest::Client::new() }
    }

    /// Sends `request`; the status after it, as every answer of the API is.
    pub async fn send(&self, request: &AdminRequest) -> Result<FaultStatus, AdminError> {
        let (method, path, body) = request.parts();
        let url = format!("{}{path}", self.base);
        let unreachable = |source| AdminError::Unreachable { url: url.clone(), source };
        let mut call = self
            .client
            .request(method, &url)
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(5));
        if let Some(body) = body {
            call = call.json(&body);
        }
        let response = call.send().await.map_err(unreachable)?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(unreachable)?;
        if !status.is_success() {
            let message =
                answer["error"].as_str().map_or_else(|| answer.to_string(), str::to_owned);
            return Err(AdminError::Refused { status: status.as_u16(), message });
        }
        serde_json::from_value(answer).map_err(|source| AdminError::Unreadable { url, source })
    }
}

/// The fault presets the `f` menu offers: a name and a compact plan (docs/faults.md), or
/// `None` for "everything off".
pub const PRESETS: &[(&str, Option<&str>)] = &[
    ("everything off (plan, lazy mode, schedule)", None),
    ("slow snack list: 200±50 ms", Some("GET /snacks/ latency=200ms±50ms")),
    (
        "long tail everywhere: 30 % log-normal",
        Some("* latency=lognormal(median=300ms,p99=3s) p=0.3"),
    ),
    (
        "flaky add-snack: 10 % unavailable",
        Some("DrawerRepository::add_snack error=unavailable p=0.1"),
    ),
    ("broken drawer reads: 5 % internal", Some("GET /drawers/{id} error=internal p=0.05")),
    ("writes that land but fail: 20 %", Some("POST /drawers/{id} error-after p=0.2")),
    ("hanging store: 2 % of drawer calls", Some("DrawerRepository::* hang p=0.02")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_status() {
        let answer = json!({
            "active": true,
            "plan": {"text": "GET /snacks/ latency=200ms", "rules": []},
            "lazy": {"on": true, "level": 0.42, "remaining_s": 107.3, "schedule": null,
                     "settings": "naps p=0.5, refuses p=0.1, ramp 5s"},
            "injected": [{"target": "GET /snacks/", "kind": "latency", "count": 118}]
        });
        let status: FaultStatus = serde_json::from_value(answer).unwrap();
        assert_eq!(status.plan.text, "GET /snacks/ latency=200ms");
        assert_eq!(status.lazy.level, 0.42);
        assert_eq!(status.injected[0].count, 118);
    }

    #[test]
    fn reads_a_mystery_secret_and_told() {
        let secret: FaultStatus = serde_json::from_value(json!({
            "active": true, "mystery": "running", "started_at": "2026-12-07T06:31:49.409Z"
        }))
        .unwrap();
        assert!(secret.secret());
        let told: FaultStatus = serde_json::from_value(json!({
            "plan": {"text": "process log-flood(rate=500/s)", "rules": []},
            "mystery": {"name": "log-flood", "symptom": "…", "plan": "process log-flood(rate=500/s)",
                        "started_at": "2026-12-07T06:31:49.409Z", "took_s": 3.0, "solved": false}
        }))
        .unwrap();
        assert!(!told.secret());
        assert_eq!(told.mystery, Some(Mystery::Told { name: "log-flood".into() }));
        assert_eq!(told.change_from(&secret).as_deref(), Some("mystery told: log-flood"));
        assert!(serde_json::from_value::<FaultStatus>(json!({"mystery": 7})).is_err());
    }

    #[test]
    fn names_a_change_of_plan_or_of_lazy_mode_and_nothing_else() {
        let calm = FaultStatus::default();
        let mut lazy = calm.clone();
        lazy.lazy.on = true;
        assert_eq!(lazy.change_from(&calm).as_deref(), Some("lazy on"));
        let mut ramping = lazy.clone();
        ramping.lazy.level = 0.5;
        assert_eq!(ramping.change_from(&lazy), None);
        assert_eq!(calm.change_from(&lazy).as_deref(), Some("lazy off"));
        let mut planned = calm.clone();
        planned.plan.text = "* hang".into();
        assert_eq!(planned.change_from(&calm).as_deref(), Some("plan: * hang"));
    }
}
