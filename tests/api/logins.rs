//! Logins under attack and overload: failed logins per username back off (429 with
//! Retry-After), alike for known and unknown users, however the name is spelled and however
//! many other names are tried, and without locking the owner out from another address; a full
//! hashing queue is a 503; usernames are NFC and never padded with whitespace, new ones fold to
//! NFKC and hold no invisible characters, and old ones still log in; and a flood from one
//! address leaves another address's logins alone.

use crate::support::TestApp;
use crate::support::auth::{LOGIN_BACKOFF, cheap_hasher, login_throttle, token_service};
use crate::support::client::{ApiClient, Reply};
use crate::support::server::RunningServer;
use crate::support::stores::{StoreKind, fresh_ports};
use axum::http::StatusCode;
use serde_json::json;
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::scrypt::{HashingLimits, ScryptCost, ScryptHasher};
use snackdrawer::adapters::throttle::BackoffThrottle;
use snackdrawer::app::Snackdrawer;
use snackdrawer::domain::{Password, Username};
use snackdrawer::ports::{Accounts, Clock};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

const WRONG: &str = "401 Unauthorized: username or password incorrect";

async fn log_in(app: &TestApp, username: &str, password: &str) -> Reply {
    app.post("/auth/login").json(json!({"username": username, "password": password})).send().await
}

/// Status, error text and Retry-After of a refused login.
fn refusal(reply: &Reply) -> (u16, String, Option<String>) {
    let retry_after = reply.headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (reply.status.as_u16(), reply.error().to_owned(), retry_after)
}

fn throttled(seconds: u64) -> (u16, String, Option<String>) {
    let error = format!(
        "429 Too Many Requests: too many failed logins for this username, retry in {seconds} s"
    );
    (429, error, Some(seconds.to_string()))
}

#[tokio::test]
async fn failed_logins_back_off_alike_for_known_and_unknown_users() {
    let app = TestApp::new(StoreKind::Memory).await;
    app.register("alice").await;
    let mut answers = vec![];
    for username in ["alice", "nobody"] {
        let mut refusals = vec![];
        for _ in 0..7 {
            refusals.push(refusal(&log_in(&app, username, "wrong").await));
        }
        answers.push(refusals);
    }
    let expected: Vec<_> = std::iter::repeat_n((401, WRONG.to_owned(), None), 5)
        .chain([throttled(1), throttled(1)])
        .collect();
    assert_eq!(answers[0], expected, "alice");
    assert_eq!(answers[1], expected, "an unknown user is answered the same");

    // Held back, even the right password waits; then it works, and the count starts over.
    assert_eq!(refusal(&log_in(&app, "alice", "secret").await), throttled(1));
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(log_in(&app, "alice", "secret").await.status, StatusCode::CREATED);
    for _ in 0..5 {
        log_in(&app, "alice", "wrong").await.assert_error(401, WRONG);
    }
}

#[tokio::test]
async fn the_wait_doubles_with_each_further_failure() {
    let app = TestApp::new(StoreKind::Memory).await;
    for _ in 0..5 {
        log_in(&app, "nobody", "wrong").await.assert_error(401, WRONG);
    }
    for seconds in [1, 2, 4, 8] {
        assert_eq!(refusal(&log_in(&app, "nobody", "wrong").await), throttled(seconds));
        app.clock.advance(Duration::from_secs(seconds));
        log_in(&app, "nobody", "wrong").await.assert_error(401, WRONG);
    }
}

/// A clock that does not move: the attack below takes longer than the first waits.
struct StoppedClock(SystemTime);

