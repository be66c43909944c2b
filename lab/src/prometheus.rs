//! Prometheus's HTTP API, for when a real Prometheus evaluates `ops/prometheus/rules.yml`: the
//! recorded SLI ratios in one instant query, and the alerts with their states.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every ratio the rules record, in one selector.
const RATIOS: &str = r#"{__name__=~"snackdrawer:http_request_(errors|slow):ratio_rate.+"}"#;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleReadings {
    /// `snackdrawer:http_request_errors:ratio_rate5m` → its value.
    pub ratios: BTreeMap<String, f64>,
    /// Alert name → `pending` or `firing` (inactive alerts are not listed).
    pub alerts: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Answer<T> {
    data: T,
}

#[derive(Deserialize)]
struct Vector {
    result: Vec<VectorSample>,
}

#[derive(Deserialize)]
struct VectorSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct Alerts {
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
struct Alert {
    labels: BTreeMap<String, String>,
    state: String,
}

#[derive(Debug, Clone)]
pub struct Prometheus {
    base: String,
    client: reqwest::Client,
}

impl Prometheus {
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), client: reqwest::Client::new() }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, reqwest::Error> {
        let answer: Answer<T> = self
            .client
            .get(format!("{}{path}", self.base))
            .query(query)
            .timeout(Duration::from_secs(2))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(answer.data)
    }

    pub async fn read(&self) -> Result<RuleReadings, reqwest::Error> {
        let vector: Vector = self.get("/api/v1/query", &[("query", RATIOS)]).await?;
        let alerts: Alerts = self.get("/api/v1/alerts", &[]).await?;
        Ok(RuleReadings {
            ratios: vector
                .result
                .into_iter()
                .filter_map(|s| Some((s.metric.get("__name__")?.clone(), s.value.1.parse().ok()?)))
                .collect(),
            alerts: alerts
                .alerts
                .into_iter()
                .filter_map(|a| Some((a.labels.get("alertname")?.clone(), a.state)))
                .collect(),
        })
    }
}
