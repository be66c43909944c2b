//! The OpenAPI document: it names exactly the routes the router serves, the service serves it,
//! and `docs/openapi.json` is a current copy of it.

use crate::support::TestApp;
use crate::support::stores::StoreKind;
use snackdrawer::adapters::http::openapi::to_json;
use snackdrawer::adapters::http::{ROUTES, document};
use snackdrawer::app::Snackdrawer;
use std::collections::BTreeSet;

#[test]
fn the_document_describes_exactly_the_routes_the_router_serves() {
    let document = serde_json::to_value(document::<Snackdrawer>()).unwrap();
    let mut described = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let served: BTreeSet<String> = ROUTES.iter().map(|route| route.to_string()).collect();
    assert_eq!(described, served);
}

#[test]
fn docs_openapi_json_is_the_current_document() {
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let kept = std::fs::read_to_string(&kept).unwrap_or_default();
    assert!(
        kept == to_json(&document::<Snackdrawer>()),
        "docs/openapi.json is not the document the code makes; refresh it with \
         `cargo run -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn get_openapi_json_serves_the_document() {
    let app = TestApp::new(StoreKind::Memory).await;
    let reply = app.get("/openapi.json").send().await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.json, serde_json::to_value(document::<Snackdrawer>()).unwrap());
    assert_eq!(reply.json["openapi"], "3.1.0");
}
