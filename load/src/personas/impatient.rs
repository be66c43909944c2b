//! The impatient user: gives up on answers after 5 to 50 ms and walks away from requests whose
//! body it never finishes sending. The service must neither stumble (the other personas' results
//! show whether it kept serving) nor do more than was asked: a write whose answer it never saw
//! stays "maybe" in the ledger, and a half-sent body must change nothing at all.

use super::{Persona, create_drawer, learn_snacks, put_snack, step};
use crate::exchange::Call;
use crate::ledger::Ledger;
use crate::user::{send, session};
use goose::prelude::*;
use hyper::Method;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub fn transactions(ledger: &Arc<Ledger>) -> Result<Vec<Transaction>, GooseError> {
    Ok(vec![
        step!(ledger, "sign up", sign_up).set_on_start(),
        step!(ledger, "GET /snacks/ hang up", hang_up_on_snacks).set_weight(2)?,
        step!(ledger, "POST /drawers/ hang up", hang_up_on_new_drawer),
        step!(ledger, "POST /drawers/{id} hang up", hang_up_on_put).set_weight(2)?,
        step!(ledger, "POST /drawers/{id} half-sent body", abandon_body),
    ])
}

async fn sign_up(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    super::sign_up(user, &ledger, Persona::Impatient).await?;
    let snacks = send(user, &ledger, Call::new(Method::GET, "/snacks/", "/snacks/")).await?;
    learn_snacks(&ledger, &snacks);
    create_drawer(user, &ledger, None).await
}

/// How long it waits for an answer: 5 to 50 ms.
fn patience() -> Duration {
    Duration::from_millis(rand::rng().random_range(5..=50))
}

async fn hang_up_on_snacks(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let call = Call::new(Method::GET, "/snacks/", "/snacks/").timeout(patience());
    send(user, &ledger, call).await?;
    Ok(())
}

async fn hang_up_on_new_drawer(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    create_drawer(user, &ledger, Some(patience())).await
}

async fn hang_up_on_put(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    put_snack(user, &ledger, Some(patience())).await
}

/// Sends the head of a put into one of its drawers and half its body, then closes the
/// connection. Nothing may come of it, so the ledger is not told.
async fn abandon_body(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let session = session(user)?;
    let (Some(drawer), Some(snack)) =
        (ledger.random_drawer_of(&session.account.username), ledger.random_snack())
    else {
        return Ok(());
    };
    let host = user.base_url.host_str().ok_or("the host has no name")?.to_owned();
    let port = user.base_url.port_or_known_default().ok_or("the host has no port")?;
    let body = format!(r#"{{"snack": {snack}}}"#);
    let (token_name, token) = session.token_header.header(&session.token);
    let head = format!(
        "POST /drawers/{drawer} HTTP/1.1\r\nhost: {host}:{port}\r\nuser-agent: {}\r\n{token_name}: {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        Persona::Impatient.user_agent(),
        body.len()
    );
    let mut stream =
        TcpStream::connect((host.as_str(), port)).await.map_err(|error| error.to_string())?;
    stream.write_all(head.as_bytes()).await.map_err(|error| error.to_string())?;
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .map_err(|error| error.to_string())?;
    tokio::time::sleep(patience()).await;
    Ok(())
}
