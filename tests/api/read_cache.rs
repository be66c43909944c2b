//! Kept reads on the real binary over SQLite: what a process wrote is read back at once, even
//! under readers that keep filling the copies; what another process wrote, or an outage, shows
//! within the keep time; a drawer another process deletes is read whole or gone. The store
//! contract (`store_contract`) runs every SQL store with reads kept for an hour, so a write that
//! forgot to forget its copy fails there too; and here, on such a store, a token from before a
//! reset of the database acts for nobody.

use crate::support::auth::{cheap_hasher, login_throttle, token_service};
use crate::support::client::ApiClient;
use crate::support::remote::Client;
use crate::support::server::RunningServer;
use crate::support::stores::{
    StoreKind, fresh_ports, migrated_sql_store, postgres_enabled, sqlite_url,
};
use axum::http::Method;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::app::Snackdrawer;
use snackdrawer::ports::{Catalogue, SnackRepository};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SECRET: (&str, &str) = ("SNACKDRAWER_JWT_SECRET", "read-cache-test-secret-read-cache-test");
/// Slack for a loaded test machine on top of the keep time.
const SLACK: Duration = Duration::from_secs(2);

fn serve(url: &str, keep_reads_for: &str) -> RunningServer {
    RunningServer::start(&[
        ("DATABASE_URL", url),
        ("SNACKDRAWER_CACHE_TTL", keep_reads_for),
        SECRET,
    ])
}

