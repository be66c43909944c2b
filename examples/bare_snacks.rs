//! The physical reference for `GET /snacks/`: a bare axum handler that answers with exactly the
//! bytes the service answers on a freshly seeded store, and does nothing else. No store, no
//! authentication layer, no metrics, no tracing, no request id, no JSON encoding per request: the
//! body is encoded once at start. What it serves per second on a machine is the most axum, hyper
//! and the loopback socket can do there, so `benches/load-vs-wrk.sh` divides every other figure by
//! it (how much of that ceiling the service keeps on each store) and uses it to show that the
//! load generator, not the target, would be the bottleneck if it fell behind `wrk`.
//!
//!     cargo run --release --example bare_snacks -- 127.0.0.1:18090
//!     BARE_SNACKS_LISTEN=127.0.0.1:18090 cargo run --release --example bare_snacks
//!
//! The address comes from the first argument, else `BARE_SNACKS_LISTEN`, else 127.0.0.1:18090.
//! `GET /readyz` and `GET /healthz` answer 200, as the service's probes do, so the bench scripts
//! can wait for it and the load generator's start-up check passes.

use axum::{Router, body::Bytes, http::header, routing::get};
use snackdrawer::app::DEFAULT_CATALOGUE;

/// The body of `GET /snacks/` on a fresh store: the default catalogue, seeded in order, so the
/// ids run from 1. `benches/load-vs-wrk.sh` compares it byte for byte with the service's answer.
fn snacks_body() -> Bytes {
    let snacks: Vec<_> = DEFAULT_CATALOGUE
        .iter()
        .zip(1..)
        .map(|(name, id)| serde_json::json!({ "id": id, "name": name }))
        .collect();
    Bytes::from(serde_json::to_vec(&serde_json::json!({ "snacks": snacks })).expect("plain JSON"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BARE_SNACKS_LISTEN").ok())
        .unwrap_or_else(|| "127.0.0.1:18090".to_owned());
    let body = snacks_body();
    let app = Router::new()
        .route(
            "/snacks/",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route("/readyz", get(|| async { "ready" }))
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("bare_snacks: GET /snacks/ on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
