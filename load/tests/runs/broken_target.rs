//! A small Snackdrawer look-alike that keeps the API's contract in all but one way, chosen per
//! test (`Breakage`): each is a way a service can look right to a client that checks one answer
//! at a time. It lives only here, never in the service.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &[u8] = b"the broken target's own secret, not one to guess";
const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Breakage {
    ShowsForeignDrawers,
    AcceptsUnsignedTokens,
    /// Unsigned tokens, only on `/drawers/{id}` (any method).
    AcceptsUnsignedTokensOnDrawerIds,
    /// Unsigned tokens, only on `POST` (any route).
    AcceptsUnsignedTokensOnPost,
    FailsOnMalformedJson,
    /// Someone else's drawer answers 503 with `Retry-After`, a missing one 404.
    ShedsForeignDrawers,
    /// Someone else's drawer's 404 carries `X-Drawer-Owner`.
    NamesForeignDrawersOwner,
    /// Someone else's drawer answers 404 like a missing one, 50 ms later.
    SlowOnForeignDrawers,
    /// Someone else's drawer answers only after ten minutes, long after any client gave up.
    HangsOnForeignDrawers,
    /// Everything but `/healthz` answers 503 with `Retry-After`.
    ShedsEverything,
    /// Registering and logging in answer 429 with `Retry-After`, as the login limits would.
    LimitsLogins,
    /// Every fourth answer is a 500 and every fourth another is late, each marked
    /// `x-fault-injected: true`, as the service marks the faults it was told to inject; the 500
    /// replaces the answer after the handler ran, as a fault after a write would. Not a breakage:
    /// a clean run must come of it.
    InjectsMarkedFaults,
}

#[derive(Default)]
struct Data {
    users: Vec<(String, String)>,
    snacks: Vec<String>,
    /// Drawer id to owner (user id), name and contents.
    drawers: BTreeMap<u64, (u64, String, BTreeSet<u64>)>,
}

#[derive(Clone)]
struct Target {
    breakage: Breakage,
    data: Arc<Mutex<Data>>,
}

/// Serves the target on a free loopback port, on the current runtime; returns its base URL.
pub async fn serve(breakage: Breakage) -> String {
    let data = Data { snacks: vec!["chips".into(), "pretzels".into()], ..Data::default() };
    let target = Target { breakage, data: Arc::new(Mutex::new(data)) };
    let app = match breakage {
        Breakage::ShedsEverything => Router::new()
            .route("/healthz", get(healthz))
            .fallback(|| async { shed().into_response() })
            .method_not_allowed_fallback(|| async { shed() }),
        _ => api(target),
    };
    let app = match breakage {
        Breakage::InjectsMarkedFaults => {
            let requests = Arc::new(AtomicU64::new(0));
            app.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
                let turn = requests.fetch_add(1, Ordering::Relaxed) % 4;
                inject_marked_fault(turn, request, next)
            }))
        }
        _ => app,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// The API's routes, as the breakage has them.
fn api(target: Target) -> Router {
    let limited = target.breakage == Breakage::LimitsLogins;
    let auth = |handler: axum::routing::MethodRouter<Target>| {
        if limited { post(|| async { too_many().into_response() }) } else { handler }
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/auth/users", auth(post(register)))
        .route("/auth/login", auth(post(log_in)))
        .route("/snacks/", get(list_snacks).post(add_snack))
        .route("/drawers/", get(list_drawers).post(create_drawer))
        .route("/drawers/{id}", get(show_drawer).post(fill_drawer).delete(delete_drawer))
        .route("/drawers/{id}/snacks/{snack}", axum::routing::delete(take_out))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "no route").into_response() })
        .method_not_allowed_fallback(|| async {
            refuse(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(target)
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// An injected fault on `turn` 0 (a 500 once the handler has run) and 1 (20 ms late), marked;
/// never on the probe, as the service injects none there.
async fn inject_marked_fault(turn: u64, request: Request, next: Next) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    if turn == 1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut response = next.run(request).await;
    if turn == 0 {
        response = refuse(StatusCode::INTERNAL_SERVER_ERROR, "injected fault").into_response();
    }
    if turn <= 1 {
        response.headers_mut().insert("x-fault-injected", HeaderValue::from_static("true"));
    }
    response
}

/// An error answer in the API's shape, with any extra headers.
struct Refusal {
    status: StatusCode,
    description: String,
    headers: Vec<(&'static str, String)>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or_default();
        let text = format!("{} {reason}: {}", self.status.as_u16(), self.description);
        let mut response = (self.status, axum::Json(json!({"error": text}))).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, HeaderValue::from_str(&value).unwrap());
        }
        response
    }
}

