//! The HTTP contract of `shared/API.md`, row by row, through the real router on in-memory
//! adapters: exact statuses, exact `error` strings, whole success bodies, the check order on
//! protected routes, ownership, body rules and limits, and routing.

use crate::support::TestApp;
use crate::support::client::{Reply, RequestBuilder};
use crate::support::stores::{StoreKind, for_each_store};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use snackdrawer::app::DEFAULT_CATALOGUE;

const NO_TOKEN: &str = "401 Unauthorized: no authentication token";
const INVALID_TOKEN: &str = "401 Unauthorized: invalid authentication token";
const BAD_CREDENTIALS: &str = "401 Unauthorized: username or password incorrect";
const USERNAME_TAKEN: &str = "422 Unprocessable Entity: username taken";
/// Request bodies larger than this many bytes answer 413.
const BODY_LIMIT: usize = 64 * 1024;
/// A body that is not even JSON.
const NOT_JSON: &str = "this is not json";

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

fn assert_json_content_type(reply: &Reply) {
    assert_eq!(
        reply.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "JSON responses say so: {reply:?}"
    );
}

/// Asserts a JSON success: exact status, `application/json` and the whole body.
fn assert_json(reply: &Reply, status: u16, expected: Value) {
    assert_eq!(reply.status.as_u16(), status, "unexpected status; body: {}", reply.text);
    assert_json_content_type(reply);
    assert_eq!(reply.json, expected, "body: {}", reply.text);
}

/// Asserts the error shape `{"error": "<code> <reason phrase>: <description>"}` with a
/// non-empty description, and returns the `error` text.
fn assert_error_shape(reply: &Reply, status: u16) -> &str {
    assert_eq!(reply.status.as_u16(), status, "unexpected status; body: {}", reply.text);
    let reason = StatusCode::from_u16(status).unwrap().canonical_reason().unwrap();
    let prefix = format!("{status} {reason}: ");
    let error = reply.error();
    assert!(
        error.starts_with(&prefix) && error.len() > prefix.len(),
        "error {error:?} is not of the form {prefix:?} + description"
    );
    error
}

/// Asserts a 400 whose description mentions `problem` (a field name, "JSON", "object", …).
fn assert_bad_request(reply: &Reply, problem: &str) {
    let error = assert_error_shape(reply, 400);
    assert!(error.contains(problem), "error {error:?} should mention {problem:?}");
}

fn assert_no_content(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "body: {}", reply.text);
    assert!(reply.text.is_empty(), "204 has no body, got {:?}", reply.text);
}

/// Asserts two replies could not be told apart.
fn assert_same_reply(left: &Reply, right: &Reply) {
    assert_eq!((left.status, &left.text), (right.status, &right.text));
}

// ---------------------------------------------------------------------------------------------
// Fixtures and shorthands
// ---------------------------------------------------------------------------------------------

/// Catalogue snack `id` of the seeded store, as the API shows it.
fn catalogue_snack(id: usize) -> Value {
    json!({"id": id, "name": DEFAULT_CATALOGUE[id - 1]})
}

/// A seeded app with alice logged in.
async fn seeded_with_alice(store: StoreKind) -> (TestApp, String) {
    let app = TestApp::seeded(store).await;
    let token = app.user("alice").await;
    (app, token)
}

/// A seeded app where alice owns drawer "foo" holding `snacks`.
struct Fixture {
    app: TestApp,
    token: String,
    drawer: i64,
}

async fn alice_with_drawer(store: StoreKind, snacks: &[i64]) -> Fixture {
    let (app, token) = seeded_with_alice(store).await;
    let drawer = app.drawer(&token, "foo").await;
    for &snack in snacks {
        assert_eq!(add_snack(&app, &token, drawer, json!(snack)).await.status, 201);
    }
    Fixture { app, token, drawer }
}

fn drawer_path(drawer: i64) -> String {
    format!("/drawers/{drawer}")
}

fn drawer_snack_path(drawer: i64, snack: i64) -> String {
    format!("/drawers/{drawer}/snacks/{snack}")
}

async fn add_snack(app: &TestApp, token: &str, drawer: i64, snack: Value) -> Reply {
    app.post(&drawer_path(drawer)).token(token).json(json!({ "snack": snack })).send().await
}

async fn get_drawer(app: &TestApp, token: &str, drawer: i64) -> Reply {
    app.get(&drawer_path(drawer)).token(token).send().await
}

async fn remove_snack(app: &TestApp, token: &str, drawer: i64, snack: i64) -> Reply {
    app.delete(&drawer_snack_path(drawer, snack)).token(token).send().await
}

async fn delete_drawer(app: &TestApp, token: &str, drawer: i64) -> Reply {
    app.delete(&drawer_path(drawer)).token(token).send().await
}

async fn create_snack(app: &TestApp, token: &str, name: &str) -> Reply {
    app.post("/snacks/").token(token).json(json!({ "name": name })).send().await
}

async fn create_drawer(app: &TestApp, token: &str, name: &str) -> Reply {
    app.post("/drawers/").token(token).json(json!({ "name": name })).send().await
}

