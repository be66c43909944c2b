//! `/snacks/`: the global catalogue.

use super::extract::{Caller, JsonBody, PathIds};
use super::{ApiError, openapi};
use crate::domain::{Snack, SnackId, SnackName};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A snack of the global catalogue.
#[derive(Serialize, ToSchema)]
#[schema(as = Snack)]
pub struct SnackView {
    #[schema(schema_with = openapi::id)]
    id: i64,
    #[schema(example = "dark chocolate")]
    name: String,
}

impl From<Snack> for SnackView {
    fn from(snack: Snack) -> Self {
        Self { id: snack.id.get(), name: snack.name.into_string() }
    }
}

/// The whole catalogue, in id order.
#[derive(Serialize, ToSchema)]
#[schema(as = SnackList)]
pub struct SnackList {
    snacks: Vec<SnackView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OneSnack)]
pub struct OneSnack {
    snack: SnackView,
}

/// A snack to add to the catalogue.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewSnack)]
pub struct NewSnack {
    /// Unique across the catalogue, compared exactly.
    #[schema(schema_with = openapi::name)]
    name: String,
}

/// The 429 of every route that writes to the lists (`POST /snacks/` and the drawer routes).
pub(super) const WRITE_RATE: &str = "`too many writes from this user, retry in 1 s`: the \
    caller wrote faster than `SNACKDRAWER_WRITE_RATE_PER_USER` allows.";

#[utoipa::path(
    get,
    path = "/snacks/",
    operation_id = "list_snacks",
    tag = "catalogue",
    responses((status = 200, description = "The catalogue, in id order.", body = SnackList))
)]
pub async fn list<U: UseCases>(State(app): State<Arc<U>>) -> Result<Json<SnackList>, ApiError> {
    let snacks = app.list_snacks().await?.into_iter().map(SnackView::from).collect();
    Ok(Json(SnackList { snacks }))
}

#[utoipa::path(
    get,
    path = "/snacks/{id}",
    operation_id = "get_snack",
    tag = "catalogue",
    params(("id" = i64, Path, description = "The snack's id.", minimum = 1)),
    responses(
        (status = 200, description = "The snack.", body = OneSnack),
        (status = 400, description = "`snack ID must be >= 1`."),
        (status = 404, description = "No snack has that id."),
    )
)]
pub async fn get<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
) -> Result<Json<OneSnack>, ApiError> {
    let snack = app.get_snack(SnackId::new(id)?).await?;
    Ok(Json(OneSnack { snack: snack.into() }))
}

#[utoipa::path(
    post,
    path = "/snacks/",
    operation_id = "create_snack",
    tag = "catalogue",
    request_body = NewSnack,
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 201, description = "The snack is in the catalogue.", body = OneSnack, links(
            ("get_snack" = (operation_id = "get_snack", parameters(("id" = "$response.body#/snack/id")),
                description = "Read the new snack back.")),
        )),
        (status = 400, description = "A bad body, or a name out of its limits."),
        (status = 409, description = "`catalogue limit reached: the catalogue may hold at most \
            10000 snacks` (`SNACKDRAWER_MAX_CATALOGUE_SNACKS`)."),
        (status = 422, description = "A snack of that name exists already."),
        (status = 429, description = WRITE_RATE),
    )
)]
pub async fn create<U: UseCases>(
    State(app): State<Arc<U>>,
    Caller(caller): Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<OneSnack>), ApiError> {
    let name = SnackName::parse(body.parse::<NewSnack>()?.name)?;
    let snack = app.create_snack(caller, name).await?;
    Ok((StatusCode::CREATED, Json(OneSnack { snack: snack.into() })))
}
