//! `/drawers/`: each user's private drawers.

use super::ApiError;
use super::extract::{Caller, JsonBody, PathIds};
use super::snacks::SnackView;
use crate::domain::{Drawer, DrawerId, DrawerName, SnackId};
use crate::ports::UseCases;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A drawer as listings show it: no contents.
#[derive(Serialize)]
pub struct DrawerSummaryView {
    id: i64,
    name: String,
}

#[derive(Serialize)]
pub struct DrawerView {
    contents: Vec<SnackView>,
    id: i64,
    name: String,
}

impl DrawerView {
    fn new(drawer: Drawer, contents: Vec<SnackView>) -> Self {
        Self { contents, id: drawer.id.get(), name: drawer.name.into_string() }
    }
}

#[derive(Serialize)]
pub struct DrawerList {
    drawers: Vec<DrawerSummaryView>,
}

#[derive(Serialize)]
pub struct OneDrawer {
    drawer: DrawerView,
}

#[derive(Serialize)]
pub struct Message {
    message: &'static str,
}

#[derive(Deserialize)]
pub struct NewDrawer {
    name: String,
}

#[derive(Deserialize)]
pub struct SnackToAdd {
    snack: i64,
}

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

pub async fn create<U: UseCases>(
    State(app): State<Arc<U>>,
    Caller(caller): Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<OneDrawer>), ApiError> {
    let name = DrawerName::parse(body.parse::<NewDrawer>()?.name)?;
    let drawer = app.create_drawer(caller, name).await?;
    Ok((StatusCode::CREATED, Json(OneDrawer { drawer: DrawerView::new(drawer, Vec::new()) })))
}

pub async fn get<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
    Caller(caller): Caller,
) -> Result<Json<OneDrawer>, ApiError> {
    let found = app.get_drawer(caller, DrawerId::new(id)?).await?;
    let contents = found.contents.into_iter().map(SnackView::from).collect();
    Ok(Json(OneDrawer { drawer: DrawerView::new(found.drawer, contents) }))
}

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

pub async fn delete<U: UseCases>(
    State(app): State<Arc<U>>,
    PathIds([id]): PathIds<1>,
    Caller(caller): Caller,
) -> Result<StatusCode, ApiError> {
    app.delete_drawer(caller, DrawerId::new(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
