//! `/drawers/`: each user's private drawers.

use super::extract::{Caller, JsonBody, PathIds, integer};
use super::snacks::{SnackView, WRITE_RATE};
use super::{ApiError, openapi};
use crate::domain::{Drawer, DrawerId, DrawerName, Snack, SnackId};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A drawer as listings show it: no contents.
#[derive(Serialize, ToSchema)]
#[schema(as = DrawerSummary)]
pub struct DrawerSummaryView {
    #[schema(schema_with = openapi::id)]
    id: i64,
    #[schema(example = "desk")]
    name: String,
}

/// A drawer and what is in it.
#[derive(Serialize, ToSchema)]
#[schema(as = Drawer)]
pub struct DrawerView<'a> {
    /// The snacks in the drawer, in snack-id order.
    contents: Vec<SnackView<'a>>,
    #[schema(schema_with = openapi::id)]
    id: i64,
    #[schema(example = "desk")]
    name: &'a str,
}

impl<'a> DrawerView<'a> {
    fn new(drawer: &'a Drawer, contents: &'a [Snack]) -> Self {
        let contents = contents.iter().map(SnackView::from).collect();
        Self { contents, id: drawer.id.get(), name: drawer.name.as_str() }
    }
}

/// The caller's drawers, in id order, without their contents.
#[derive(Serialize, ToSchema)]
#[schema(as = DrawerList)]
pub struct DrawerList {
    drawers: Vec<DrawerSummaryView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OneDrawer)]
pub struct OneDrawer<'a> {
    drawer: DrawerView<'a>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Message)]
pub struct Message {
    #[schema(example = "snack added to drawer")]
    message: &'static str,
}

/// A drawer to create.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewDrawer)]
pub struct NewDrawer {
    /// Unique among the caller's drawers (other users may use it too), compared exactly.
    #[schema(schema_with = openapi::name)]
    name: String,
}

/// A snack to put in a drawer.
#[derive(Deserialize, ToSchema)]
#[schema(as = SnackToAdd)]
pub struct SnackToAdd {
    /// The id of a snack of the catalogue.
    #[schema(schema_with = openapi::id)]
    #[serde(deserialize_with = "integer")]
    snack: i64,
}

/// The path parameter that names a drawer (the routes below share it).
const DRAWER_ID: &str = "The drawer's id; another user's drawer answers as a missing one.";

#[utoipa::path(
    get,
    path = "/drawers/",
    operation_id = "list_drawers",
    tag = "drawers",
    security(("bearer" = []), ("access_token" = [])),
    responses((status = 200, description = "The caller's drawers, in id order.", body = DrawerList))
)]
pub async fn list<U: UseCases>(
    State(app): State<Arc<U>>,
    Caller(caller): Caller,
) -> Result<Json<DrawerList>, ApiError> {
    let drawers = app
        .list_drawers(caller)
        .await?
        .into_iter()
        .map(|d| DrawerSummaryView { id: d.id.get(), name: d.name.into_string() })
        .collect();
    Ok(Json(DrawerList { drawers }))
}

#[utoipa::path(
    post,
    path = "/drawers/",
    operation_id = "create_drawer",
    tag = "drawers",
    request_body = NewDrawer,
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 201, description = "The drawer exists, empty.", body = OneDrawer, links(
            ("add_snack_to_drawer" = (operation_id = "add_snack_to_drawer",
                parameters(("id" = "$response.body#/drawer/id")),
                description = "Put a snack in the new drawer.")),
            ("get_drawer" = (operation_id = "get_drawer",
                parameters(("id" = "$response.body#/drawer/id")),
                description = "Read the new drawer back.")),
            ("delete_drawer" = (operation_id = "delete_drawer",
                parameters(("id" = "$response.body#/drawer/id")),
                description = "Delete the new drawer.")),
        )),
        (status = 400, description = "A bad body, or a name out of its limits."),
        (status = 409, description = "`drawer limit reached: a user may have at most 1000 \
            drawers` (`SNACKDRAWER_MAX_DRAWERS_PER_USER`)."),
        (status = 422, description = "The caller has a drawer of that name already."),
        (status = 429, description = WRITE_RATE),
    )
)]
pub async fn create<U: UseCases>(
    State(app): State<Arc<U>>,
    Caller(caller): Caller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let name = DrawerName::parse(body.parse::<NewDrawer>()?.name)?;
    let drawer = app.create_drawer(caller, name).await?;
    let created = OneDrawer { drawer: DrawerView::new(&drawer, &[]) };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    get,
    path = "/drawers/{id}",
    operation_id = "get_drawer",
    tag = "drawers",
    params(("id" = i64, Path, description = DRAWER_ID, minimum = 1)),
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 200, description = "The drawer and its contents.", body = OneDrawer),
        (status = 400, description = "`drawer ID must be >= 1`."),
        (status = 404, description = "`drawer with ID == 9 not found`: missing, or someone else's."),
    )
)]
pub async fn get<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let found = app.get_drawer(caller, DrawerId::new(id)?).await?;
    Ok(Json(OneDrawer { drawer: DrawerView::new(&found.drawer, &found.contents) }).into_response())
}