async fn register(app: &TestApp, username: &str, password: &str) -> Reply {
    app.post("/auth/users").json(json!({"username": username, "password": password})).send().await
}

async fn log_in(app: &TestApp, username: &str, password: &str) -> Reply {
    app.post("/auth/login").json(json!({"username": username, "password": password})).send().await
}

/// Sends `body` as-is, labelled as JSON, with alice's token (harmless on the auth routes).
async fn post_raw(app: &TestApp, token: &str, path: &str, body: impl Into<Vec<u8>>) -> Reply {
    app.post(path)
        .token(token)
        .header("content-type", "application/json")
        .raw_body(body)
        .send()
        .await
}

/// The contents of the caller's drawer, as snack ids, after asserting the GET succeeds.
async fn contents_ids(app: &TestApp, token: &str, drawer: i64) -> Vec<i64> {
    let reply = get_drawer(app, token, drawer).await;
    assert_eq!(reply.status, 200, "body: {}", reply.text);
    let contents = reply.json["drawer"]["contents"].as_array().expect("contents is an array");
    contents.iter().map(|snack| snack["id"].as_i64().unwrap()).collect()
}

/// The two ways of presenting a token.
#[derive(Clone, Copy, Debug)]
enum TokenHeader {
    /// `x-access-token: <jwt>`, what old clients send.
    AccessToken,
    /// `Authorization: Bearer <jwt>`.
    Bearer,
}

impl TokenHeader {
    const BOTH: [Self; 2] = [Self::AccessToken, Self::Bearer];

    fn attach<'a>(self, request: RequestBuilder<'a>, token: &str) -> RequestBuilder<'a> {
        match self {
            Self::AccessToken => request.token(token),
            Self::Bearer => request.bearer(token),
        }
    }
}

/// One request to a protected route that succeeds with `success` given a good token, when the
/// calls of `protected_calls` are made in order.
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    success: u16,
}

impl Call {
    fn request<'a>(&self, app: &'a TestApp) -> RequestBuilder<'a> {
        let request = app.request(self.method.clone(), &self.path);
        match &self.body {
            Some(body) => request.json(body.clone()),
            None => request,
        }
    }
}

/// Every protected route once, on `alice_with_drawer(store, &[1])`'s drawer.
fn protected_calls(drawer: i64) -> Vec<Call> {
    let call = |method: Method, path: String, body: Option<Value>, success| Call {
        method,
        path,
        body,
        success,
    };
    vec![
        call(Method::POST, "/snacks/".into(), Some(json!({"name": "pretzel sticks"})), 201),
        call(Method::GET, "/drawers/".into(), None, 200),
        call(Method::POST, "/drawers/".into(), Some(json!({"name": "bar"})), 201),
        call(Method::GET, drawer_path(drawer), None, 200),
        call(Method::POST, drawer_path(drawer), Some(json!({"snack": 2})), 201),
        call(Method::DELETE, drawer_snack_path(drawer, 1), None, 204),
        call(Method::DELETE, drawer_path(drawer), None, 204),
    ]
}

/// A route that reads a JSON body: a body it accepts, and one field that body needs.
struct BodyRoute {
    path: String,
    valid: Value,
    field: &'static str,
}

impl BodyRoute {
    fn without_field(&self) -> Value {
        let mut body = self.valid.clone();
        body.as_object_mut().unwrap().remove(self.field);
        body
    }

    fn with_field(&self, value: Value) -> Value {
        let mut body = self.valid.clone();
        body[self.field] = value;
        body
    }
}

/// Every route with a body, for `alice_with_drawer`'s app and drawer; each valid body succeeds
/// with 201 once, in this order.
fn body_routes(drawer: i64) -> Vec<BodyRoute> {
    let route = |path: &str, valid, field| BodyRoute { path: path.into(), valid, field };
    vec![
        route("/auth/users", json!({"username": "bob", "password": "secret"}), "password"),
        route("/auth/login", json!({"username": "alice", "password": "secret"}), "password"),
        route("/snacks/", json!({"name": "pretzel sticks"}), "name"),
        route("/drawers/", json!({"name": "bar"}), "name"),
        route(&drawer_path(drawer), json!({"snack": 2}), "snack"),
    ]
}

