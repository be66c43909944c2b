//! Probes for orchestrators: `/healthz` says the process is alive (it never looks at the
//! database, so a database outage does not get every replica restarted); `/readyz` says whether
//! this replica can serve now, and answers 503 while its store cannot.

use super::ApiError;
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// What a probe found.
#[derive(Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `ok` from `/healthz`, `ready` from `/readyz`.
    #[schema(example = "ok")]
    status: &'static str,
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive.", body = ProbeStatus))
)]
pub async fn healthz() -> Json<ProbeStatus> {
    Json(ProbeStatus { status: "ok" })
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "This replica can serve.", body = ProbeStatus),
        (status = 503, description = "Its store cannot answer now."),
    )
)]
pub async fn readyz<U: UseCases>(State(app): State<Arc<U>>) -> Result<Json<ProbeStatus>, ApiError> {
    app.readiness().await?;
    Ok(Json(ProbeStatus { status: "ready" }))
}
