//! Kept reads on the real binary over SQLite: what a process wrote is read back at once, even
//! under readers that keep filling the copies; what another process wrote, or an outage, shows
//! within the keep time. The store contract (`store_contract`) runs every SQL store with reads
//! kept for an hour, so a write that forgot to forget its copy fails there too.

use crate::support::remote::Client;
use crate::support::server::RunningServer;
use crate::support::stores::sqlite_url;
use reqwest::StatusCode;
use serde_json::{Value, json};
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
