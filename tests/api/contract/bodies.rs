//! Request bodies, on every route that reads one: a JSON object with the fields the route
//! needs, extra fields ignored, at most `BODY_LIMIT_BYTES` (64 KiB).

use super::assertions::{assert_bad_request, assert_error_shape};
use super::fixtures::{Fixture, NOT_JSON, alice_with_drawer, drawer_path, padded_body, post_raw};
use crate::support::stores::{StoreKind, for_each_store};
use serde_json::{Value, json};
use snackdrawer::adapters::http::BODY_LIMIT_BYTES;

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
        let reply = post_raw(&app, &token, &route.path, padded_body(BODY_LIMIT_BYTES + 1)).await;
        assert_error_shape(&reply, 413);
    }
}

async fn bodies_of_exactly_64_kib_are_read(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    for route in body_routes(drawer) {
        // The padding is all there is, so the body is read and found to lack its fields.
        let reply = post_raw(&app, &token, &route.path, padded_body(BODY_LIMIT_BYTES)).await;
        assert_error_shape(&reply, 400);
    }
}

/// JSON Schema counts `2.0` as the integer 2, and so do the ids in bodies; a fraction is not an
/// id.
async fn ids_in_bodies_may_be_written_with_a_zero_fraction(store: StoreKind) {
    let Fixture { app, token, drawer } = alice_with_drawer(store, &[]).await;
    let path = drawer_path(drawer);
    let reply = app.post(&path).token(&token).json(json!({"snack": 2.0})).send().await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let contents = app.get(&path).token(&token).send().await.json["drawer"]["contents"].clone();
    assert_eq!(contents[0]["id"], 2);
    for not_an_id in [json!(2.5), json!(1e300), json!(18446744073709551615u64)] {
        let reply = app.post(&path).token(&token).json(json!({"snack": not_an_id})).send().await;
        assert_bad_request(&reply, "snack");
    }
    let reply = app.post(&path).token(&token).json(json!({"snack": 0.0})).send().await;
    assert_bad_request(&reply, "snack ID must be >= 1");
    // A large whole number with a zero fraction is still a whole number: a parser that rounds
    // loosely reads this one as ...297.5 and calls a valid id a fraction (schemathesis found it).
    let reply = post_raw(&app, &token, &path, r#"{"snack": 4086070741437298.0}"#).await;
    reply.assert_error(
        422,
        "422 Unprocessable Entity: snack with ID 4086070741437298 does not exist",
    );
}

for_each_store!(
    ids_in_bodies_may_be_written_with_a_zero_fraction,
    bodies_that_are_not_json_objects_are_400,
    bodies_missing_a_field_are_400_naming_it,
    bodies_with_a_wrongly_typed_field_are_400,
    unknown_extra_fields_are_ignored,
    bodies_over_64_kib_are_413,
    bodies_of_exactly_64_kib_are_read,
);