async fn sign_up_with_drawer(client: &Client) -> (String, String) {
    let (status, body) =
        client.post("/auth/users", None, json!({"username": "ann", "password": "pw"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = client.log_in("ann").await;
    let (status, body) = client.post("/drawers/", Some(&token), json!({"name": "desk"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (token, format!("/drawers/{}", body["drawer"]["id"]))
}

/// The ids of the snacks in a `GET /drawers/{id}` answer.
fn snack_ids(answer: &Value) -> Vec<u64> {
    let contents = answer["drawer"]["contents"].as_array().expect("a drawer with contents");
    contents.iter().map(|snack| snack["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn what_this_process_wrote_is_read_back_at_once_while_readers_keep_filling_the_copies() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&sqlite_url(&dir), "3600");
    let client = Client::new(&server);
    let (token, drawer) = sign_up_with_drawer(&client).await;

    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (client, token, drawer) = (Client::new(&server), token.clone(), drawer.clone());
            tokio::spawn(async move {
                loop {
                    client.get("/snacks/", None).await;
                    client.get(&drawer, Some(&token)).await;
                }
            })
        })
        .collect();

    let mut expected = Vec::new();
    for snack in 1..=12 {
        let (status, body) = client.post(&drawer, Some(&token), json!({ "snack": snack })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        expected.push(snack);
        let (_, body) = client.get(&drawer, Some(&token)).await;
        assert_eq!(snack_ids(&body), expected, "read back after adding snack {snack}");
    }
    for snack in [3, 7, 12] {
        let (status, body) =
            client.send("DELETE", &format!("{drawer}/snacks/{snack}"), Some(&token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        expected.retain(|&kept| kept != snack);
        let (_, body) = client.get(&drawer, Some(&token)).await;
        assert_eq!(snack_ids(&body), expected, "read back after taking snack {snack} out");
    }
    for n in 0..5 {
        let name = format!("new snack {n}");
        let (status, body) = client.post("/snacks/", Some(&token), json!({ "name": name })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, list) = client.get("/snacks/", None).await;
        assert!(list.to_string().contains(&name), "the catalogue lacks {name}: {list}");
    }
    let (status, _) = client.send("DELETE", &drawer, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(client.get(&drawer, Some(&token)).await.0, StatusCode::NOT_FOUND);

    for reader in readers {
        reader.abort();
    }
}

/// Reads of the catalogue that went to the database, in the test below (the store's observer
/// is a plain function, so it counts here).
static CATALOGUE_READS: AtomicUsize = AtomicUsize::new(0);

fn count_database_reads(answered_without_one: bool) {
    if !answered_without_one {
        CATALOGUE_READS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Readers that find no fresh copy while a read is under way wait for its answer: a copy
/// expiring under 32 readers costs one read of the catalogue, not 32 (each of which also
/// became a body rendered anew). On one thread every reader misses before the first read is
/// back, so without the sharing each would read.
#[tokio::test(flavor = "current_thread")]
async fn readers_that_miss_together_share_one_read_of_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(migrated_sql_store(&sqlite_url(&dir)).await);
    store.observe_kept_reads(count_database_reads);
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let store = store.clone();
        readers.spawn(async move { store.list().await.expect("the catalogue reads") });
    }
    let lists = readers.join_all().await;
    assert_eq!(CATALOGUE_READS.load(Ordering::SeqCst), 1, "reads of the database");
    assert!(lists.windows(2).all(|pair| Arc::ptr_eq(&pair[0], &pair[1])), "one shared list");
}

#[tokio::test]
async fn what_another_process_wrote_shows_within_the_keep_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let keep = Duration::from_millis(500);
    let reader = serve(&url, "0.5");
    let writer = serve(&url, "0.5");
    let (reading, writing) = (Client::new(&reader), Client::new(&writer));
    let (token, drawer) = sign_up_with_drawer(&writing).await;
    assert!(snack_ids(&reading.get(&drawer, Some(&token)).await.1).is_empty(), "kept empty");

    let (status, body) = writing.post(&drawer, Some(&token), json!({"snack": 4})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let written = Instant::now();
    while snack_ids(&reading.get(&drawer, Some(&token)).await.1) != [4] {
        assert!(written.elapsed() < keep + SLACK, "still not read after {:?}", written.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("the other process's write was read after {:?}", written.elapsed());
}

#[tokio::test]
async fn a_kept_read_is_answered_for_at_most_its_keep_time_after_the_file_has_gone() {
    let dir = tempfile::tempdir().unwrap();
    let keep = Duration::from_millis(500);
    let server = serve(&sqlite_url(&dir), "0.5");
    let client = Client::new(&server);
    let (status, kept) = client.get("/snacks/", None).await;
    assert_eq!(status, StatusCode::OK);

    std::fs::rename(dir.path().join("snackdrawer.db"), dir.path().join("aside.db")).unwrap();
    let moved = Instant::now();
    loop {
        let (status, body) = client.get("/snacks/", None).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert_eq!((status, &body), (StatusCode::OK, &kept), "only the kept list, then 503");
        assert!(moved.elapsed() < keep + SLACK, "still answered after {:?}", moved.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("503 after {:?}", moved.elapsed());
}

/// Two processes on one file: one deletes drawers that always hold a snack while the other's
/// clients read them hard. Each read sees the drawer whole or gone: never a drawer that exists
/// but is empty (its contents read after it was deleted), and never back again once a client
/// saw it gone (a slow read from before the delete kept after a read that found it gone).
async fn another_process_deleting_a_drawer_never_tears_a_read_of_it(keep_reads_for: &str) {
    const CYCLES: usize = 150;
    const READERS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let (reader, writer) = (serve(&url, keep_reads_for), serve(&url, keep_reads_for));
    let writing = Client::new(&writer);
    let (token, first) = sign_up_with_drawer(&writing).await;
    let mut drawers = vec![first];
    for n in 1..CYCLES {
        let (status, body) =
            writing.post("/drawers/", Some(&token), json!({ "name": format!("d{n}") })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        drawers.push(format!("/drawers/{}", body["drawer"]["id"]));
    }
    for drawer in &drawers {
        let (status, body) = writing.post(drawer, Some(&token), json!({"snack": 1})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let readers: Vec<_> = (0..READERS).map(|_| Arc::new(Client::new(&reader))).collect();
    let (mut torn, mut back, mut reads) = (0, 0, 0);
    for drawer in &drawers {
        let reading: Vec<_> = readers
            .iter()
            .map(|client| {
                let (client, token, drawer) = (client.clone(), token.clone(), drawer.clone());
                tokio::spawn(async move {
                    let (mut torn, mut back, mut reads, mut gone) = (0, 0, 0, 0);
                    while gone < 3 {
                        let (status, body) = client.get(&drawer, Some(&token)).await;
                        reads += 1;
                        match status {
                            StatusCode::NOT_FOUND => gone += 1,
                            StatusCode::OK if snack_ids(&body).is_empty() => torn += 1,
                            StatusCode::OK if gone > 0 => back += 1,
                            StatusCode::OK => {}
                            other => panic!("{other}: {body}"),
                        }
                    }
                    (torn, back, reads)
                })
            })
            .collect();
        let (status, body) = writing.send("DELETE", drawer, Some(&token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        for task in reading {
            let (t, b, r) = task.await.unwrap();
            (torn, back, reads) = (torn + t, back + b, reads + r);
        }
    }
    println!("{reads} reads of {CYCLES} drawers deleted under them");
    assert_eq!((torn, back), (0, 0), "reads of an empty drawer, and back after gone, in {reads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_deleting_a_drawer_never_tears_a_read_of_it_from_the_database() {
    another_process_deleting_a_drawer_never_tears_a_read_of_it("0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_deleting_a_drawer_never_tears_a_read_of_it_from_a_kept_copy() {
    another_process_deleting_a_drawer_never_tears_a_read_of_it("0.05").await;
}

/// Every row gone and ids counting from 1 again, as a recreated database or a restored backup
/// leaves it, under the running store.
async fn reset(url: &str) {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let statement = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "TRUNCATE drawer_snacks, drawers, users RESTART IDENTITY",
        _ => {
            "DELETE FROM drawer_snacks; DELETE FROM drawers; DELETE FROM users; \
              DELETE FROM sqlite_sequence"
        }
    };
    db.execute_unprepared(statement).await.unwrap();
    db.close().await.unwrap();
}

/// A database reset under a running SQL store that keeps reads (for an hour here): a token from
/// before it changes nothing for an account that is gone (401, never a 500, on every write
/// route), and once a new account takes its id, is refused everywhere and reads nothing of it.
async fn a_token_from_before_a_database_reset_acts_for_nobody(kind: StoreKind) {
    let tokens = Arc::new(token_service(Arc::new(SystemClock)));
    let throttle = login_throttle(Arc::new(SystemClock));
    let (ports, guard) = fresh_ports(kind, Arc::new(cheap_hasher()), tokens, throttle).await;
    let core = Snackdrawer::new(ports);
    core.seed_catalogue().await.unwrap();
    let app = ApiClient::new(core);
    let credentials = |name: &str| json!({"username": name, "password": "secret"});
    let sign_up = async |name: &str| {
        let reply = app.post("/auth/users").json(credentials(name)).send().await;
        assert_eq!(reply.json["id"], 1, "{}", reply.text);
        let reply = app.post("/auth/login").json(credentials(name)).send().await;
        let token = reply.json["token"].as_str().unwrap().to_owned();
        let reply = app.post("/drawers/").token(&token).json(json!({"name": name})).send().await;
        assert_eq!(reply.json["drawer"]["id"], 1, "{}", reply.text);
        let reply = app.post("/drawers/1").token(&token).json(json!({"snack": 1})).send().await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        token
    };
    let alice = sign_up("alice").await;
    let reply = app.get("/drawers/1").token(&alice).send().await;
    assert_eq!(reply.json["drawer"]["name"], "alice", "kept: {}", reply.text);

    reset(&guard.url().unwrap()).await;
    let writes = [
        (Method::POST, "/drawers/", Some(json!({"name": "planted"}))),
        (Method::POST, "/drawers/1", Some(json!({"snack": 2}))),
        (Method::DELETE, "/drawers/1/snacks/1", None),
        (Method::DELETE, "/drawers/1", None),
        (Method::POST, "/snacks/", Some(json!({"name": "planted"}))),
    ];
    let reads = [(Method::GET, "/drawers/", None), (Method::GET, "/drawers/1", None)];
    let answers = async |token: &str, calls: &[(Method, &str, Option<Value>)]| {
        let mut answers = Vec::new();
        for (method, path, body) in calls {
            let request = app.request(method.clone(), path).token(token);
            let request = match body {
                Some(body) => request.json(body.clone()),
                None => request,
            };
            let reply = request.send().await;
            answers.push(format!("{method} {path}: {} {}", reply.status, reply.text));
        }
        answers
    };
    for answer in answers(&alice, &writes).await {
        assert!(answer.contains(": 401 "), "a write for an account that is gone: {answer}");
    }

    let mallory = sign_up("mallory").await;
    for answer in answers(&alice, &[&reads[..], &writes[..]].concat()).await {
        assert!(answer.contains(": 401 "), "the old token, for the new user 1: {answer}");
    }
    let reply = app.get("/drawers/1").token(&mallory).send().await;
    assert_eq!(reply.json["drawer"]["name"], "mallory", "not alice's kept drawer: {}", reply.text);
    assert_eq!(reply.json["drawer"]["contents"], json!([{"id": 1, "name": "chips"}]));
    let reply = app.get("/drawers/").token(&mallory).send().await;
    assert_eq!(reply.json["drawers"].as_array().map(Vec::len), Some(1), "{}", reply.text);
}

#[tokio::test]
async fn sqlite_a_token_from_before_a_database_reset_acts_for_nobody() {
    a_token_from_before_a_database_reset_acts_for_nobody(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_token_from_before_a_database_reset_acts_for_nobody() {
    if postgres_enabled() {
        a_token_from_before_a_database_reset_acts_for_nobody(StoreKind::Postgres).await;
    }
}