/// A JSON object of exactly `len` bytes whose only field is one the service ignores.
fn padded_body(len: usize) -> String {
    let overhead = r#"{"pad":""}"#.len();
    let body = format!(r#"{{"pad":"{}"}}"#, "a".repeat(len - overhead));
    assert_eq!(body.len(), len);
    body
}

// ---------------------------------------------------------------------------------------------
// POST /auth/users
// ---------------------------------------------------------------------------------------------

async fn register_answers_201_with_id_and_username_only(store: StoreKind) {
    let app = TestApp::new(store).await;
    let reply = register(&app, "cookiemonster", "secret").await;
    let id = reply.json["id"].as_i64().expect("an integer id");
    assert!(id >= 1);
    assert_json(&reply, 201, json!({"id": id, "username": "cookiemonster"}));
}

async fn each_registration_gets_its_own_id(store: StoreKind) {
    let app = TestApp::new(store).await;
    let first = app.register("alice").await;
    let second = app.register("bob").await;
    assert_ne!(first, second);
}

async fn registering_a_taken_username_is_422(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    register(&app, "alice", "another password").await.assert_error(422, USERNAME_TAKEN);
}

async fn usernames_are_case_sensitive(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    assert_eq!(register(&app, "Alice", "other").await.status, 201);
    log_in(&app, "Alice", "secret").await.assert_error(401, BAD_CREDENTIALS);
}

// ---------------------------------------------------------------------------------------------
// POST /auth/login
// ---------------------------------------------------------------------------------------------

async fn login_answers_201_with_a_token_only(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    let reply = log_in(&app, "alice", "secret").await;
    let token = reply.json["token"].as_str().expect("a string token").to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert_json(&reply, 201, json!({ "token": token }));
    assert_eq!(app.get("/drawers/").token(&token).send().await.status, 200);
}

async fn wrong_password_and_unknown_user_get_the_same_401(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    let wrong_password = log_in(&app, "alice", "not the password").await;
    let unknown_user = log_in(&app, "mallory", "secret").await;
    wrong_password.assert_error(401, BAD_CREDENTIALS);
    assert_same_reply(&wrong_password, &unknown_user);
}

// ---------------------------------------------------------------------------------------------
// GET /snacks/ and GET /snacks/{id}
// ---------------------------------------------------------------------------------------------

async fn snack_list_is_the_catalogue_in_id_order(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    let expected: Vec<Value> = (1..=DEFAULT_CATALOGUE.len()).map(catalogue_snack).collect();
    let reply = app.get("/snacks/").send().await;
    assert_json(&reply, 200, json!({ "snacks": expected }));
    assert_eq!(reply.json["snacks"][0], json!({"id": 1, "name": "chips"}));
}

async fn snack_list_of_an_empty_store_is_empty(store: StoreKind) {
    let app = TestApp::new(store).await;
    assert_json(&app.get("/snacks/").send().await, 200, json!({"snacks": []}));
}

async fn snack_list_needs_no_token_and_shows_new_snacks_last(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    let id = create_snack(&app, &token, "salted caramel").await.json["snack"]["id"].clone();
    let snacks = app.get("/snacks/").send().await.json["snacks"].as_array().unwrap().clone();
    assert_eq!(snacks.len(), DEFAULT_CATALOGUE.len() + 1);
    assert_eq!(snacks.last(), Some(&json!({"id": id, "name": "salted caramel"})));
}

async fn get_snack_by_id(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    assert_json(&app.get("/snacks/1").send().await, 200, json!({"snack": catalogue_snack(1)}));
    assert_json(&app.get("/snacks/12").send().await, 200, json!({"snack": catalogue_snack(12)}));
}

async fn get_snack_zero_is_400(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    app.get("/snacks/0").send().await.assert_error(400, "400 Bad Request: snack ID must be >= 1");
}

async fn get_missing_snack_is_404(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    app.get("/snacks/99")
        .send()
        .await
        .assert_error(404, "404 Not Found: snack with ID == 99 not found");
}

// ---------------------------------------------------------------------------------------------
// POST /snacks/
// ---------------------------------------------------------------------------------------------

async fn create_snack_answers_201_with_the_snack(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    let reply = create_snack(&app, &token, "salted caramel").await;
    let id = reply.json["snack"]["id"].as_i64().expect("an integer id");
    assert!(id > DEFAULT_CATALOGUE.len() as i64, "a new id: {id}");
    assert_json(&reply, 201, json!({"snack": {"id": id, "name": "salted caramel"}}));
    let fetched = app.get(&format!("/snacks/{id}")).send().await;
    assert_json(&fetched, 200, json!({"snack": {"id": id, "name": "salted caramel"}}));
}

async fn create_snack_with_a_taken_name_is_422(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    create_snack(&app, &token, "pretzels").await.assert_error(
        422,
        r#"422 Unprocessable Entity: snack with name "pretzels" already exists"#,
    );
}

async fn snack_names_are_global_across_users(store: StoreKind) {
    let (app, alice) = seeded_with_alice(store).await;
    let bob = app.user("bob").await;
    assert_eq!(create_snack(&app, &alice, "salted caramel").await.status, 201);
    create_snack(&app, &bob, "salted caramel").await.assert_error(
        422,
        r#"422 Unprocessable Entity: snack with name "salted caramel" already exists"#,
    );
}

async fn snack_names_are_case_sensitive(store: StoreKind) {
    let app = TestApp::new(store).await;
    let token = app.user("alice").await;
    let upper = create_snack(&app, &token, "Chocolate").await;
    let lower = create_snack(&app, &token, "chocolate").await;
    assert_eq!((upper.status.as_u16(), lower.status.as_u16()), (201, 201));
    assert_ne!(upper.json["snack"]["id"], lower.json["snack"]["id"]);
    create_snack(&app, &token, "Chocolate").await.assert_error(
        422,
        r#"422 Unprocessable Entity: snack with name "Chocolate" already exists"#,
    );
}

// ---------------------------------------------------------------------------------------------
// GET /drawers/ and POST /drawers/
// ---------------------------------------------------------------------------------------------

async fn drawer_list_of_a_new_user_is_empty(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_json(&app.get("/drawers/").token(&token).send().await, 200, json!({"drawers": []}));
}

async fn drawer_list_shows_only_the_callers_drawers_without_contents(store: StoreKind) {
    let Fixture { app, token: alice, drawer: first } = alice_with_drawer(store, &[1, 2]).await;
    let bob = app.user("bob").await;
    app.drawer(&bob, "bobs").await;
    let bar = app.drawer(&alice, "bar").await;
    let reply = app.get("/drawers/").token(&alice).send().await;
    assert_json(
        &reply,
        200,
        json!({"drawers": [{"id": first, "name": "foo"}, {"id": bar, "name": "bar"}]}),
    );
}

async fn create_drawer_answers_201_with_empty_contents(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    let reply = create_drawer(&app, &token, "foo").await;
    let id = reply.json["drawer"]["id"].as_i64().expect("an integer id");
    assert!(id >= 1);
    assert_json(&reply, 201, json!({"drawer": {"contents": [], "id": id, "name": "foo"}}));
}

async fn create_drawer_with_a_name_the_caller_uses_is_422(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    app.drawer(&token, "foo").await;
    create_drawer(&app, &token, "foo").await.assert_error(
        422,
        "422 Unprocessable Entity: drawer with name foo already exists for this user",
    );
}

async fn another_user_may_reuse_a_drawer_name(store: StoreKind) {
    let (app, alice) = seeded_with_alice(store).await;
    let bob = app.user("bob").await;
    let alices = app.drawer(&alice, "foo").await;
    let bobs = app.drawer(&bob, "foo").await;
    assert_ne!(alices, bobs);
}

async fn drawer_names_are_case_sensitive(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    app.drawer(&token, "foo").await;
    assert_eq!(create_drawer(&app, &token, "Foo").await.status, 201);
}

// ---------------------------------------------------------------------------------------------
// GET /drawers/{id}
// ---------------------------------------------------------------------------------------------

async fn get_drawer_lists_contents_in_snack_id_order(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[3, 1]).await;
    let expected = json!({"drawer": {
        "contents": [catalogue_snack(1), catalogue_snack(3)],
        "id": drawer,
        "name": "foo",
    }});
    assert_json(&get_drawer(&app, &token, drawer).await, 200, expected);
}

