//! Every port method is measured and targeted under the one name `ports::methods` gives it.
//!
//! The ports are wired as the binary wires them with faults armed, `Observed` around `Faulty`
//! around the adapters. Each call below is paired with the name of the method it makes; for
//! every name in turn a plan aims a fault at it, and then every method is called once: the
//! metrics must count each call under its own name and no other, and the fault must hit the
//! one call of that name and no other.
//!
//! Separate binary: it reads the process-wide call counters, which no other test may move
//! meanwhile.

use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::jwt::JwtTokens;
use snackdrawer::adapters::memory::MemoryStore;
use snackdrawer::adapters::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::adapters::throttle::{BackoffSettings, BackoffThrottle};
use snackdrawer::app::Ports;
use snackdrawer::chaos::lazy::LazySettings;
use snackdrawer::chaos::{ChangedBy, FaultInjector};
use snackdrawer::domain::{
    DrawerId, DrawerName, Password, PasswordHash, SnackId, SnackName, User, Username,
};
use snackdrawer::ports::{Freshness, methods};
use snackdrawer::startup::decorated_ports;
use snackdrawer::telemetry::metrics::{self, Format};
use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

type Answer = Result<(), Box<dyn Error + Send + Sync>>;

/// The ports as production decorates them, over a memory store, and the injector that arms them.
fn armed_ports() -> (Ports, Arc<FaultInjector>) {
    let injector = Arc::new(FaultInjector::new(&[], LazySettings::default(), None, Some(7)));
    let clock = Arc::new(SystemClock);
    let hasher = ScryptHasher::new(
        ScryptCost { log_n: 4, r: 8, p: 1 },
        HashingLimits { workers: 1, queue: 16 },
    )
    .expect("cheap scrypt parameters are valid");
    let tokens = JwtTokens::new(b"port method names test", Duration::from_secs(60), clock.clone());
    let settings = BackoffSettings { free_failures: 5, longest_wait: Duration::from_secs(1) };
    let ports = decorated_ports(
        MemoryStore::new(),
        "memory",
        hasher,
        tokens,
        Arc::new(BackoffThrottle::new(settings, clock)),
        Some(&injector),
    );
    (ports, injector)
}

/// Calls the port method `name` names, once, with `user` where it needs an account.
async fn call(ports: &Ports, name: &str, user: &User) -> Answer {
    let username = Username::parse("someone").unwrap();
    let password = Password::parse("long enough to pass").unwrap();
    let (drawer, snack) = (DrawerId::new(1).unwrap(), SnackId::new(1).unwrap());
    match name {
        methods::STORE_HEALTH_PING => ports.store_health.ping().await.map(drop)?,
        methods::USER_REPOSITORY_CREATE => {
            ports.users.create(&username, &PasswordHash::new("x")).await.map(drop)?
        }
        methods::USER_REPOSITORY_FIND_BY_ID => {
            ports.users.find_by_id(user.id, Freshness::Current).await.map(drop)?
        }
        methods::USER_REPOSITORY_FIND_BY_USERNAME => {
            ports.users.find_by_username(&user.username).await.map(drop)?
        }
        methods::SNACK_REPOSITORY_LIST => ports.snacks.list().await.map(drop)?,
        methods::SNACK_REPOSITORY_GET => ports.snacks.get(snack).await.map(drop)?,
        methods::SNACK_REPOSITORY_CREATE => {
            ports.snacks.create(&SnackName::parse("crisps").unwrap(), 100).await.map(drop)?
        }
        methods::DRAWER_REPOSITORY_LIST_BY_OWNER => {
            ports.drawers.list_by_owner(user.id).await.map(drop)?
        }
        methods::DRAWER_REPOSITORY_CREATE => {
            let name = DrawerName::parse("top").unwrap();
            ports.drawers.create(user.id, &name, 100).await.map(drop)?
        }
        methods::DRAWER_REPOSITORY_FIND => ports.drawers.find(drawer).await.map(drop)?,
        methods::DRAWER_REPOSITORY_FIND_WITH_CONTENTS => {
            ports.drawers.find_with_contents(drawer).await.map(drop)?
        }
        methods::DRAWER_REPOSITORY_ADD_SNACK => {
            ports.drawers.add_snack(drawer, snack, 100).await.map(drop)?
        }
        methods::DRAWER_REPOSITORY_REMOVE_SNACK => {
            ports.drawers.remove_snack(drawer, snack).await.map(drop)?
        }
        methods::DRAWER_REPOSITORY_DELETE => ports.drawers.delete(drawer).await.map(drop)?,
        methods::PASSWORD_HASHER_HASH => ports.hasher.hash(&password).await.map(drop)?,
        methods::PASSWORD_HASHER_VERIFY => ports.hasher.verify(&password, None).await.map(drop)?,
        methods::TOKEN_SERVICE_ISSUE => ports.tokens.issue(user).map(drop)?,
        methods::TOKEN_SERVICE_VERIFY => ports.tokens.verify("not a token").map(drop)?,
        other => panic!("{other} is in ports::methods but this test has no call for it"),
    }
    Ok(())
}

/// The port method an answer's injected fault was aimed at, if its failure was injected.
fn injected_into(answer: &Answer) -> Option<String> {
    let cause = answer.as_ref().err()?.source()?.to_string();
    let target = cause.strip_prefix("fault injected into ")?.split_once(": ")?.0;
    Some(target.to_owned())
}

/// How many calls of each function the process has measured so far.
fn calls_so_far() -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    for line in metrics::render(Format::Prometheus).lines() {
        let Some(labels) = line.strip_prefix("function_calls_total{") else { continue };
        let function = labels.split("function=\"").nth(1).and_then(|rest| rest.split('"').next());
        let value = line.rsplit(' ').next().and_then(|value| value.parse::<f64>().ok());
        if let (Some(function), Some(value)) = (function, value) {
            *counts.entry(function.to_owned()).or_default() += value;
        }
    }
    counts
}

/// The functions whose count moved between two readings, and by how much.
fn moved(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    after
        .iter()
        .map(|(function, count)| (function.clone(), count - before.get(function).unwrap_or(&0.0)))
        .filter(|(_, by)| *by != 0.0)
        .collect()
}

#[tokio::test]
async fn every_port_method_is_measured_and_targeted_under_its_own_name() {
    let (ports, injector) = armed_ports();
    let username = Username::parse("owner").unwrap();
    let user = ports.users.create(&username, &PasswordHash::new("x")).await.unwrap();

    for target in methods::ALL {
        let plan = injector.parse_plan(&format!("{target} error=internal")).unwrap();
        injector.replace_plan(plan, ChangedBy::Admin);
        for name in methods::ALL {
            let before = calls_so_far();
            let answer = call(&ports, name, &user).await;
            let measured = moved(&before, &calls_so_far());
            assert_eq!(measured, [(name.to_string(), 1.0)], "the call of {name} was measured");
            let hit = injected_into(&answer);
            let expected = (name == target).then(|| target.to_string());
            assert_eq!(hit, expected, "{name} under a fault aimed at {target}: {answer:?}");
        }
    }
}