impl Clock for StoppedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// The attack, on a table of 1,000 entries rather than 100,000: other names fill the
/// throttle's table, then a victim is guessed while they go on.
#[tokio::test]
async fn filling_the_throttle_s_table_does_not_switch_it_off() {
    let clock = Arc::new(StoppedClock(SystemTime::now()));
    let throttle = BackoffThrottle::with_capacity(LOGIN_BACKOFF, clock.clone(), 1_000);
    let (ports, _guard) = fresh_ports(
        StoreKind::Memory,
        Arc::new(cheap_hasher()),
        Arc::new(token_service(clock)),
        Arc::new(throttle),
    )
    .await;
    let app = ApiClient::new(Snackdrawer::new(ports));
    let body = |username: &str| json!({"username": username, "password": "wrong"});
    app.post("/auth/users").json(json!({"username": "victim", "password": "secret"})).send().await;
    for n in 0..2_000 {
        let reply = app.post("/auth/login").json(body(&format!("filler{n}"))).send().await;
        reply.assert_error(401, WRONG);
    }
    let mut statuses = vec![];
    for round in 0..20 {
        for n in 0..100 {
            let filler = format!("filler{round}-{n}");
            app.post("/auth/login").json(body(&filler)).send().await.assert_error(401, WRONG);
        }
        let guess = app.post("/auth/login").json(body("victim")).send().await;
        statuses.push(guess.status.as_u16());
    }
    let expected: Vec<u16> = [401; 5].into_iter().chain([429; 15]).collect();
    assert_eq!(statuses, expected);
}

/// An attacker on 127.0.0.2 guesses the owner's password on and on; the owner, on 127.0.0.3,
/// still logs in. The per-address limit is off, as behind a proxy that limits by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_does_not_lock_the_owner_out_from_another_address() {
    let server = RunningServer::start(&[("SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS", "0")]);
    let from = |last_octet| {
        let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet));
        reqwest::Client::builder().local_address(address).build().unwrap()
    };
    let (attacker, owner) = (from(2), from(3));
    let log_in = |client: &reqwest::Client, password: &str| {
        let body = json!({"username": "owner", "password": password});
        let request = client.post(server.url("/auth/login")).json(&body).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    let credentials = json!({"username": "owner", "password": "secret"});
    let registered = owner.post(server.url("/auth/users")).json(&credentials).send().await;
    assert_eq!(registered.unwrap().status(), 201);
    let mut guesses = vec![];
    for _ in 0..8 {
        guesses.push(log_in(&attacker, "guess").await);
    }
    assert_eq!(guesses, [401, 401, 401, 401, 401, 429, 429, 429]);
    assert_eq!(log_in(&owner, "secret").await, 201, "the owner, elsewhere, logs in");
    assert_eq!(log_in(&attacker, "guess").await, 429, "the attacker is still held back");
    assert_eq!(log_in(&owner, "secret").await, 201, "and the owner again");
    assert_eq!(log_in(&attacker, "secret").await, 429, "even with the right password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_is_a_503_not_a_500() {
    // One worker, no queue, and hashes slow enough that eight requests overlap.
    let slow = ScryptCost { log_n: 15, r: 8, p: 1 };
    let hasher = ScryptHasher::new(slow, HashingLimits { workers: 1, queue: 0 }).unwrap();
    let tokens = token_service(Arc::new(SystemClock));
    let throttle = login_throttle(Arc::new(SystemClock));
    let (ports, _guard) =
        fresh_ports(StoreKind::Memory, Arc::new(hasher), Arc::new(tokens), throttle).await;
    let app = Arc::new(ApiClient::new(Snackdrawer::new(ports)));
    let mut registrations = tokio::task::JoinSet::new();
    for n in 0..8 {
        let app = app.clone();
        let body = json!({"username": format!("user{n}"), "password": "secret"});
        registrations.spawn(async move { app.post("/auth/users").json(body).send().await });
    }
    let replies = registrations.join_all().await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status.as_u16()).collect();
    assert!(statuses.iter().all(|status| [201, 503].contains(status)), "{statuses:?}");
    let refused = replies.iter().find(|reply| reply.status == 503).expect("some were refused");
    refused
        .assert_error(503, "503 Service Unavailable: service temporarily unavailable, retry later");
    assert_eq!(refused.headers["retry-after"], "1");
}

