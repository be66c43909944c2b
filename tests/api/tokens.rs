//! Every way a token can be wrong answers 401 "invalid authentication token", never a 500,
//! through both token headers; and good tokens, including old-style ones, are accepted. A token
//! names its account, not just an id: it dies with its account and with a reset of the store.

use crate::support::TestApp;
use crate::support::auth::{SECRET, TOKEN_TTL};
use crate::support::stores::{StoreKind, for_each_store};
use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INVALID: &str = "401 Unauthorized: invalid authentication token";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A registered user, as a token names them.
struct Holder {
    id: i64,
    key: String,
}

/// Claims as this service issues them for `holder`.
fn good_claims(holder: &Holder) -> Value {
    json!({
        "exp": now() + 600,
        "iat": now(),
        "aud": "snackdrawer",
        "user": holder.id.to_string(),
        "role": "user",
        "key": holder.key,
    })
}

/// The claims of a token, unchecked.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret))
        .unwrap()
}

fn without(mut claims: Value, field: &str) -> Value {
    claims.as_object_mut().unwrap().remove(field);
    claims
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

/// A test app with one registered user, alice; returns the app and her id and key (read from a
/// token the service issued her).
async fn app_with_user() -> (TestApp, Holder) {
    let app = TestApp::new(StoreKind::Memory).await;
    let id = app.register("alice").await;
    let key = claims_of(&app.log_in("alice").await)["key"].as_str().unwrap().to_owned();
    (app, Holder { id, key })
}

/// Asserts the token is refused on a protected route, through both headers.
async fn assert_refused(app: &TestApp, token: &str) {
    for reply in [
        app.get("/drawers/").token(token).send().await,
        app.get("/drawers/").bearer(token).send().await,
    ] {
        reply.assert_error(401, INVALID);
    }
}

async fn assert_accepted(app: &TestApp, token: &str) {
    for reply in [
        app.get("/drawers/").token(token).send().await,
        app.get("/drawers/").bearer(token).send().await,
    ] {
        assert_eq!(reply.status, 200, "token refused: {}", reply.text);
    }
}

#[tokio::test]
async fn issued_tokens_carry_the_contract_claims() {
    let (app, alice) = app_with_user().await;
    let token = app.log_in("alice").await;
    let claims = claims_of(&token);
    assert_eq!(claims["aud"], "snackdrawer");
    assert_eq!(claims["user"], alice.id.to_string());
    assert_eq!(claims["key"], alice.key);
    assert_eq!(claims["role"], "user");
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, TOKEN_TTL.as_secs());
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["alg"], "HS256");
}