impl Refusal {
    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

fn refuse(status: StatusCode, description: &str) -> Refusal {
    Refusal { status, description: description.to_owned(), headers: vec![] }
}

fn shed() -> Refusal {
    let description = "service temporarily unavailable, retry later";
    refuse(StatusCode::SERVICE_UNAVAILABLE, description).with_header("retry-after", "1")
}

fn too_many() -> Refusal {
    let description = "too many requests from this address, retry in 1 s";
    refuse(StatusCode::TOO_MANY_REQUESTS, description).with_header("retry-after", "1")
}

type Answer = Result<Response, Refusal>;

fn answer(status: StatusCode, body: Value) -> Answer {
    Ok((status, axum::Json(body)).into_response())
}

impl Target {
    fn body(&self, bytes: &[u8]) -> Result<Value, Refusal> {
        if bytes.len() > BODY_LIMIT {
            return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large"));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(body) if body.is_object() => Ok(body),
            Ok(_) => Err(refuse(StatusCode::BAD_REQUEST, "request body must be a JSON object")),
            Err(_) if self.breakage == Breakage::FailsOnMalformedJson => {
                Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
            }
            Err(_) => Err(refuse(StatusCode::BAD_REQUEST, "request body is not valid JSON")),
        }
    }

    /// The user the token names, for `method` on `route` (some breakages take unsigned tokens on
    /// some routes only).
    fn caller(&self, headers: &HeaderMap, method: Method, route: &str) -> Result<u64, Refusal> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let token =
            header("x-access-token").or_else(|| header("authorization")?.strip_prefix("Bearer "));
        let token =
            token.ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "no authentication token"))?;
        let invalid = || refuse(StatusCode::UNAUTHORIZED, "invalid authentication token");
        let takes_unsigned = match self.breakage {
            Breakage::AcceptsUnsignedTokens => true,
            Breakage::AcceptsUnsignedTokensOnDrawerIds => route == "/drawers/{id}",
            Breakage::AcceptsUnsignedTokensOnPost => method == Method::POST,
            _ => false,
        };
        let claims = if takes_unsigned && unsigned(token) {
            let payload = URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap_or_default())
                .map_err(|_| invalid())?;
            serde_json::from_slice::<Value>(&payload).map_err(|_| invalid())?
        } else {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_audience(&["snackdrawer"]);
            let key = DecodingKey::from_secret(SECRET);
            jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|_| invalid())?.claims
        };
        claims["user"].as_str().and_then(|user| user.parse().ok()).ok_or_else(invalid)
    }

    fn drawer_id(path: &str) -> Result<u64, Refusal> {
        path.parse().map_err(|_| refuse(StatusCode::NOT_FOUND, "no route"))
    }
}

fn unsigned(token: &str) -> bool {
    let header = token.split('.').next().and_then(|header| URL_SAFE_NO_PAD.decode(header).ok());
    let header = header.and_then(|header| serde_json::from_slice::<Value>(&header).ok());
    header.is_some_and(|header| header["alg"] == "none")
}

fn text(body: &Value, field: &str) -> Result<String, Refusal> {
    let value = body[field].as_str().map(str::to_owned);
    value.ok_or_else(|| refuse(StatusCode::BAD_REQUEST, &format!("invalid request body: {field}")))
}

async fn register(State(target): State<Target>, bytes: Bytes) -> Answer {
    let body = target.body(&bytes)?;
    let (username, password) = (text(&body, "username")?, text(&body, "password")?);
    let mut data = target.data.lock().unwrap();
    data.users.push((username.clone(), password));
    answer(StatusCode::CREATED, json!({"id": data.users.len(), "username": username}))
}

async fn log_in(State(target): State<Target>, bytes: Bytes) -> Answer {
    let body = target.body(&bytes)?;
    let credentials = (text(&body, "username")?, text(&body, "password")?);
    let data = target.data.lock().unwrap();
    let position = data.users.iter().position(|user| *user == credentials);
    let incorrect = || refuse(StatusCode::UNAUTHORIZED, "username or password incorrect");
    let id = position.ok_or_else(incorrect)? + 1;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims =
        json!({"user": id.to_string(), "role": "user", "aud": "snackdrawer", "exp": now + 3600});
    let key = EncodingKey::from_secret(SECRET);
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
    answer(StatusCode::CREATED, json!({"token": token}))
}

async fn list_snacks(State(target): State<Target>) -> Answer {
    let data = target.data.lock().unwrap();
    let snacks = data.snacks.iter().enumerate();
    let snacks: Vec<Value> =
        snacks.map(|(index, name)| json!({"id": index + 1, "name": name})).collect();
    answer(StatusCode::OK, json!({"snacks": snacks}))
}

async fn add_snack(State(target): State<Target>, headers: HeaderMap, bytes: Bytes) -> Answer {
    target.caller(&headers, Method::POST, "/snacks/")?;
    let name = text(&target.body(&bytes)?, "name")?;
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(refuse(StatusCode::BAD_REQUEST, "name must be 1 to 64 characters"));
    }
    let mut data = target.data.lock().unwrap();
    data.snacks.push(name.clone());
    answer(StatusCode::CREATED, json!({"snack": {"id": data.snacks.len(), "name": name}}))
}

