//! The snacker: the old client's well-behaved user, with its weights (snack list 10, add a snack
//! 4, own drawers 3, one drawer 2, create a drawer 1, put a snack in a drawer 3). It is most of
//! the load, and what it writes is what the ledger knows for certain. Its drawer list doubles as
//! a check: a drawer in it that the ledger gives to someone else is a leak.

use super::{Persona, create_drawer, learn_snacks, put_snack, step};
use crate::exchange::Call;
use crate::ledger::Ledger;
use crate::user::{send, send_with_token, session};
use crate::violation::ViolationKind;
use goose::prelude::*;
use hyper::Method;
use serde_json::json;
use std::sync::Arc;

pub fn transactions(ledger: &Arc<Ledger>) -> Result<Vec<Transaction>, GooseError> {
    Ok(vec![
        step!(ledger, "sign up", sign_up).set_on_start(),
        step!(ledger, "GET /snacks/", view_snacks).set_weight(10)?,
        step!(ledger, "POST /snacks/", add_snack).set_weight(4)?,
        step!(ledger, "GET /drawers/", view_own_drawers).set_weight(3)?,
        step!(ledger, "GET /drawers/{id}", view_drawer).set_weight(2)?,
        step!(ledger, "POST /drawers/", new_drawer).set_weight(1)?,
        step!(ledger, "POST /drawers/{id}", fill_drawer).set_weight(3)?,
    ])
}

async fn sign_up(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    super::sign_up(user, &ledger, Persona::Snacker).await?;
    view_snacks(user, Arc::clone(&ledger)).await?;
    create_drawer(user, &ledger, None).await
}

async fn view_snacks(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let exchange = send(user, &ledger, Call::new(Method::GET, "/snacks/", "/snacks/")).await?;
    learn_snacks(&ledger, &exchange);
    Ok(())
}

async fn add_snack(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let name = ledger.fresh_name("snack");
    let call = Call::new(Method::POST, "/snacks/", "/snacks/").json(&json!({"name": name}));
    let exchange = send_with_token(user, &ledger, call).await?;
    let created = exchange.reply.filter(|reply| reply.status.is_success());
    if let Some(id) = created.and_then(|reply| reply.json()?.pointer("/snack/id")?.as_u64()) {
        ledger.note_snacks([id]);
    }
    Ok(())
}

async fn view_own_drawers(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let me = session(user)?.account.username;
    let call = Call::new(Method::GET, "/drawers/", "/drawers/");
    let exchange = send_with_token(user, &ledger, call).await?;
    let ids = exchange.listed_ids("drawers");
    let foreign = ids.iter().any(|id| ledger.owner_of(*id).is_some_and(|owner| owner != me));
    if foreign {
        ledger.record(ViolationKind::Leak, exchange.example());
    }
    Ok(())
}

async fn view_drawer(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    let me = session(user)?.account.username;
    let Some(drawer) = ledger.random_drawer_of(&me) else {
        return create_drawer(user, &ledger, None).await;
    };
    let call = Call::new(Method::GET, format!("/drawers/{drawer}"), "/drawers/{id}");
    send_with_token(user, &ledger, call).await?;
    Ok(())
}

async fn new_drawer(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    create_drawer(user, &ledger, None).await
}

async fn fill_drawer(user: &mut GooseUser, ledger: Arc<Ledger>) -> TransactionResult {
    put_snack(user, &ledger, None).await
}