async fn get_drawer_zero_is_400(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    get_drawer(&app, &token, 0).await.assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

async fn get_missing_drawer_is_404(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    get_drawer(&app, &token, 9)
        .await
        .assert_error(404, "404 Not Found: drawer with ID == 9 not found");
}

// ---------------------------------------------------------------------------------------------
// POST /drawers/{id}
// ---------------------------------------------------------------------------------------------

async fn add_snack_answers_201_with_a_message(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let reply = add_snack(&app, &token, drawer, json!(2)).await;
    assert_json(&reply, 201, json!({"message": "snack added to drawer"}));
    assert_eq!(contents_ids(&app, &token, drawer).await, [2]);
}

async fn add_snack_to_missing_drawer_is_404(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    add_snack(&app, &token, 9, json!(2))
        .await
        .assert_error(404, "404 Not Found: drawer with ID 9 does not exist");
}

async fn add_missing_snack_is_422(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    add_snack(&app, &token, drawer, json!(99))
        .await
        .assert_error(422, "422 Unprocessable Entity: snack with ID 99 does not exist");
    assert!(contents_ids(&app, &token, drawer).await.is_empty());
}

async fn add_snack_already_in_drawer_is_422(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[2]).await;
    add_snack(&app, &token, drawer, json!(2)).await.assert_error(
        422,
        &format!(
            "422 Unprocessable Entity: snack with ID 2 already exists in drawer with ID {drawer}"
        ),
    );
    assert_eq!(contents_ids(&app, &token, drawer).await, [2]);
}

async fn add_snack_needs_snack_to_be_an_integer_of_at_least_one(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let not_positive_integers = [
        json!(0),
        json!(-1),
        json!("2"),
        json!(2.5),
        json!(null),
        json!(true),
        json!([2]),
        json!({"id": 2}),
        json!(9_223_372_036_854_775_808_u64),
    ];
    for snack in not_positive_integers {
        let reply = add_snack(&app, &token, drawer, snack.clone()).await;
        assert_error_shape(&reply, 400);
        if snack.is_i64() {
            reply.assert_error(400, "400 Bad Request: snack ID must be >= 1");
        }
    }
    let missing = app.post(&drawer_path(drawer)).token(&token).json(json!({})).send().await;
    assert_bad_request(&missing, "snack");
    assert!(contents_ids(&app, &token, drawer).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// DELETE /drawers/{id} and DELETE /drawers/{id}/snacks/{snack_id} (our additions)
// ---------------------------------------------------------------------------------------------

async fn delete_drawer_answers_204_and_the_drawer_is_gone(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    get_drawer(&app, &token, drawer)
        .await
        .assert_error(404, &format!("404 Not Found: drawer with ID == {drawer} not found"));
    assert_json(&app.get("/drawers/").token(&token).send().await, 200, json!({"drawers": []}));
}

async fn deleting_a_drawer_twice_is_404_the_second_time(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    assert_error_shape(&delete_drawer(&app, &token, drawer).await, 404);
}

async fn a_deleted_drawers_name_can_be_used_again(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    let again = app.drawer(&token, "foo").await;
    assert!(contents_ids(&app, &token, again).await.is_empty());
}

async fn delete_drawer_zero_is_400(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    delete_drawer(&app, &token, 0)
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

async fn remove_snack_answers_204_and_the_snack_is_gone(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1, 3]).await;
    assert_no_content(&remove_snack(&app, &token, drawer, 1).await);
    assert_eq!(contents_ids(&app, &token, drawer).await, [3]);
}

async fn removing_a_snack_twice_is_404_the_second_time(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&remove_snack(&app, &token, drawer, 1).await);
    assert_error_shape(&remove_snack(&app, &token, drawer, 1).await, 404);
}

