//! Probes for orchestrators: `/healthz` says the process is alive (it never looks at the
//! database, so a database outage does not get every replica restarted); `/readyz` says whether
//! this replica can serve now, and answers 503 while its store cannot.

use super::ApiError;
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz<U: UseCases>(State(app): State<Arc<U>>) -> Result<Json<Value>, ApiError> {
    app.readiness().await?;
    Ok(Json(json!({ "status": "ready" })))
}