#[tokio::test]
async fn usernames_are_nfc_and_never_padded() {
    let app = TestApp::new(StoreKind::Memory).await;
    for padded in [" alice", "alice ", "alice\u{3000}"] {
        let body = json!({"username": padded, "password": "secret"});
        let reply = app.post("/auth/users").json(body).send().await;
        reply.assert_error(400, "400 Bad Request: username must not start or end with whitespace");
    }
    let composed = "Z\u{e9}lie";
    let decomposed = "Ze\u{301}lie";
    app.register(composed).await;
    let again = app.post("/auth/users").json(json!({"username": decomposed, "password": "x"}));
    again.send().await.assert_error(422, "422 Unprocessable Entity: username taken");
    assert_eq!(log_in(&app, decomposed, "secret").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn look_alike_usernames_are_refused_or_taken() {
    let app = TestApp::new(StoreKind::Memory).await;
    app.register("bob").await;
    let register = |username: &str| {
        let body = json!({"username": username, "password": "other"});
        app.post("/auth/users").json(body).send()
    };
    let invisible = "400 Bad Request: username must not contain invisible characters \
        (default-ignorable code points such as zero-width spaces and joiners, soft hyphens or \
        variation selectors)";
    let zero_width_space = "b\u{200B}ob";
    let zero_width_joiner = "bo\u{200D}b";
    let byte_order_mark = "\u{FEFF}bob";
    let soft_hyphen = "bo\u{AD}b";
    let grapheme_joiner = "b\u{34F}ob";
    for look_alike in
        [zero_width_space, zero_width_joiner, byte_order_mark, soft_hyphen, grapheme_joiner]
    {
        register(look_alike).await.assert_error(400, invisible);
    }
    let taken = "422 Unprocessable Entity: username taken";
    let fullwidth = "\u{FF42}\u{FF4F}\u{FF42}";
    let mathematical_bold = "\u{1D41B}\u{1D428}\u{1D41B}";
    for look_alike in [fullwidth, mathematical_bold, "bo\u{1D47}"] {
        register(look_alike).await.assert_error(422, taken);
        // Logging in by the look-alike reaches the one account it folds onto.
        assert_eq!(log_in(&app, look_alike, "secret").await.status, StatusCode::CREATED);
    }
    // A folded name is registered as what it folds to.
    let reply = register("\u{FF41}nn").await;
    assert_eq!((reply.status.as_u16(), &reply.json["username"]), (201, &json!("ann")));
    assert_eq!(log_in(&app, "ann", "other").await.status, StatusCode::CREATED);
    // Case is kept: "Bob" is another name, as it always was.
    assert_eq!(register("Bob").await.status, StatusCode::CREATED);
}

/// The throttle counts the folded name, so every spelling that reaches an account counts
/// against it: a guesser gets no free guesses per look-alike.
#[tokio::test]
async fn look_alike_spellings_share_one_back_off() {
    let app = TestApp::new(StoreKind::Memory).await;
    app.register("bob").await;
    let fullwidth = "\u{FF42}\u{FF4F}\u{FF42}";
    let mathematical_bold = "\u{1D41B}\u{1D428}\u{1D41B}";
    let spellings = ["bob", fullwidth, mathematical_bold, "bo\u{1D47}"];
    for spelling in spellings.iter().cycle().take(5) {
        log_in(&app, spelling, "wrong").await.assert_error(401, WRONG);
    }
    for spelling in spellings {
        assert_eq!(refusal(&log_in(&app, spelling, "wrong").await), throttled(1), "{spelling:?}");
    }
}

#[tokio::test]
async fn accounts_registered_before_folding_still_log_in() {
    let app = TestApp::new(StoreKind::Memory).await;
    app.register("bob").await;
    // Registered as the service did before: in NFC only, invisible characters allowed.
    for legacy in ["\u{FF42}\u{FF4F}\u{FF42}", "b\u{200B}ob"] {
        let (username, password) = (Username::parse(legacy).unwrap(), Password::parse("legacy"));
        app.app.register(username, password.unwrap()).await.unwrap();
        assert_eq!(log_in(&app, legacy, "legacy").await.status, StatusCode::CREATED, "{legacy:?}");
        log_in(&app, legacy, "secret").await.assert_error(401, WRONG);
    }
    assert_eq!(log_in(&app, "bob", "secret").await.status, StatusCode::CREATED);
    // `¯` folds to a space and a combining macron, no username: it is looked up as typed alone.
    log_in(&app, "\u{AF}", "secret").await.assert_error(401, WRONG);
}

/// 300 clients on 127.0.0.1 flood the login route with wrong passwords for ever-new usernames
/// (so only the per-address limit can stop them) while a well-behaved client on 127.0.0.2 logs
/// in once a second (the default limit), 20 times, each given `POLITE_PATIENCE`. Hashing at the
/// service's default cost on one worker, as on a two-core machine; `rate_per_address` "0"
/// turns the limit off.
async fn flooded_logins(rate_per_address: &str) -> (usize, Vec<(Duration, u16)>) {
    let server = RunningServer::start(&[
        ("SNACKDRAWER_SCRYPT_LOG_N", "14"),
        ("SNACKDRAWER_HASH_WORKERS", "1"),
        ("SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS", rate_per_address),
    ]);
    let from = |last_octet| {
        let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet));
        reqwest::Client::builder().local_address(address).build().unwrap()
    };
    let polite = from(2);
    let credentials = json!({"username": "polite", "password": "secret"});
    let registered = polite.post(server.url("/auth/users")).json(&credentials).send().await;
    assert_eq!(registered.unwrap().status(), 201);

    let flooding = Arc::new(AtomicBool::new(true));
    let refused_by_address = Arc::new(AtomicUsize::new(0));
    let mut flood = tokio::task::JoinSet::new();
    let flooder = from(1);
    for client in 0..300 {
        let (flooder, flooding, refused) =
            (flooder.clone(), flooding.clone(), refused_by_address.clone());
        let url = server.url("/auth/login");
        flood.spawn(async move {
            let mut attempt = 0;
            while flooding.load(Ordering::Relaxed) {
                attempt += 1;
                let guess =
                    json!({"username": format!("victim{client}-{attempt}"), "password": "x"});
                let Ok(reply) = flooder.post(&url).json(&guess).send().await else { continue };
                if reply.status() == 429 {
                    assert!(reply.headers().contains_key("retry-after"));
                    let body: serde_json::Value = reply.json().await.unwrap();
                    let error = body["error"].as_str().unwrap();
                    assert!(
                        error.starts_with(
                            "429 Too Many Requests: too many requests from this address, retry in "
                        ),
                        "{error}"
                    );
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    // Past the flood's first burst: what is measured is the flood as it goes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut in_time = 0;
    let mut durations = vec![];
    let mut pace = tokio::time::interval(Duration::from_secs(1));
    // After a slow login, the next waits its second rather than catching up: the polite
    // client must stay within its own address's rate.
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..20 {
        pace.tick().await;
        let started = Instant::now();
        let request = polite.post(server.url("/auth/login")).json(&credentials).send();
        let answer = tokio::time::timeout(POLITE_PATIENCE, request).await;
        let status = match &answer {
            Ok(Ok(reply)) => reply.status().as_u16(),
            _ => 0,
        };
        durations.push((started.elapsed(), status));
        if status == 201 {
            in_time += 1;
        }
    }
    flooding.store(false, Ordering::Relaxed);
    flood.join_all().await;
    if rate_per_address != "0" {
        assert!(refused_by_address.load(Ordering::Relaxed) > 0, "the flood was never limited");
    }
    (in_time, durations)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_leaves_another_address_s_logins_alone() {
    let (in_time, durations) = flooded_logins("1").await;
    assert!(in_time >= 18, "{in_time} of 20 logins in time: {durations:?}");
}

/// How long the polite client waits for each login. Starved, it waits behind the flood's
/// hashing for ever or is refused for a full queue; served, a login takes a hash or two. The
/// margin is for a debug build's hashing on a machine busy with the rest of the suite, where
/// 2 s once let 11 of 20 through with the limit on.
const POLITE_PATIENCE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refusals_is_one_warning_not_one_per_request() {
    // One slow worker and no queue: most of 40 simultaneous registrations are refused.
    let server = RunningServer::start(&[
        ("SNACKDRAWER_SCRYPT_LOG_N", "15"),
        ("SNACKDRAWER_HASH_WORKERS", "1"),
        ("SNACKDRAWER_HASH_QUEUE", "0"),
        ("SNACKDRAWER_PASSWORD_RATE_PER_ADDRESS", "0"),
    ]);
    let client = reqwest::Client::new();
    let mut registrations = tokio::task::JoinSet::new();
    for n in 0..40 {
        let request = client
            .post(server.url("/auth/users"))
            .json(&json!({"username": format!("user{n}"), "password": "secret"}));
        registrations.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let statuses = registrations.join_all().await;
    let refused = statuses.iter().filter(|status| **status == 503).count();
    assert!(refused >= 10, "{statuses:?}");
    let warnings = || {
        let logs = server.logs();
        logs.iter().filter(|line| line.contains("request failed: dependency unavailable")).count()
    };
    // The child's lines arrive through a pipe: give the first a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while warnings() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(warnings(), 1, "{refused} refusals");
}