async fn removing_a_snack_that_is_not_in_the_drawer_is_404(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_error_shape(&remove_snack(&app, &token, drawer, 2).await, 404);
    assert_error_shape(&remove_snack(&app, &token, drawer, 99).await, 404);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn removing_from_a_missing_drawer_is_404(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_error_shape(&remove_snack(&app, &token, 9, 1).await, 404);
}

async fn a_removed_snack_can_be_added_again(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    assert_no_content(&remove_snack(&app, &token, drawer, 1).await);
    assert_eq!(add_snack(&app, &token, drawer, json!(1)).await.status, 201);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn remove_snack_with_id_zero_is_400(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    remove_snack(&app, &token, drawer, 0)
        .await
        .assert_error(400, "400 Bad Request: snack ID must be >= 1");
    remove_snack(&app, &token, 0, 1)
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

// ---------------------------------------------------------------------------------------------
// Tokens on protected routes
// ---------------------------------------------------------------------------------------------

async fn every_protected_route_accepts(store: StoreKind, header: TokenHeader) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    for call in protected_calls(drawer) {
        let reply = header.attach(call.request(&app), &token).send().await;
        assert_eq!(
            reply.status.as_u16(),
            call.success,
            "{} {} with {header:?}: {}",
            call.method,
            call.path,
            reply.text
        );
    }
}

async fn every_protected_route_accepts_x_access_token(store: StoreKind) {
    every_protected_route_accepts(store, TokenHeader::AccessToken).await;
}

async fn every_protected_route_accepts_authorization_bearer(store: StoreKind) {
    every_protected_route_accepts(store, TokenHeader::Bearer).await;
}

async fn every_protected_route_without_a_token_is_401(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    for call in protected_calls(drawer) {
        call.request(&app).send().await.assert_error(401, NO_TOKEN);
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1], "nothing changed");
}

async fn every_protected_route_with_a_garbage_token_is_401(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    for call in protected_calls(drawer) {
        for header in TokenHeader::BOTH {
            let reply = header.attach(call.request(&app), "not-a-jwt").send().await;
            reply.assert_error(401, INVALID_TOKEN);
        }
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1], "nothing changed");
}

// ---------------------------------------------------------------------------------------------
// Check order: token (401), path id < 1 (400), body (400), existence (404), business (422)
// ---------------------------------------------------------------------------------------------

async fn token_is_checked_before_the_path_id(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    app.post("/drawers/0").raw_body(NOT_JSON).send().await.assert_error(401, NO_TOKEN);
    app.get("/drawers/0").send().await.assert_error(401, NO_TOKEN);
    app.delete("/drawers/0").send().await.assert_error(401, NO_TOKEN);
    app.delete("/drawers/0/snacks/0").send().await.assert_error(401, NO_TOKEN);
    app.get("/drawers/0").token("garbage").send().await.assert_error(401, INVALID_TOKEN);
}

async fn token_is_checked_before_the_body(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    for path in ["/snacks/", "/drawers/", "/drawers/1"] {
        app.post(path).raw_body(NOT_JSON).send().await.assert_error(401, NO_TOKEN);
        let too_large = padded_body(BODY_LIMIT + 1);
        app.post(path).raw_body(too_large).send().await.assert_error(401, NO_TOKEN);
    }
}

async fn path_id_is_checked_before_the_body(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    post_raw(&app, &token, "/drawers/0", NOT_JSON)
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
    add_snack(&app, &token, 0, json!("two"))
        .await
        .assert_error(400, "400 Bad Request: drawer ID must be >= 1");
}

async fn body_is_checked_before_the_drawer_exists(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_bad_request(&post_raw(&app, &token, "/drawers/9", NOT_JSON).await, "JSON");
    add_snack(&app, &token, 9, json!(0))
        .await
        .assert_error(400, "400 Bad Request: snack ID must be >= 1");
    let missing_field = app.post("/drawers/9").token(&token).json(json!({})).send().await;
    assert_bad_request(&missing_field, "snack");
}

async fn drawer_existence_is_checked_before_the_snack(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    add_snack(&app, &token, 9, json!(99))
        .await
        .assert_error(404, "404 Not Found: drawer with ID 9 does not exist");
}

