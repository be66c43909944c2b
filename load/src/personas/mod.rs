//! The four kinds of user, one goose scenario each, so `--mix` is just the scenarios' weights and
//! goose's tables come out per persona and transaction. Every transaction is named after the
//! route it drives, every user sends `user-agent: snackdrawer-load/<version> (<persona>)` so a
//! trace or an access line shows who sent it, and the steps two personas share live here once.

pub mod impatient;
pub mod kiddie;
pub mod nosy;
pub mod snacker;

use crate::exchange::{Call, Exchange};
use crate::ledger::Ledger;
use crate::transport::{self, Connection, Origin};
use crate::user::{self, Session, UserData, send_with_token, session};
use goose::prelude::*;
use hyper::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A goose transaction named `$name` that runs `$function(user, ledger)`, paced (`paced`).
macro_rules! step {
    ($ledger:expr, $name:expr, $function:path) => {{
        let ledger = std::sync::Arc::clone($ledger);
        let function: goose::prelude::TransactionFunction = std::sync::Arc::new(move |user| {
            Box::pin($crate::personas::paced($function(user, std::sync::Arc::clone(&ledger))))
        });
        goose::prelude::Transaction::new(function).set_name($name)
    }};
}
use step;

/// The pause after a step that found nothing to do.
pub const IDLE_PAUSE: Duration = Duration::from_millis(100);

/// Runs `step`, then pauses for `IDLE_PAUSE` if it finished without ever waiting: it found
/// nothing to do (no foreign drawer known yet, no snack to put, no session because signing up
/// failed) and sent nothing. With no think time goose starts the next step at once, and a step
/// that never waits never hands its thread back to tokio, so idle users would spin: with as many
/// of them as worker threads they hold every thread, and the other users, tokio's timers (goose
/// starts users and ends the run on them) and goose's metrics task, whose unbounded channel takes
/// a message per step, never run again. That was issue 21's runaway: goose starts users in the
/// reverse of its round-robin order, so two of three nosy neighbours held both threads of a
/// 2-core machine before the only snacker, who makes the drawers, could start; a 5 s run went
/// on for 36 minutes and grew to 19 GB.
pub async fn paced(step: impl Future<Output = TransactionResult>) -> TransactionResult {
    let mut step = std::pin::pin!(step);
    let mut waited = false;
    let outcome = std::future::poll_fn(|context| {
        let poll = step.as_mut().poll(context);
        waited |= poll.is_pending();
        poll
    })
    .await;
    if !waited {
        tokio::time::sleep(IDLE_PAUSE).await;
    }
    outcome
}

/// How long a user thinks after each step: goose draws each pause from this range, uniformly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThinkTime {
    pub min: Duration,
    pub max: Duration,
}

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
            Some(step) => self.only(step, transactions, ledger)?,
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
        ledger: &Arc<Ledger>,
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
        let start = if is_public_step(step) {
            let persona = self;
            let ledger = Arc::clone(ledger);
            let identify: TransactionFunction = Arc::new(move |user| {
                let ledger = Arc::clone(&ledger);
                Box::pin(async move { identify(user, &ledger, persona).await })
            });
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
    identify(user, ledger, persona).await?;
    user::sign_up(user, ledger, persona.name()).await
}

/// This user's own connection, which names the persona in its user agent; it opens with the
/// first request. The user is counted as started from here.
async fn identify(user: &mut GooseUser, ledger: &Ledger, persona: Persona) -> TransactionResult {
    let origin = Origin::parse(user.base_url.as_str()).map_err(|error| error.to_string())?;
    let connection = Connection::new(origin, persona.name());
    user.set_session_data(UserData { connection, session: None });
    ledger.traffic().note_user();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Account;
    use crate::user::TokenHeader;
    use goose::config::GooseConfiguration;
    use tokio::time::Instant;

    /// A signed-up user of a service at `base_url`, which nothing in these tests calls.
    fn signed_up_user(base_url: &str) -> GooseUser {
        let configuration = GooseConfiguration::parse_args_default(&[] as &[&str]).unwrap();
        let mut user = GooseUser::single(base_url.parse().unwrap(), &configuration).unwrap();
        let origin = Origin::parse(base_url).unwrap();
        let account = Account { username: "nosy".into(), password: "secret".into(), user_id: 1 };
        let session =
            Session { account, token: "token".into(), token_header: TokenHeader::XAccessToken };
        let connection = Connection::new(origin, "test");
        user.set_session_data(UserData { connection, session: Some(session) });
        user
    }

    /// The runaway of issue 21: a nosy neighbour that knows no foreign drawer yet has nothing to
    /// send, and each of its steps must still take a while instead of returning at once.
    #[tokio::test]
    async fn a_step_with_nothing_to_do_pauses_instead_of_spinning() {
        let ledger = Arc::new(Ledger::default());
        let mut user = signed_up_user("http://127.0.0.1:9");
        let steps = nosy::transactions(&ledger).unwrap();
        for step in steps.iter().filter(|step| !step.on_start) {
            let started = Instant::now();
            (step.function)(&mut user).await.unwrap();
            let name = step.name.name_for_transaction();
            assert!(started.elapsed() >= IDLE_PAUSE, "{name} returned at once");
        }
    }

    #[tokio::test]
    async fn a_step_that_fails_at_once_pauses_too() {
        let ledger = Arc::new(Ledger::default());
        let configuration = GooseConfiguration::parse_args_default(&[] as &[&str]).unwrap();
        let base_url = "http://127.0.0.1:9".parse().unwrap();
        // Never signed up: every step fails before sending anything.
        let mut user = GooseUser::single(base_url, &configuration).unwrap();
        let step = nosy::transactions(&ledger).unwrap().remove(1);
        let started = Instant::now();
        assert!((step.function)(&mut user).await.is_err());
        assert!(started.elapsed() >= IDLE_PAUSE);
    }
}
