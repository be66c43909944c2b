//! The end-of-run audit: each owner, logged in as themselves, must see exactly what the ledger
//! says they own and hold. A foreign drawer in their list is a leak; a drawer gone, a drawer
//! nobody asked for, or contents other than the owner's own writes (allowing those whose answer
//! never came) is a tamper, the trace of a foreign write that worked. An answer carrying an
//! injected fault is no evidence either way: the audit asks again.

use crate::contract;
use crate::ledger::{Account, Drawer, Ledger};
use crate::transport::{Connection, Origin, TransportError};
use crate::violation::{Example, ViolationKind};
use hyper::header::AUTHORIZATION;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const ATTEMPTS_WHILE_HELD_BACK: usize = 5;
/// The pause before asking again after an injected fault that does not say how long to wait.
const PAUSE_AFTER_FAULT: Duration = Duration::from_millis(100);
/// Longest the audit waits for any one answer.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit could not reach the service: {0}")]
    Unreachable(#[from] TransportError),
    #[error("the audit got {status} for {what}")]
    Refused { what: String, status: StatusCode },
    #[error(
        "the audit got {status} with an injected fault for {what}, {ATTEMPTS_WHILE_HELD_BACK} times"
    )]
    InjectedFaults { what: String, status: StatusCode },
    #[error("the audit got no JSON for {what}: {source}")]
    NotJson { what: String, source: serde_json::Error },
}

struct Auditor<'a> {
    connection: Connection,
    ledger: &'a Ledger,
}

pub async fn audit(origin: &Origin, ledger: &Ledger) -> Result<(), AuditError> {
    let mut auditor = Auditor { connection: Connection::new(origin.clone(), "audit"), ledger };
    for account in ledger.accounts() {
        let mut owner = Owner { token: auditor.log_in(&account).await?, account };
        auditor.check_owner(&mut owner).await?;
    }
    Ok(())
}

/// An account and its latest token.
struct Owner {
    account: Account,
    token: String,
}

impl Auditor<'_> {
    async fn check_owner(&mut self, owner: &mut Owner) -> Result<(), AuditError> {
        let listed = self.read_as(owner, "/drawers/").await?;
        let owner_name = owner.account.username.clone();
        let owner_name = owner_name.as_str();
        let expected = self.ledger.drawers_of(&owner.account.username);
        for drawer in listed.get("drawers").and_then(Value::as_array).into_iter().flatten() {
            let id = drawer.get("id").and_then(Value::as_u64).unwrap_or_default();
            let name = drawer.get("name").and_then(Value::as_str).unwrap_or_default();
            if expected.contains_key(&id) {
                continue;
            }
            let evidence = || {
                self.evidence(
                    owner_name,
                    "GET /drawers/",
                    format!("drawer {id} is not theirs"),
                    &listed,
                )
            };
            if self.ledger.owner_of(id).is_some() {
                self.ledger.record(ViolationKind::Leak, evidence());
            } else if !self.ledger.drawer_may_exist(owner_name, name) {
                self.ledger.record(ViolationKind::Tamper, evidence());
            }
        }
        for (id, drawer) in expected {
            self.check_drawer(owner, id, &drawer).await?;
        }
        Ok(())
    }

    async fn check_drawer(
        &mut self,
        owner: &mut Owner,
        id: u64,
        drawer: &Drawer,
    ) -> Result<(), AuditError> {
        let path = format!("/drawers/{id}");
        let shown = self.read_as(owner, &path).await;
        let owner = owner.account.username.as_str();
        let expectation = format!(
            "contents {:?}, perhaps also some of {:?}",
            drawer.contents, drawer.unconfirmed
        );
        let shown = match shown {
            Err(AuditError::Refused { status: StatusCode::NOT_FOUND, .. }) => {
                let gone = json!({"status": 404});
                self.ledger
                    .record(ViolationKind::Tamper, self.evidence(owner, &path, expectation, &gone));
                return Ok(());
            }
            other => other?,
        };
        let contents = shown
            .pointer("/drawer/contents")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let actual: BTreeSet<u64> =
            contents.iter().filter_map(|snack| snack.get("id")?.as_u64()).collect();
        let allowed: BTreeSet<u64> = drawer.contents.union(&drawer.unconfirmed).copied().collect();
        if !drawer.contents.is_subset(&actual) || !actual.is_subset(&allowed) {
            self.ledger
                .record(ViolationKind::Tamper, self.evidence(owner, &path, expectation, &shown));
        }
        Ok(())
    }

    async fn log_in(&mut self, account: &Account) -> Result<String, AuditError> {
        let credentials = json!({"username": account.username, "password": account.password});
        let login = self.ask(Method::POST, "/auth/login", None, Some(&credentials)).await?;
        Ok(login.get("token").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    /// `GET path` as `owner`, logging in again when the token has expired.
    async fn read_as(&mut self, owner: &mut Owner, path: &str) -> Result<Value, AuditError> {
        match self.ask(Method::GET, path, Some(&owner.token), None).await {
            Err(AuditError::Refused { status: StatusCode::UNAUTHORIZED, .. }) => {
                owner.token = self.log_in(&owner.account).await?;
                self.ask(Method::GET, path, Some(&owner.token), None).await
            }
            answer => answer,
        }
    }

    fn evidence(&self, owner: &str, request: &str, expected: String, shown: &Value) -> Example {
        Example {
            request: format!(
                "{request} as its owner {owner}, at the end of the run; expected {expected}"
            ),
            response: shown.to_string(),
        }
    }

    /// The JSON answer to a request, retried while the service sheds load or a login limit
    /// holds it back (every login of the audit comes from one address, more than one a second),
    /// or while its answers carry injected faults.
    async fn ask(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, AuditError> {
        let what = || format!("{method} {path}");
        let mut status = StatusCode::SERVICE_UNAVAILABLE;
        let mut faulted = false;
        for _ in 0..ATTEMPTS_WHILE_HELD_BACK {
            let mut request = self.connection.request(method.clone(), path);
            if let Some(token) = token {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            let body = body.map(|body| body.to_string().into_bytes());
            let answer = self.connection.round_trip(request, body, PATIENCE).await.answer?;
            status = answer.status;
            faulted = contract::fault_injected(&answer.headers);
            if faulted {
                self.ledger.note_fault_injected();
            }
            if status.is_success() {
                return serde_json::from_slice(&answer.body)
                    .map_err(|source| AuditError::NotJson { what: what(), source });
            }
            match contract::retry_after(status, &answer.headers)
                .or(faulted.then_some(PAUSE_AFTER_FAULT))
            {
                Some(wait) => tokio::time::sleep(wait).await,
                None => break,
            }
        }
        if faulted {
            return Err(AuditError::InjectedFaults { what: what(), status });
        }
        Err(AuditError::Refused { what: what(), status })
    }
}
