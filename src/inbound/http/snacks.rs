//! `/snacks/`: the global catalogue.

use super::ApiError;
use super::extract::{Caller, JsonBody, PathIds};
use crate::domain::{Snack, SnackId, SnackName};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize)]
pub struct SnackView {
    id: i64,
    name: String,
}

impl From<Snack> for SnackView {
    fn from(snack: Snack) -> Self {
        Self { id: snack.id.get(), name: snack.name.into_string() }
    }
}

#[derive(Serialize)]
pub struct SnackList {
    snacks: Vec<SnackView>,
}

#[derive(Serialize)]
pub struct OneSnack {
    snack: SnackView,
}

#[derive(Deserialize)]
pub struct NewSnack {
    name: String,
}

pub async fn list<U: UseCases>(State(app): State<Arc<U>>) -> Result<Json<SnackList>, ApiError> {
    let snacks = app.list_snacks().await?.into_iter().map(SnackView::from).collect();
    Ok(Json(SnackList { snacks }))
}

pub async fn get<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
) -> Result<Json<OneSnack>, ApiError> {
    let snack = app.get_snack(SnackId::new(id)?).await?;
    Ok(Json(OneSnack { snack: snack.into() }))
}

pub async fn create<U: UseCases>(
    State(app): State<Arc<U>>,
    _caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<OneSnack>), ApiError> {
    let name = SnackName::parse(body.parse::<NewSnack>()?.name)?;
    let snack = app.create_snack(name).await?;
    Ok((StatusCode::CREATED, Json(OneSnack { snack: snack.into() })))
}
