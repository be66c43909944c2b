//! The four kinds of user, one goose scenario each, so `--mix` is just the scenarios' weights and
//! goose's tables come out per persona and transaction. Every transaction is named after the
//! route it drives, every user sends `user-agent: snackdrawer-load/<version> (<persona>)` so a
//! trace or an access line shows who sent it, and the steps two personas share live here once.

pub mod impatient;
pub mod kiddie;
pub mod nosy;
pub mod snacker;

use crate::agent::Agent;
use crate::cli::ThinkTime;
use crate::exchange::{Call, Exchange};
use crate::ledger::Ledger;
use crate::session::{Session, send_with_token, session};
use crate::transport::{self, Connection, Origin};
use goose::prelude::*;
use hyper::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A goose transaction named `$name` that runs `$function(user, ledger)`.
macro_rules! step {
    ($ledger:expr, $name:expr, $function:path) => {{
        let ledger = std::sync::Arc::clone($ledger);
        let function: goose::prelude::TransactionFunction = std::sync::Arc::new(move |user| {
            Box::pin($function(user, std::sync::Arc::clone(&ledger)))
        });
        goose::prelude::Transaction::new(function).set_name($name)
    }};
}
use step;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Persona {
    Snacker,
    Nosy,
    Kiddie,
    Impatient,
}

impl Persona {
    const ALL: [Self; 4] = [Self::Snacker, Self::Nosy, Self::Kiddie, Self::Impatient];

    pub fn name(self) -> &'static str {
        match self {
            Self::Snacker => "snacker",
            Self::Nosy => "nosy",
            Self::Kiddie => "kiddie",
            Self::Impatient => "impatient",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|persona| persona.name() == name)
    }

    pub fn user_agent(self) -> String {
        transport::user_agent(self.name())
    }

    /// The persona's goose scenario: `weight` shares of the users, pausing `think` after each
    /// step, and only the step named `only` if one is.
    pub fn scenario(
        self,
        weight: usize,
        think: ThinkTime,
        only: Option<&str>,
        ledger: &Arc<Ledger>,
    ) -> Result<Scenario, GooseError> {
        let scenario =
            Scenario::new(self.name()).set_weight(weight)?.set_wait_time(think.min, think.max)?;
        let transactions = match self {
            Self::Snacker => snacker::transactions(ledger)?,
            Self::Nosy => nosy::transactions(ledger)?,
            Self::Kiddie => kiddie::transactions(ledger)?,
            Self::Impatient => impatient::transactions(ledger)?,
        };
        let transactions = match only {
            Some(step) => self.only(step, transactions)?,
            None => transactions,
        };
        Ok(transactions.into_iter().fold(scenario, Scenario::register_transaction))
    }

    /// The step named `step`, after the persona's start-up: all of it when the step needs an
    /// account, and otherwise just the persona's own connection, so that a public route can be
    /// driven alone (even against a server that has no `/auth`).
    fn only(
        self,
        step: &str,
        transactions: Vec<Transaction>,
    ) -> Result<Vec<Transaction>, GooseError> {
        let (start, steps): (Vec<_>, Vec<_>) =
            transactions.into_iter().partition(|transaction| transaction.on_start);
        let chosen: Vec<_> =
            steps.into_iter().filter(|t| t.name.name_for_transaction() == step).collect();
        if chosen.is_empty() {
            return Err(GooseError::InvalidOption {
                option: "--only".into(),
                value: step.into(),
                detail: format!("the {} persona has no step of that name", self.name()),
            });
        }
        let public = is_public_step(step);
        let start = if public {
            let persona = self;
            let identify: TransactionFunction =
                Arc::new(move |user| Box::pin(identify(user, persona)));
            vec![Transaction::new(identify).set_name("identify").set_on_start()]
        } else {
            start
        };
        Ok(start.into_iter().chain(chosen).collect())
    }
}

/// Steps that need no account: reading the catalogue.
const PUBLIC_STEPS: [&str; 1] = ["GET /snacks/"];

/// Whether the step named `step` runs without an account, so that a run of it alone creates
/// none, and no drawer.
pub fn is_public_step(step: &str) -> bool {
    PUBLIC_STEPS.contains(&step)
}

/// The first step of every persona: its own connection, carrying its user agent, and a fresh
/// account of its own.
async fn sign_up(
    user: &mut GooseUser,
    ledger: &Ledger,
    persona: Persona,
) -> Result<Session, Box<TransactionError>> {
    identify(user, persona).await?;
    crate::session::sign_up(user, ledger, persona.name()).await
}

/// This user's own connection, which names the persona in its user agent; it opens with the
/// first request.
async fn identify(user: &mut GooseUser, persona: Persona) -> TransactionResult {
    let origin = Origin::parse(user.base_url.as_str()).map_err(|error| error.to_string())?;
    let connection = Connection::new(origin, persona.name());
    user.set_session_data(Agent { connection, session: None });
    Ok(())
}

/// Files the snacks of a listing in the ledger, for the steps that put snacks into drawers; in a
/// run that fills none the listing is not read for them at all.
fn learn_snacks(ledger: &Ledger, listing: &Exchange) {
    if ledger.wants_snacks() {
        ledger.note_snacks(listing.listed_ids("snacks"));
    }
}

/// Creates a drawer of this user's, filed in the ledger; `patience` cuts the wait for the
/// answer short, and a drawer whose answer never came stays possible.
async fn create_drawer(
    user: &mut GooseUser,
    ledger: &Ledger,
    patience: Option<Duration>,
) -> TransactionResult {
    let owner = session(user)?.account.username;
    let name = ledger.fresh_name("drawer");
    let mut call = Call::new(Method::POST, "/drawers/", "/drawers/").json(&json!({"name": name}));
    if let Some(patience) = patience {
        call = call.timeout(patience);
    }
    ledger.intend_drawer(&owner, &name);
    let exchange = send_with_token(user, ledger, call).await?;
    let created = exchange.reply.as_ref().filter(|reply| reply.status.is_success());
    let id = created.and_then(|reply| reply.json()?.pointer("/drawer/id")?.as_u64());
    if let Some(id) = id {
        ledger.add_drawer(id, &owner, &name);
    }
    Ok(())
}

/// Puts a snack it does not hold yet into one of this user's drawers; the ledger learns the
/// outcome when the answer comes, and keeps it open when it does not.
async fn put_snack(
    user: &mut GooseUser,
    ledger: &Ledger,
    patience: Option<Duration>,
) -> TransactionResult {
    let owner = session(user)?.account.username;
    let Some(drawer) = ledger.random_drawer_of(&owner) else {
        return create_drawer(user, ledger, patience).await;
    };
    let Some(snack) = ledger.snack_not_in(drawer) else {
        return Ok(());
    };
    let path = format!("/drawers/{drawer}");
    let mut call = Call::new(Method::POST, path, "/drawers/{id}").json(&json!({"snack": snack}));
    if let Some(patience) = patience {
        call = call.timeout(patience);
    }
    ledger.intend_put(drawer, snack);
    let exchange = send_with_token(user, ledger, call).await?;
    match exchange.status() {
        Some(status) if status.is_success() => ledger.settle_put(drawer, snack, true),
        // An injected fault may have struck after the snack went in: it stays possible.
        Some(_) if !exchange.fault_injected() => ledger.settle_put(drawer, snack, false),
        _ => {}
    }
    Ok(())
}