// ---------------------------------------------------------------------------------------------
// Ownership: another user's drawer is indistinguishable from a missing one
// ---------------------------------------------------------------------------------------------

async fn another_user_cannot_read_a_drawer(store: StoreKind) {
    let Fixture { app, drawer, .. } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    get_drawer(&app, &bob, drawer)
        .await
        .assert_error(404, &format!("404 Not Found: drawer with ID == {drawer} not found"));
}

async fn another_user_cannot_add_to_a_drawer(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    let not_found = format!("404 Not Found: drawer with ID {drawer} does not exist");
    // A new snack, one already inside and a missing one all answer alike: no 422 gives it away.
    for snack in [2, 1, 99] {
        add_snack(&app, &bob, drawer, json!(snack)).await.assert_error(404, &not_found);
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn another_user_cannot_remove_from_a_drawer(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    assert_error_shape(&remove_snack(&app, &bob, drawer, 1).await, 404);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn another_user_cannot_delete_a_drawer(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    assert_error_shape(&delete_drawer(&app, &bob, drawer).await, 404);
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn another_users_drawers_are_not_listed(store: StoreKind) {
    let Fixture { app, .. } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    assert_json(&app.get("/drawers/").token(&bob).send().await, 200, json!({"drawers": []}));
}

async fn a_drawer_is_unchanged_by_another_users_attempts(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1, 3]).await;
    let before = get_drawer(&app, &token, drawer).await;
    let bob = app.user("bob").await;
    add_snack(&app, &bob, drawer, json!(2)).await;
    remove_snack(&app, &bob, drawer, 1).await;
    delete_drawer(&app, &bob, drawer).await;
    assert_same_reply(&get_drawer(&app, &token, drawer).await, &before);
}

/// Bob's four requests on `drawer`: read, add, remove, delete.
async fn bobs_attempts(app: &TestApp, bob: &str, drawer: i64) -> Vec<Reply> {
    vec![
        get_drawer(app, bob, drawer).await,
        add_snack(app, bob, drawer, json!(1)).await,
        remove_snack(app, bob, drawer, 1).await,
        delete_drawer(app, bob, drawer).await,
    ]
}

async fn another_users_drawer_answers_exactly_like_a_missing_one(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let bob = app.user("bob").await;
    let while_alices = bobs_attempts(&app, &bob, drawer).await;
    assert_no_content(&delete_drawer(&app, &token, drawer).await);
    let once_missing = bobs_attempts(&app, &bob, drawer).await;
    for (theirs, missing) in while_alices.iter().zip(&once_missing) {
        assert_error_shape(theirs, 404);
        assert_same_reply(theirs, missing);
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

async fn bodies_that_are_not_json_objects_are_400(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let cases = [
        ("", "JSON"),
        (NOT_JSON, "JSON"),
        (r#"{"name": "#, "JSON"),
        ("[]", "object"),
        (r#"["snack", 2]"#, "object"),
        (r#""a string""#, "object"),
        ("42", "object"),
        ("null", "object"),
    ];
    for route in body_routes(drawer) {
        for (body, problem) in cases {
            let reply = post_raw(&app, &token, &route.path, body).await;
            assert_bad_request(&reply, problem);
        }
    }
}

async fn bodies_missing_a_field_are_400_naming_it(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    for route in body_routes(drawer) {
        let reply = app.post(&route.path).token(&token).json(route.without_field()).send().await;
        assert_bad_request(&reply, route.field);
    }
}

async fn bodies_with_a_wrongly_typed_field_are_400(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    for route in body_routes(drawer) {
        for wrong in [json!(null), json!(true), json!([]), json!({})] {
            let body = route.with_field(wrong);
            let reply = app.post(&route.path).token(&token).json(body).send().await;
            assert_error_shape(&reply, 400);
            assert!(reply.error().contains(route.field), "names {}: {}", route.field, reply.text);
        }
    }
}

async fn unknown_extra_fields_are_ignored(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    for route in body_routes(drawer) {
        let mut body = route.valid.clone();
        body["extra"] = json!({"anything": [1, 2, 3]});
        let reply = app.post(&route.path).token(&token).json(body).send().await;
        assert_eq!(reply.status, 201, "POST {}: {}", route.path, reply.text);
    }
}

async fn bodies_over_64_kib_are_413(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    for route in body_routes(drawer) {
        let reply = post_raw(&app, &token, &route.path, padded_body(BODY_LIMIT + 1)).await;
        assert_error_shape(&reply, 413);
    }
}

async fn bodies_of_exactly_64_kib_are_read(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    for route in body_routes(drawer) {
        // The padding is all there is, so the body is read and found to lack its fields.
        let reply = post_raw(&app, &token, &route.path, padded_body(BODY_LIMIT)).await;
        assert_error_shape(&reply, 400);
    }
}

// ---------------------------------------------------------------------------------------------
// Limits on names and passwords
// ---------------------------------------------------------------------------------------------

async fn names_of_64_characters_are_accepted(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    // Characters, not bytes: 64 two-byte characters fit.
    let name = "é".repeat(64);
    let user = register(&app, &name, "secret").await;
    assert_eq!((user.status.as_u16(), &user.json["username"]), (201, &json!(name)));
    let snack = create_snack(&app, &token, &name).await;
    assert_eq!((snack.status.as_u16(), &snack.json["snack"]["name"]), (201, &json!(name)));
    let drawer = create_drawer(&app, &token, &name).await;
    assert_eq!((drawer.status.as_u16(), &drawer.json["drawer"]["name"]), (201, &json!(name)));
}

async fn names_of_65_characters_or_none_are_400(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    for name in ["a".repeat(65), String::new()] {
        assert_bad_request(&register(&app, &name, "secret").await, "username");
        assert_bad_request(&log_in(&app, &name, "secret").await, "username");
        assert_bad_request(&create_snack(&app, &token, &name).await, "name");
        assert_bad_request(&create_drawer(&app, &token, &name).await, "name");
    }
    let snacks = app.get("/snacks/").send().await.json["snacks"].as_array().unwrap().len();
    assert_eq!(snacks, DEFAULT_CATALOGUE.len());
}

async fn passwords_of_1024_bytes_are_accepted(store: StoreKind) {
    let app = TestApp::new(store).await;
    let password = "p".repeat(1024);
    assert_eq!(register(&app, "alice", &password).await.status, 201);
    assert_eq!(log_in(&app, "alice", &password).await.status, 201);
}

async fn passwords_over_1024_bytes_or_empty_are_400(store: StoreKind) {
    let app = TestApp::new(store).await;
    app.register("alice").await;
    // 513 two-byte characters are 1026 bytes: the limit counts bytes.
    for password in ["p".repeat(1025), "é".repeat(513), String::new()] {
        assert_bad_request(&register(&app, "bob", &password).await, "password");
        assert_bad_request(&log_in(&app, "alice", &password).await, "password");
    }
    log_in(&app, "bob", "secret").await.assert_error(401, BAD_CREDENTIALS);
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

async fn unknown_routes_are_404_in_the_error_shape(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    for path in ["/", "/nope", "/auth", "/auth/nope", "/snack/1", "/drawers/1/snacks", "/metrics/x"]
    {
        assert_error_shape(&app.get(path).token(&token).send().await, 404);
        assert_error_shape(&app.post(path).token(&token).send().await, 404);
    }
}

async fn trailing_slashes_on_items_and_auth_routes_are_unknown(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    assert_error_shape(&app.get("/snacks/1/").send().await, 404);
    assert_error_shape(&app.get(&format!("/drawers/{drawer}/")).token(&token).send().await, 404);
    let credentials = json!({"username": "alice", "password": "secret"});
    for path in ["/auth/users/", "/auth/login/"] {
        let reply = app.post(path).json(credentials.clone()).send().await;
        assert_error_shape(&reply, 404);
    }
}

async fn wrong_methods_are_405_in_the_error_shape(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let wrong = [
        (Method::GET, "/auth/users".to_owned()),
        (Method::GET, "/auth/login".to_owned()),
        (Method::DELETE, "/snacks/".to_owned()),
        (Method::PUT, "/snacks".to_owned()),
        (Method::POST, "/snacks/1".to_owned()),
        (Method::DELETE, "/snacks/1".to_owned()),
        (Method::DELETE, "/drawers/".to_owned()),
        (Method::PUT, drawer_path(drawer)),
        (Method::PATCH, drawer_path(drawer)),
        (Method::GET, drawer_snack_path(drawer, 1)),
    ];
    for (method, path) in wrong {
        let reply = app.request(method, &path).token(&token).send().await;
        assert_error_shape(&reply, 405);
        assert!(reply.headers.contains_key("allow"), "405 says what is allowed: {path}");
    }
    let allowed = app.request(Method::PUT, "/snacks/").send().await;
    assert_eq!(allowed.headers["allow"], "GET,HEAD,POST");
}

async fn a_non_numeric_id_is_404_whatever_the_method(store: StoreKind) {
    let app = TestApp::new(store).await;
    for path in ["/snacks/abc", "/drawers/abc", "/drawers/-1/snacks/1", "/drawers/1/snacks/x"] {
        for method in [Method::PUT, Method::PATCH, Method::GET, Method::DELETE] {
            let reply = app.request(method.clone(), path).send().await;
            assert_error_shape(&reply, 404);
        }
    }
}

async fn snacks_and_drawers_without_trailing_slash_serve_the_same(store: StoreKind) {
    let (app, token) = seeded_with_alice(store).await;
    assert_same_reply(&app.get("/snacks").send().await, &app.get("/snacks/").send().await);
    let created = app.post("/snacks").token(&token).json(json!({"name": "nachos"})).send().await;
    let id = created.json["snack"]["id"].clone();
    assert_json(&created, 201, json!({"snack": {"id": id, "name": "nachos"}}));

    let created = app.post("/drawers").token(&token).json(json!({"name": "foo"})).send().await;
    let id = created.json["drawer"]["id"].clone();
    assert_json(&created, 201, json!({"drawer": {"contents": [], "id": id, "name": "foo"}}));
    let without = app.get("/drawers").bearer(&token).send().await;
    assert_same_reply(&without, &app.get("/drawers/").bearer(&token).send().await);
    assert_json(&without, 200, json!({"drawers": [{"id": id, "name": "foo"}]}));
}

async fn non_numeric_and_negative_ids_are_unknown_routes(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[1]).await;
    let snack_paths = ["/snacks/abc", "/snacks/-1", "/snacks/1.5", "/snacks/+1", "/snacks/1e3"];
    for path in snack_paths {
        assert_error_shape(&app.get(path).send().await, 404);
    }
    for path in ["/drawers/abc", "/drawers/-1", "/drawers/99999999999999999999"] {
        assert_error_shape(&app.get(path).token(&token).send().await, 404);
        let add = app.post(path).token(&token).json(json!({"snack": 1})).send().await;
        assert_error_shape(&add, 404);
        assert_error_shape(&app.delete(path).token(&token).send().await, 404);
    }
    for path in [format!("/drawers/{drawer}/snacks/abc"), "/drawers/-1/snacks/1".into()] {
        assert_error_shape(&app.delete(&path).token(&token).send().await, 404);
    }
    assert_eq!(contents_ids(&app, &token, drawer).await, [1]);
}

async fn unknown_id_routes_are_404_even_without_a_token(store: StoreKind) {
    let app = TestApp::seeded(store).await;
    assert_error_shape(&app.get("/drawers/abc").send().await, 404);
    assert_error_shape(&app.delete("/drawers/-1").send().await, 404);
}

for_each_store!(
    register_answers_201_with_id_and_username_only,
    each_registration_gets_its_own_id,
    registering_a_taken_username_is_422,
    usernames_are_case_sensitive,
    login_answers_201_with_a_token_only,
    wrong_password_and_unknown_user_get_the_same_401,
    snack_list_is_the_catalogue_in_id_order,
    snack_list_of_an_empty_store_is_empty,
    snack_list_needs_no_token_and_shows_new_snacks_last,
    get_snack_by_id,
    get_snack_zero_is_400,
    get_missing_snack_is_404,
    create_snack_answers_201_with_the_snack,
    create_snack_with_a_taken_name_is_422,
    snack_names_are_global_across_users,
    snack_names_are_case_sensitive,
    drawer_list_of_a_new_user_is_empty,
    drawer_list_shows_only_the_callers_drawers_without_contents,
    create_drawer_answers_201_with_empty_contents,
    create_drawer_with_a_name_the_caller_uses_is_422,
    another_user_may_reuse_a_drawer_name,
    drawer_names_are_case_sensitive,
    get_drawer_lists_contents_in_snack_id_order,
    get_drawer_zero_is_400,
    get_missing_drawer_is_404,
    add_snack_answers_201_with_a_message,
    add_snack_to_missing_drawer_is_404,
    add_missing_snack_is_422,
    add_snack_already_in_drawer_is_422,
    add_snack_needs_snack_to_be_an_integer_of_at_least_one,
    delete_drawer_answers_204_and_the_drawer_is_gone,
    deleting_a_drawer_twice_is_404_the_second_time,
    a_deleted_drawers_name_can_be_used_again,
    delete_drawer_zero_is_400,
    remove_snack_answers_204_and_the_snack_is_gone,
    removing_a_snack_twice_is_404_the_second_time,
    removing_a_snack_that_is_not_in_the_drawer_is_404,
    removing_from_a_missing_drawer_is_404,
    a_removed_snack_can_be_added_again,
    remove_snack_with_id_zero_is_400,
    every_protected_route_accepts_x_access_token,
    every_protected_route_accepts_authorization_bearer,
    every_protected_route_without_a_token_is_401,
    every_protected_route_with_a_garbage_token_is_401,
    token_is_checked_before_the_path_id,
    token_is_checked_before_the_body,
    path_id_is_checked_before_the_body,
    body_is_checked_before_the_drawer_exists,
    drawer_existence_is_checked_before_the_snack,
    another_user_cannot_read_a_drawer,
    another_user_cannot_add_to_a_drawer,
    another_user_cannot_remove_from_a_drawer,
    another_user_cannot_delete_a_drawer,
    another_users_drawers_are_not_listed,
    a_drawer_is_unchanged_by_another_users_attempts,
    another_users_drawer_answers_exactly_like_a_missing_one,
    bodies_that_are_not_json_objects_are_400,
    bodies_missing_a_field_are_400_naming_it,
    bodies_with_a_wrongly_typed_field_are_400,
    unknown_extra_fields_are_ignored,
    bodies_over_64_kib_are_413,
    bodies_of_exactly_64_kib_are_read,
    names_of_64_characters_are_accepted,
    names_of_65_characters_or_none_are_400,
    passwords_of_1024_bytes_are_accepted,
    passwords_over_1024_bytes_or_empty_are_400,
    unknown_routes_are_404_in_the_error_shape,
    trailing_slashes_on_items_and_auth_routes_are_unknown,
    wrong_methods_are_405_in_the_error_shape,
    a_non_numeric_id_is_404_whatever_the_method,
    snacks_and_drawers_without_trailing_slash_serve_the_same,
    non_numeric_and_negative_ids_are_unknown_routes,
    unknown_id_routes_are_404_even_without_a_token,
);