#[tokio::test]
async fn tokens_minted_elsewhere_with_the_secret_are_accepted() {
    let (app, alice) = app_with_user().await;
    assert_accepted(&app, &sign(&good_claims(&alice), Algorithm::HS256, SECRET)).await;
    let numeric_user = with(good_claims(&alice), "user", json!(alice.id));
    assert_accepted(&app, &sign(&numeric_user, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let (app, _) = app_with_user().await;
    let token = app.log_in("alice").await;
    assert_accepted(&app, &token).await;
    app.clock.advance(TOKEN_TTL + Duration::from_secs(1));
    assert_refused(&app, &token).await;
    // An old client's reaction to the 401: log in again, and carry on.
    let fresh = app.log_in("alice").await;
    assert_accepted(&app, &fresh).await;
}

#[tokio::test]
async fn tokens_signed_with_another_secret_are_refused() {
    let (app, alice) = app_with_user().await;
    assert_refused(&app, &sign(&good_claims(&alice), Algorithm::HS256, b"another secret")).await;
}

#[tokio::test]
async fn unsigned_alg_none_tokens_are_refused() {
    let (app, alice) = app_with_user().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good_claims(&alice).to_string());
    assert_refused(&app, &format!("{header}.{payload}.")).await;
    assert_refused(&app, &format!("{header}.{payload}")).await;
}

#[tokio::test]
async fn tokens_with_another_algorithm_are_refused() {
    let (app, alice) = app_with_user().await;
    assert_refused(&app, &sign(&good_claims(&alice), Algorithm::HS512, SECRET)).await;
    assert_refused(&app, &sign(&good_claims(&alice), Algorithm::HS384, SECRET)).await;
}

#[tokio::test]
async fn tokens_for_another_audience_or_none_are_refused() {
    let (app, alice) = app_with_user().await;
    let wrong = with(good_claims(&alice), "aud", json!("someone-else"));
    assert_refused(&app, &sign(&wrong, Algorithm::HS256, SECRET)).await;
    assert_refused(&app, &sign(&without(good_claims(&alice), "aud"), Algorithm::HS256, SECRET))
        .await;
}

#[tokio::test]
async fn tokens_missing_a_claim_are_refused() {
    let (app, alice) = app_with_user().await;
    for claim in ["exp", "user", "role", "key"] {
        let token = sign(&without(good_claims(&alice), claim), Algorithm::HS256, SECRET);
        assert_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn tokens_with_a_malformed_user_are_refused() {
    let (app, alice) = app_with_user().await;
    for user in [
        json!("abc"),
        json!("-1"),
        json!("0"),
        json!(0),
        json!(-3),
        json!(""),
        json!(null),
        json!([alice.id]),
        json!("+1"),
        json!(1.5),
    ] {
        let token =
            sign(&with(good_claims(&alice), "user", user.clone()), Algorithm::HS256, SECRET);
        assert_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn malformed_exp_is_refused() {
    let (app, alice) = app_with_user().await;
    for exp in [json!("tomorrow"), json!(-1), json!(null)] {
        let token = sign(&with(good_claims(&alice), "exp", exp), Algorithm::HS256, SECRET);
        assert_refused(&app, &token).await;
    }
}

#[tokio::test]
async fn garbage_is_refused() {
    let (app, _) = app_with_user().await;
    for garbage in ["abc", "a.b.c", "Bearer", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "é"] {
        assert_refused(&app, garbage).await;
    }
}

#[tokio::test]
async fn authorization_header_needs_the_bearer_scheme() {
    let (app, _) = app_with_user().await;
    let token = app.log_in("alice").await;
    let reply =
        app.get("/drawers/").header("authorization", &format!("Basic {token}")).send().await;
    reply.assert_error(401, INVALID);
    let reply =
        app.get("/drawers/").header("authorization", &format!("bearer {token}")).send().await;
    assert_eq!(reply.status, 200, "the scheme is case-insensitive: {}", reply.text);
}

#[tokio::test]
async fn only_the_user_role_is_accepted() {
    let (app, alice) = app_with_user().await;
    let admin = with(good_claims(&alice), "role", json!("admin"));
    assert_refused(&app, &sign(&admin, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn an_audience_list_holding_ours_is_accepted() {
    let (app, alice) = app_with_user().await;
    let listed = with(good_claims(&alice), "aud", json!(["other", "snackdrawer"]));
    assert_accepted(&app, &sign(&listed, Algorithm::HS256, SECRET)).await;
    let without_iat = without(good_claims(&alice), "iat");
    assert_accepted(&app, &sign(&without_iat, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn an_empty_token_header_counts_as_absent() {
    let (app, _) = app_with_user().await;
    let token = app.log_in("alice").await;
    let reply = app.get("/drawers/").header("x-access-token", "").send().await;
    reply.assert_error(401, "401 Unauthorized: no authentication token");
    let reply = app.get("/drawers/").header("x-access-token", "").bearer(&token).send().await;
    assert_eq!(
        reply.status, 200,
        "an empty x-access-token must not hide Authorization: {}",
        reply.text
    );
}

#[tokio::test]
async fn x_access_token_wins_over_authorization() {
    let (app, _) = app_with_user().await;
    let token = app.log_in("alice").await;
    let reply = app.get("/drawers/").token(&token).bearer("garbage").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app.get("/drawers/").token("garbage").bearer(&token).send().await;
    reply.assert_error(401, INVALID);
}

#[tokio::test]
async fn a_token_header_sent_twice_is_refused() {
    let (app, _) = app_with_user().await;
    let token = app.log_in("alice").await;
    for (first, second) in [(token.as_str(), "garbage"), ("garbage", token.as_str())] {
        let reply = app.get("/drawers/").token(first).token(second).send().await;
        reply.assert_error(401, INVALID);
        let reply = app.get("/drawers/").bearer(first).bearer(second).send().await;
        reply.assert_error(401, INVALID);
    }
}

#[tokio::test]
async fn refusals_ask_for_a_bearer_token() {
    let app = TestApp::new(StoreKind::Memory).await;
    let reply = app.get("/drawers/").send().await;
    reply.assert_error(401, "401 Unauthorized: no authentication token");
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    let reply = app.get("/drawers/").token("garbage").send().await;
    assert_eq!(reply.headers["www-authenticate"], r#"Bearer error="invalid_token""#);
    let login =
        app.post("/auth/login").json(json!({"username": "nobody", "password": "x"})).send().await;
    assert_eq!(login.status, 401);
    assert!(
        !login.headers.contains_key("www-authenticate"),
        "a failed login is not a token problem"
    );
}

#[tokio::test]
async fn a_token_is_valid_through_the_second_exp_names() {
    let (app, _) = app_with_user().await;
    let token = app.log_in("alice").await;
    app.clock.advance(TOKEN_TTL);
    assert_accepted(&app, &token).await;
    app.clock.advance(Duration::from_secs(1));
    assert_refused(&app, &token).await;
}

#[tokio::test]
async fn tokens_not_valid_yet_or_issued_in_the_future_are_refused() {
    let (app, alice) = app_with_user().await;
    for claim in ["nbf", "iat"] {
        let later = with(good_claims(&alice), claim, json!(now() + 120));
        assert_refused(&app, &sign(&later, Algorithm::HS256, SECRET)).await;
        let skewed = with(good_claims(&alice), claim, json!(now() + 30));
        assert_accepted(&app, &sign(&skewed, Algorithm::HS256, SECRET)).await;
        let malformed = with(good_claims(&alice), claim, json!("soon"));
        assert_refused(&app, &sign(&malformed, Algorithm::HS256, SECRET)).await;
    }
    let past = with(good_claims(&alice), "nbf", json!(now() - 10));
    assert_accepted(&app, &sign(&past, Algorithm::HS256, SECRET)).await;
}

#[tokio::test]
async fn a_token_without_its_account_key_is_refused() {
    let (app, alice) = app_with_user().await;
    let other_key = Holder { id: alice.id, key: "0123456789abcdef0123456789abcdef".into() };
    assert_refused(&app, &sign(&good_claims(&other_key), Algorithm::HS256, SECRET)).await;
    for key in [json!(""), json!(7), json!("not a key!")] {
        let token = sign(&with(good_claims(&alice), "key", key), Algorithm::HS256, SECRET);
        assert_refused(&app, &token).await;
    }
}

/// Every route that needs a token, once, as a request that would succeed for user 1 owning
/// drawer 1; each must answer 401 `invalid authentication token` to `token`.
async fn assert_refused_on_every_route(app: &TestApp, token: &str) {
    let calls = [
        (Method::GET, "/drawers/", None),
        (Method::POST, "/drawers/", Some(json!({"name": "stolen"}))),
        (Method::GET, "/drawers/1", None),
        (Method::POST, "/drawers/1", Some(json!({"snack": 2}))),
        (Method::DELETE, "/drawers/1/snacks/1", None),
        (Method::DELETE, "/drawers/1", None),
        (Method::POST, "/snacks/", Some(json!({"name": "stolen"}))),
    ];
    for (method, path, body) in calls {
        let request = app.request(method.clone(), path).token(token);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let reply = request.send().await;
        assert_eq!(reply.status, 401, "{method} {path}: {}", reply.text);
        reply.assert_error(401, INVALID);
    }
}

for_each_store!(a_token_outlives_neither_its_account_nor_a_store_reset);

async fn a_token_outlives_neither_its_account_nor_a_store_reset(store: StoreKind) {
    // Before the reset, alice is user 1; her token outlives the store.
    let before = TestApp::seeded(store).await;
    assert_eq!(before.register("alice").await, 1);
    let old_token = before.log_in("alice").await;
    drop(before);

    // A token for a user that does not exist (yet): refused everywhere, never a 500 or a 2xx.
    let after = TestApp::seeded(store).await;
    assert_refused_on_every_route(&after, &old_token).await;

    // After the reset, with the same secret, mallory is user 1 and owns drawer 1.
    assert_eq!(after.register("mallory").await, 1);
    let mallory = after.log_in("mallory").await;
    assert_eq!(after.drawer(&mallory, "mine").await, 1);
    let reply = after.post("/drawers/1").token(&mallory).json(json!({"snack": 1})).send().await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_refused_on_every_route(&after, &old_token).await;

    let drawer = after.get("/drawers/1").token(&mallory).send().await;
    assert_eq!(drawer.status, 200, "mallory's drawer is untouched: {}", drawer.text);
    assert_eq!(drawer.json["drawer"]["contents"], json!([{"id": 1, "name": "chips"}]));
    let snacks = after.get("/snacks/").send().await;
    assert_eq!(snacks.json["snacks"].as_array().unwrap().len(), 12, "no snack was added");
}
