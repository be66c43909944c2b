//! A small Snackdrawer look-alike that keeps the API's contract in all but one way, chosen per
//! test: it shows other users' drawers, accepts unsigned (`alg: none`) tokens, or answers 500 to
//! malformed JSON. It lives only here, never in the service.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

const SECRET: &[u8] = b"the broken target's own secret, not one to guess";
const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Breakage {
    ShowsForeignDrawers,
    AcceptsUnsignedTokens,
    FailsOnMalformedJson,
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
    let app = Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/auth/users", post(register))
        .route("/auth/login", post(log_in))
        .route("/snacks/", get(list_snacks).post(add_snack))
        .route("/drawers/", get(list_drawers).post(create_drawer))
        .route("/drawers/{id}", get(show_drawer).post(fill_drawer).delete(delete_drawer))
        .route("/drawers/{id}/snacks/{snack}", axum::routing::delete(take_out))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "no route").into_response() })
        .method_not_allowed_fallback(|| async {
            refuse(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(target);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// An error answer in the API's shape.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let Self(status, description) = self;
        let reason = status.canonical_reason().unwrap_or_default();
        let text = format!("{} {reason}: {description}", status.as_u16());
        (status, axum::Json(json!({"error": text}))).into_response()
    }
}

fn refuse(status: StatusCode, description: &str) -> Refusal {
    Refusal(status, description.to_owned())
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

    fn caller(&self, headers: &HeaderMap) -> Result<u64, Refusal> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let token =
            header("x-access-token").or_else(|| header("authorization")?.strip_prefix("Bearer "));
        let token =
            token.ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "no authentication token"))?;
        let invalid = || refuse(StatusCode::UNAUTHORIZED, "invalid authentication token");
        let claims = if self.breakage == Breakage::AcceptsUnsignedTokens && unsigned(token) {
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
    target.caller(&headers)?;
    let name = text(&target.body(&bytes)?, "name")?;
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(refuse(StatusCode::BAD_REQUEST, "name must be 1 to 64 characters"));
    }
    let mut data = target.data.lock().unwrap();
    data.snacks.push(name.clone());
    answer(StatusCode::CREATED, json!({"snack": {"id": data.snacks.len(), "name": name}}))
}

async fn list_drawers(State(target): State<Target>, headers: HeaderMap) -> Answer {
    let me = target.caller(&headers)?;
    let data = target.data.lock().unwrap();
    let mine = data.drawers.iter().filter(|(_, (owner, _, _))| *owner == me);
    let drawers: Vec<Value> =
        mine.map(|(id, (_, name, _))| json!({"id": id, "name": name})).collect();
    answer(StatusCode::OK, json!({"drawers": drawers}))
}

async fn create_drawer(State(target): State<Target>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let me = target.caller(&headers)?;
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
    let me = target.caller(&headers)?;
    let id = Target::drawer_id(&id)?;
    let data = target.data.lock().unwrap();
    let visible = |owner: u64| owner == me || target.breakage == Breakage::ShowsForeignDrawers;
    let drawer = data.drawers.get(&id).filter(|(owner, _, _)| visible(*owner));
    let not_found = || refuse(StatusCode::NOT_FOUND, &format!("drawer with ID == {id} not found"));
    let (_, name, contents) = drawer.ok_or_else(not_found)?;
    let contents =
        contents.iter().map(|snack| json!({"id": snack, "name": data.snacks[*snack as usize - 1]}));
    answer(
        StatusCode::OK,
        json!({"drawer": {"id": id, "name": name, "contents": contents.collect::<Vec<_>>()}}),
    )
}

/// Runs `change` on the caller's own drawer `id`; someone else's is as missing as a missing one.
fn change_own_drawer(
    target: &Target,
    headers: &HeaderMap,
    id: &str,
    change: impl FnOnce(&mut Data, u64) -> Answer,
) -> Answer {
    let me = target.caller(headers)?;
    let id = Target::drawer_id(id)?;
    let mut data = target.data.lock().unwrap();
    if data.drawers.get(&id).is_none_or(|(owner, _, _)| *owner != me) {
        return Err(refuse(StatusCode::NOT_FOUND, &format!("drawer with ID {id} does not exist")));
    }
    change(&mut data, id)
}

async fn fill_drawer(
    State(target): State<Target>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    target.caller(&headers)?;
    let body = target.body(&bytes)?;
    change_own_drawer(&target, &headers, &id, |data, id| {
        let known = 1..=data.snacks.len() as u64;
        let snack = body["snack"].as_u64().filter(|snack| known.contains(snack));
        let snack = snack
            .ok_or_else(|| refuse(StatusCode::UNPROCESSABLE_ENTITY, "snack does not exist"))?;
        if !data.drawers.get_mut(&id).unwrap().2.insert(snack) {
            return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "snack already in drawer"));
        }
        answer(StatusCode::CREATED, json!({"message": "snack added to drawer"}))
    })
}

async fn delete_drawer(
    State(target): State<Target>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    change_own_drawer(&target, &headers, &id, |data, id| {
        data.drawers.remove(&id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

async fn take_out(
    State(target): State<Target>,
    headers: HeaderMap,
    Path((id, snack)): Path<(String, String)>,
) -> Answer {
    change_own_drawer(&target, &headers, &id, |data, id| {
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
}