#[utoipa::path(
    post,
    path = "/drawers/{id}",
    operation_id = "add_snack_to_drawer",
    tag = "drawers",
    params(("id" = i64, Path, description = DRAWER_ID, minimum = 1)),
    request_body = SnackToAdd,
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 201, description = "The snack is in the drawer.", body = Message, links(
            ("get_drawer" = (operation_id = "get_drawer", parameters(("id" = "$request.path.id")),
                description = "Read the drawer with its new snack.")),
            ("take_snack_from_drawer" = (operation_id = "take_snack_from_drawer",
                parameters(("id" = "$request.path.id"), ("snack_id" = "$request.body#/snack")),
                description = "Take the snack out again.")),
        )),
        (status = 400, description = "A drawer id or snack id below 1, or a bad body."),
        (status = 404, description = "`drawer with ID 9 does not exist`: missing, or someone else's."),
        (status = 409, description = "`drawer with ID 9 is full: a drawer may hold at most \
            1000 snacks` (`SNACKDRAWER_MAX_SNACKS_PER_DRAWER`)."),
        (status = 422, description = "The snack does not exist, or is in the drawer already."),
        (status = 429, description = WRITE_RATE),
    )
)]
pub async fn add_snack<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
    Caller(caller): Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let drawer = DrawerId::new(id)?;
    let snack = SnackId::new(body.parse::<SnackToAdd>()?.snack)?;
    app.put_snack_in_drawer(caller, drawer, snack).await?;
    Ok((StatusCode::CREATED, Json(Message { message: "snack added to drawer" })))
}

#[utoipa::path(
    delete,
    path = "/drawers/{id}/snacks/{snack_id}",
    operation_id = "take_snack_from_drawer",
    tag = "drawers",
    params(
        ("id" = i64, Path, description = DRAWER_ID, minimum = 1),
        ("snack_id" = i64, Path, description = "The snack's id.", minimum = 1),
    ),
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 204, description = "The snack is out of the drawer; it stays in the catalogue."),
        (status = 400, description = "A drawer id or snack id below 1."),
        (status = 404, description = "No such drawer of the caller's, or the snack is not in it."),
        (status = 429, description = WRITE_RATE),
    )
)]
pub async fn take_snack<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id, snack_id]): PathIds<2>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    let drawer = DrawerId::new(id)?;
    let snack = SnackId::new(snack_id)?;
    app.take_snack_from_drawer(caller, drawer, snack).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/drawers/{id}",
    operation_id = "delete_drawer",
    tag = "drawers",
    params(("id" = i64, Path, description = DRAWER_ID, minimum = 1)),
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 204, description = "The drawer and its contents are gone.", links(
            ("get_drawer" = (operation_id = "get_drawer", parameters(("id" = "$request.path.id")),
                description = "A deleted drawer answers 404.")),
        )),
        (status = 400, description = "`drawer ID must be >= 1`."),
        (status = 404, description = "`drawer with ID 9 does not exist`: missing, or someone else's."),
        (status = 429, description = WRITE_RATE),
    )
)]
pub async fn delete<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    app.delete_drawer(caller, DrawerId::new(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