async fn list_drawers(State(target): State<Target>, headers: HeaderMap) -> Answer {
    let me = target.caller(&headers, Method::GET, "/drawers/")?;
    let data = target.data.lock().unwrap();
    let mine = data.drawers.iter().filter(|(_, (owner, _, _))| *owner == me);
    let drawers: Vec<Value> =
        mine.map(|(id, (_, name, _))| json!({"id": id, "name": name})).collect();
    answer(StatusCode::OK, json!({"drawers": drawers}))
}

async fn create_drawer(State(target): State<Target>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let me = target.caller(&headers, Method::POST, "/drawers/")?;
    let name = text(&target.body(&bytes)?, "name")?;
    let mut data = target.data.lock().unwrap();
    let id = data.drawers.keys().next_back().map_or(1, |last| last + 1);
    data.drawers.insert(id, (me, name.clone(), BTreeSet::new()));
    answer(StatusCode::CREATED, json!({"drawer": {"id": id, "name": name, "contents": []}}))
}

async fn show_drawer(
    State(target): State<Target>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let me = target.caller(&headers, Method::GET, "/drawers/{id}")?;
    let id = Target::drawer_id(&id)?;
    let missing = format!("drawer with ID == {id} not found");
    if target.breakage != Breakage::ShowsForeignDrawers {
        target.hide_unless_own(me, id, &missing).await?;
    }
    let data = target.data.lock().unwrap();
    let (_, name, contents) =
        data.drawers.get(&id).ok_or_else(|| refuse(StatusCode::NOT_FOUND, &missing))?;
    let contents =
        contents.iter().map(|snack| json!({"id": snack, "name": data.snacks[*snack as usize - 1]}));
    answer(
        StatusCode::OK,
        json!({"drawer": {"id": id, "name": name, "contents": contents.collect::<Vec<_>>()}}),
    )
}

impl Target {
    /// Refuses, as if it were missing, drawer `id` unless it is `me`'s, with `missing` as the
    /// description; or gives away that it exists, as the breakage does.
    async fn hide_unless_own(&self, me: u64, id: u64, missing: &str) -> Result<(), Refusal> {
        let owner = self.data.lock().unwrap().drawers.get(&id).map(|(owner, _, _)| *owner);
        let not_found = || refuse(StatusCode::NOT_FOUND, missing);
        match owner {
            Some(owner) if owner == me => Ok(()),
            None => Err(not_found()),
            Some(owner) => Err(match self.breakage {
                Breakage::ShedsForeignDrawers => shed(),
                Breakage::NamesForeignDrawersOwner => {
                    not_found().with_header("x-drawer-owner", owner.to_string())
                }
                Breakage::SlowOnForeignDrawers => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    not_found()
                }
                Breakage::HangsOnForeignDrawers => {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    not_found()
                }
                _ => not_found(),
            }),
        }
    }
}

/// Runs `change` on the caller's own drawer `id` (`method` on `route`); someone else's is as
/// missing as a missing one.
async fn change_own_drawer(
    target: &Target,
    headers: &HeaderMap,
    (method, route): (Method, &str),
    id: &str,
    change: impl FnOnce(&mut Data, u64) -> Answer,
) -> Answer {
    let me = target.caller(headers, method, route)?;
    let id = Target::drawer_id(id)?;
    let missing = format!("drawer with ID {id} does not exist");
    target.hide_unless_own(me, id, &missing).await?;
    let mut data = target.data.lock().unwrap();
    if !data.drawers.contains_key(&id) {
        return Err(refuse(StatusCode::NOT_FOUND, &missing));
    }
    change(&mut data, id)
}

async fn fill_drawer(
    State(target): State<Target>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let route = (Method::POST, "/drawers/{id}");
    target.caller(&headers, route.0.clone(), route.1)?;
    let body = target.body(&bytes)?;
    change_own_drawer(&target, &headers, route, &id, |data, id| {
        let known = 1..=data.snacks.len() as u64;
        let snack = body["snack"].as_u64().filter(|snack| known.contains(snack));
        let snack = snack
            .ok_or_else(|| refuse(StatusCode::UNPROCESSABLE_ENTITY, "snack does not exist"))?;
        if !data.drawers.get_mut(&id).unwrap().2.insert(snack) {
            return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "snack already in drawer"));
        }
        answer(StatusCode::CREATED, json!({"message": "snack added to drawer"}))
    })
    .await
}

async fn delete_drawer(
    State(target): State<Target>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    change_own_drawer(&target, &headers, (Method::DELETE, "/drawers/{id}"), &id, |data, id| {
        data.drawers.remove(&id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

async fn take_out(
    State(target): State<Target>,
    headers: HeaderMap,
    Path((id, snack)): Path<(String, String)>,
) -> Answer {
    let route = (Method::DELETE, "/drawers/{id}/snacks/{snack_id}");
    change_own_drawer(&target, &headers, route, &id, |data, id| {
        let snack: u64 = snack.parse().map_err(|_| refuse(StatusCode::NOT_FOUND, "no route"))?;
        if data.drawers.get_mut(&id).unwrap().2.remove(&snack) {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(refuse(
                StatusCode::NOT_FOUND,
                &format!("snack with ID {snack} is not in drawer with ID {id}"),
            ))
        }
    })
    .await
}
