//! `/snacks/`: the global catalogue.
//!
//! The catalogue is the one list every visitor reads, up to 10,000 snacks (about 300 KB of
//! JSON), and it changes seldom. So its body is rendered once per list the store hands out and
//! served as shared bytes until the store hands out another (see `SnackList`): a busy service
//! answers a read of the full catalogue without building it again.

use super::extract::{Caller, JsonBody, PathIds};
use super::{ApiError, openapi};
use crate::domain::{Snack, SnackId, SnackList, SnackName};
use crate::ports::UseCases;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

/// A snack of the global catalogue.
#[derive(Serialize, ToSchema)]
#[schema(as = Snack)]
pub struct SnackView<'a> {
    #[schema(schema_with = openapi::id)]
    id: i64,
    #[schema(example = "dark chocolate")]
    name: &'a str,
}

impl<'a> From<&'a Snack> for SnackView<'a> {
    fn from(snack: &'a Snack) -> Self {
        Self { id: snack.id.get(), name: snack.name.as_str() }
    }
}

/// The whole catalogue, in id order.
#[derive(Serialize, ToSchema)]
#[schema(as = SnackList)]
pub struct SnackListView<'a> {
    snacks: Vec<SnackView<'a>>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OneSnack)]
pub struct OneSnack<'a> {
    snack: SnackView<'a>,
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
    responses((status = 200, description = "The catalogue, in id order.", body = SnackListView))
)]
pub async fn list<U: UseCases>(State(app): State<Arc<U>>) -> Result<Response, ApiError> {
    let body = rendered(app.list_snacks().await?);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The last list rendered and its body. One for the process rather than one per router: it
/// is keyed by the list's identity, which no two routers share, and a static costs the other
/// routes nothing where a request extension would cost each of them an insertion. Holding the
/// list keeps its address from being reused while it is the key.
static LAST_RENDERED: Mutex<Option<(SnackList, Bytes)>> = Mutex::new(None);

/// The JSON body of `snacks`: the last one rendered if it was rendered from this very list.
fn rendered(snacks: SnackList) -> Bytes {
    let last = || LAST_RENDERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((list, body)) = &*last()
        && Arc::ptr_eq(list, &snacks)
    {
        return body.clone();
    }
    // Rendered outside the lock: readers of the current body do not wait for a new one.
    let view = SnackListView { snacks: snacks.iter().map(SnackView::from).collect() };
    // Room for the whole body up front: growing a 500 KB buffer by doubling copies it again
    // and again. Names are counted in bytes; escapes may still grow it a little.
    let room = 16 + snacks.iter().map(|snack| snack.name.as_str().len() + 32).sum::<usize>();
    let mut body = Vec::with_capacity(room);
    serde_json::to_writer(&mut body, &view).expect("a snack list serialises");
    let body = Bytes::from(body);
    *last() = Some((snacks, body.clone()));
    body
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
) -> Result<Response, ApiError> {
    let snack = app.get_snack(SnackId::new(id)?).await?;
    Ok(Json(OneSnack { snack: (&snack).into() }).into_response())
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
) -> Result<Response, ApiError> {
    let name = SnackName::parse(body.parse::<NewSnack>()?.name)?;
    let snack = app.create_snack(caller, name).await?;
    Ok((StatusCode::CREATED, Json(OneSnack { snack: (&snack).into() })).into_response())
}
