//! The repository ports' contract, written once and run against every store: what each method
//! returns, and which `StoreError` it MUST return when, as the port documentation promises.

use crate::support::auth::{cheap_hasher, login_throttle, token_service};
use crate::support::stores::{
    FreshDatabase, StoreGuard, StoreKind, TEST_POOL, for_each_store, fresh_ports, fresh_sql_store,
    migrated_sql_store, postgres_enabled, sqlite_url,
};
use sea_orm::{ConnectionTrait, Database};
use snackdrawer::adapters::clock::SystemClock;
use snackdrawer::adapters::sql::SqlStore;
use snackdrawer::app::Ports;
use snackdrawer::domain::{
    DrawerId, DrawerName, PasswordHash, SnackId, SnackName, UserId, Username,
};
use snackdrawer::ports::{
    DrawerRepository, Freshness, SnackRepository, StoreError, StoreHealth, UserRepository,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A limit no test but the limits' own comes near.
const NO_LIMIT: u32 = u32::MAX;

async fn store(kind: StoreKind) -> (Ports, StoreGuard) {
    let tokens = token_service(Arc::new(SystemClock));
    let throttle = login_throttle(Arc::new(SystemClock));
    fresh_ports(kind, Arc::new(cheap_hasher()), Arc::new(tokens), throttle).await
}

fn username(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

fn snack_name(raw: &str) -> SnackName {
    SnackName::parse(raw).unwrap()
}

fn drawer_name(raw: &str) -> DrawerName {
    DrawerName::parse(raw).unwrap()
}

fn snack_id(raw: i64) -> SnackId {
    SnackId::new(raw).unwrap()
}

async fn user(ports: &Ports, name: &str) -> UserId {
    ports.users.create(&username(name), &PasswordHash::new("$hash")).await.unwrap().id
}

async fn snacks(ports: &Ports, names: &[&str]) -> Vec<SnackId> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(ports.snacks.create(&snack_name(name), NO_LIMIT).await.unwrap().id);
    }
    ids
}

async fn contents(ports: &Ports, drawer: DrawerId) -> Vec<SnackId> {
    let found = ports.drawers.find_with_contents(drawer).await.unwrap().unwrap();
    found.contents.into_iter().map(|snack| snack.id).collect()
}

async fn users_are_found_by_exact_username(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = ports.users.create(&username("Ann"), &PasswordHash::new("$h1")).await.unwrap();
    assert_eq!(ann.username, username("Ann"));
    let found = ports.users.find_by_username(&username("Ann")).await.unwrap().unwrap();
    assert_eq!(found.user, ann);
    assert_eq!(found.password_hash, PasswordHash::new("$h1"));
    assert!(ports.users.find_by_username(&username("ann")).await.unwrap().is_none());
}

async fn users_are_found_by_id_with_a_key_of_their_own(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = ports.users.create(&username("ann"), &PasswordHash::new("$h1")).await.unwrap();
    let bob = ports.users.create(&username("bob"), &PasswordHash::new("$h2")).await.unwrap();
    assert_eq!(
        ports.users.find_by_id(ann.id, Freshness::MayBeKept).await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        ports.users.find_by_id(bob.id, Freshness::MayBeKept).await.unwrap(),
        Some(bob.clone())
    );
    assert_ne!(ann.key, bob.key);
    assert_eq!(ann.key.as_str().len(), 32, "128 random bits as hex");
    let nobody = UserId::new(bob.id.get() + 1).unwrap();
    assert_eq!(ports.users.find_by_id(nobody, Freshness::MayBeKept).await.unwrap(), None);
}

/// A database as the service left it before users had keys: the key column and the record of
/// its migration taken away again, and two users added the old way. Migrating gives each a key.
async fn users_of_an_existing_database_get_keys(kind: StoreKind) {
    let (url, _guard) = match kind {
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            (sqlite_url(&dir), StoreGuard::SqliteFile { dir })
        }
        _ => {
            let database = FreshDatabase::create().await;
            (database.url.clone(), StoreGuard::Postgres { database })
        }
    };
    migrated_sql_store(&url).await;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    for statement in [
        "ALTER TABLE users DROP COLUMN user_key",
        "DELETE FROM seaql_migrations WHERE version = 'm20261201_000001_user_keys'",
        "INSERT INTO users (username, password_hash) VALUES ('old', '$h1'), ('older', '$h2')",
    ] {
        db.execute_unprepared(statement).await.unwrap();
    }
    db.close().await.unwrap();
    let store = migrated_sql_store(&url).await;
    let old = store.find_by_id(UserId::new(1).unwrap(), Freshness::Current).await.unwrap().unwrap();
    let older =
        store.find_by_id(UserId::new(2).unwrap(), Freshness::Current).await.unwrap().unwrap();
    assert_eq!(old.username, username("old"));
    assert_eq!(old.key.as_str().len(), 32);
    assert_ne!(old.key, older.key);
}

#[tokio::test]
async fn sqlite_users_of_an_existing_database_get_keys() {
    users_of_an_existing_database_get_keys(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn postgres_users_of_an_existing_database_get_keys() {
    if postgres_enabled() {
        users_of_an_existing_database_get_keys(StoreKind::Postgres).await;
    }
}

/// Readiness (`StoreHealth::ping`) waits for startup's seeding, which follows the migration.
#[tokio::test]
async fn a_migrated_sql_store_is_not_ready_until_startup_has_prepared_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&sqlite_url(&dir), TEST_POOL, Duration::ZERO).await.unwrap();
    store.migrate().await.unwrap();
    let before = store.ping().await;
    assert!(matches!(before, Err(StoreError::Unavailable(_))), "ready too early: {before:?}");
    store.open_for_traffic();
    store.ping().await.expect("ready once prepared");
}

async fn a_taken_username_is_a_duplicate(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    user(&ports, "ann").await;
    let again = ports.users.create(&username("ann"), &PasswordHash::new("$h2")).await;
    assert!(matches!(again, Err(StoreError::Duplicate)), "{again:?}");
    let other_case = ports.users.create(&username("ANN"), &PasswordHash::new("$h2")).await;
    assert!(other_case.is_ok(), "usernames are case-sensitive");
}

async fn snacks_are_listed_in_id_order(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    assert!(ports.snacks.list().await.unwrap().is_empty());
    let ids = snacks(&ports, &["b", "a", "c"]).await;
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids grow: {ids:?}");
    let listed: Vec<String> =
        ports.snacks.list().await.unwrap().iter().map(|s| s.name.as_str().to_owned()).collect();
    assert_eq!(listed, ["b", "a", "c"]);
    assert_eq!(ports.snacks.get(ids[1]).await.unwrap().unwrap().name, snack_name("a"));
    assert!(ports.snacks.get(snack_id(999)).await.unwrap().is_none());
}

async fn a_taken_snack_name_is_a_duplicate(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    snacks(&ports, &["chips"]).await;
    let again = ports.snacks.create(&snack_name("chips"), NO_LIMIT).await;
    assert!(matches!(again, Err(StoreError::Duplicate)), "{again:?}");
    assert!(ports.snacks.create(&snack_name("Chips"), NO_LIMIT).await.is_ok());
    assert_eq!(ports.snacks.list().await.unwrap().len(), 2);
}

async fn drawer_names_are_unique_per_owner_only(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let (ann, bob) = (user(&ports, "ann").await, user(&ports, "bob").await);
    let desk = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap();
    assert_eq!((desk.owner, desk.name.as_str()), (ann, "desk"));
    let again = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await;
    assert!(matches!(again, Err(StoreError::Duplicate)), "{again:?}");
    assert!(ports.drawers.create(bob, &drawer_name("desk"), NO_LIMIT).await.is_ok());
}

async fn drawers_are_listed_per_owner_in_id_order(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let (ann, bob) = (user(&ports, "ann").await, user(&ports, "bob").await);
    for (owner, name) in [(ann, "z"), (bob, "b1"), (ann, "a")] {
        ports.drawers.create(owner, &drawer_name(name), NO_LIMIT).await.unwrap();
    }
    let anns: Vec<String> = ports
        .drawers
        .list_by_owner(ann)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name.into_string())
        .collect();
    assert_eq!(anns, ["z", "a"]);
    let found = ports.drawers.list_by_owner(bob).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(ports.drawers.find(found[0].id).await.unwrap().unwrap().owner, bob);
    assert!(ports.drawers.find(DrawerId::new(999).unwrap()).await.unwrap().is_none());
    assert!(ports.drawers.find_with_contents(DrawerId::new(999).unwrap()).await.unwrap().is_none());
}

async fn contents_come_in_snack_id_order(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = user(&ports, "ann").await;
    let ids = snacks(&ports, &["a", "b", "c"]).await;
    let drawer = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    assert!(contents(&ports, drawer).await.is_empty());
    for id in [ids[2], ids[0]] {
        ports.drawers.add_snack(drawer, id, NO_LIMIT).await.unwrap();
    }
    assert_eq!(contents(&ports, drawer).await, [ids[0], ids[2]]);
}

/// Ids, names, insertion order and storage order all disagree here: the snacks are named
/// against their id order (so a name index lists them backwards), go into the drawer out of
/// order, some taken out and put back, and on PostgreSQL the first snacks are rewritten in
/// place, as an update or a restore would, which stores them after the others. (SQLite keeps
/// rows in id order and reads the contents along the primary key, whatever happens.) Only
/// an explicit order gives snack-id order.
async fn contents_come_in_snack_id_order_however_they_are_stored(kind: StoreKind) {
    let (ports, guard) = store(kind).await;
    let ann = user(&ports, "ann").await;
    let names: Vec<String> = (0..12).map(|n| format!("snack {}", 99 - n)).collect();
    let ids = snacks(&ports, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let drawer = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    let other = ports.drawers.create(ann, &drawer_name("shelf"), NO_LIMIT).await.unwrap().id;
    for n in [7, 2, 11, 0, 5, 9, 3, 1, 10, 4, 8, 6] {
        ports.drawers.add_snack(drawer, ids[n], NO_LIMIT).await.unwrap();
        ports.drawers.add_snack(other, ids[11 - n], NO_LIMIT).await.unwrap();
    }
    for n in [0, 1, 2, 3] {
        ports.drawers.remove_snack(drawer, ids[n]).await.unwrap();
    }
    for n in [2, 0, 3, 1] {
        ports.drawers.add_snack(drawer, ids[n], NO_LIMIT).await.unwrap();
    }
    if let Some(url) = guard.url() {
        let db = Database::connect(url).await.unwrap();
        let rewritten = format!("UPDATE snacks SET name = name WHERE id <= {}", ids[3].get());
        db.execute_unprepared(&rewritten).await.unwrap();
        db.close().await.unwrap();
    }
    assert_eq!(contents(&ports, drawer).await, ids);
}

async fn adding_names_what_is_wrong(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = user(&ports, "ann").await;
    let chips = snacks(&ports, &["chips"]).await[0];
    let drawer = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    let missing_drawer =
        ports.drawers.add_snack(DrawerId::new(999).unwrap(), chips, NO_LIMIT).await;
    assert!(matches!(missing_drawer, Err(StoreError::MissingDrawer)), "{missing_drawer:?}");
    let missing_snack = ports.drawers.add_snack(drawer, snack_id(999), NO_LIMIT).await;
    assert!(matches!(missing_snack, Err(StoreError::MissingSnack)), "{missing_snack:?}");
    ports.drawers.add_snack(drawer, chips, NO_LIMIT).await.unwrap();
    let twice = ports.drawers.add_snack(drawer, chips, NO_LIMIT).await;
    assert!(matches!(twice, Err(StoreError::Duplicate)), "{twice:?}");
    assert_eq!(contents(&ports, drawer).await, [chips]);
}

async fn removing_takes_out_only_what_is_there(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = user(&ports, "ann").await;
    let ids = snacks(&ports, &["a", "b"]).await;
    let drawer = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    ports.drawers.add_snack(drawer, ids[0], NO_LIMIT).await.unwrap();
    ports.drawers.add_snack(drawer, ids[1], NO_LIMIT).await.unwrap();
    ports.drawers.remove_snack(drawer, ids[0]).await.unwrap();
    let again = ports.drawers.remove_snack(drawer, ids[0]).await;
    assert!(matches!(again, Err(StoreError::MissingSnack)), "{again:?}");
    let no_drawer = ports.drawers.remove_snack(DrawerId::new(999).unwrap(), ids[1]).await;
    assert!(matches!(no_drawer, Err(StoreError::MissingSnack)), "{no_drawer:?}");
    assert_eq!(contents(&ports, drawer).await, [ids[1]]);
    assert_eq!(ports.snacks.list().await.unwrap().len(), 2, "the snacks themselves stay");
}

async fn deleting_a_drawer_takes_its_contents(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = user(&ports, "ann").await;
    let chips = snacks(&ports, &["chips"]).await[0];
    let desk = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    ports.drawers.add_snack(desk, chips, NO_LIMIT).await.unwrap();
    ports.drawers.delete(desk).await.unwrap();
    assert!(ports.drawers.find(desk).await.unwrap().is_none());
    let again = ports.drawers.delete(desk).await;
    assert!(matches!(again, Err(StoreError::MissingDrawer)), "{again:?}");
    let reborn = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    assert_ne!(reborn, desk);
    assert!(contents(&ports, reborn).await.is_empty(), "no contents survive the old drawer");
}

/// Reading a drawer costs the same number of statements with one snack in it as with twenty.
async fn reading_a_drawer_costs_a_fixed_number_of_queries(kind: StoreKind) {
    if kind == StoreKind::Memory {
        return; // no queries to count
    }
    let (mut store, _guard) = fresh_sql_store(kind).await;
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    store.observe_statements(move |_, _| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let ann = UserRepository::create(&store, &username("ann"), &PasswordHash::new("$h"))
        .await
        .unwrap()
        .id;
    let mut statements_per_read = Vec::new();
    for size in [1, 20] {
        let drawer =
            DrawerRepository::create(&store, ann, &drawer_name(&format!("d{size}")), NO_LIMIT)
                .await
                .unwrap()
                .id;
        for n in 0..size {
            let snack =
                SnackRepository::create(&store, &snack_name(&format!("s{size}-{n}")), NO_LIMIT)
                    .await
                    .unwrap();
            store.add_snack(drawer, snack.id, NO_LIMIT).await.unwrap();
        }
        let before = statements.load(Ordering::Relaxed);
        let found = store.find_with_contents(drawer).await.unwrap().unwrap();
        assert_eq!(found.contents.len(), size);
        statements_per_read.push(statements.load(Ordering::Relaxed) - before);
    }
    assert_eq!(statements_per_read[0], statements_per_read[1], "{statements_per_read:?}");
    assert!(statements_per_read[0] > 0, "the observer saw the statements");
}

async fn the_catalogue_stops_at_its_limit(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    snacks(&ports, &["chips", "pretzels"]).await;
    ports.snacks.create(&snack_name("popcorn"), 3).await.unwrap();
    let full = ports.snacks.create(&snack_name("peanuts"), 3).await;
    assert!(matches!(full, Err(StoreError::Full)), "{full:?}");
    assert_eq!(ports.snacks.list().await.unwrap().len(), 3, "nothing was written");
    ports.snacks.create(&snack_name("peanuts"), 4).await.expect("a higher limit has room");
}

async fn drawers_stop_at_the_limit_of_their_owner(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let (ann, bob) = (user(&ports, "ann").await, user(&ports, "bob").await);
    let desk = ports.drawers.create(ann, &drawer_name("desk"), 2).await.unwrap().id;
    ports.drawers.create(ann, &drawer_name("shelf"), 2).await.unwrap();
    let full = ports.drawers.create(ann, &drawer_name("attic"), 2).await;
    assert!(matches!(full, Err(StoreError::Full)), "{full:?}");
    assert_eq!(ports.drawers.list_by_owner(ann).await.unwrap().len(), 2);
    ports.drawers.create(bob, &drawer_name("attic"), 2).await.expect("bob's drawers are his own");
    ports.drawers.delete(desk).await.unwrap();
    ports.drawers.create(ann, &drawer_name("attic"), 2).await.expect("a deleted drawer frees room");
}

async fn a_drawer_stops_at_its_limit_of_snacks(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let ann = user(&ports, "ann").await;
    let ids = snacks(&ports, &["chips", "pretzels", "popcorn"]).await;
    let desk = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    let shelf = ports.drawers.create(ann, &drawer_name("shelf"), NO_LIMIT).await.unwrap().id;
    ports.drawers.add_snack(desk, ids[0], 2).await.unwrap();
    ports.drawers.add_snack(desk, ids[1], 2).await.unwrap();
    let full = ports.drawers.add_snack(desk, ids[2], 2).await;
    assert!(matches!(full, Err(StoreError::Full)), "{full:?}");
    assert_eq!(contents(&ports, desk).await, ids[..2]);
    ports.drawers.add_snack(shelf, ids[2], 2).await.expect("another drawer has room");
    let missing = ports.drawers.add_snack(DrawerId::new(999).unwrap(), ids[0], 2).await;
    assert!(matches!(missing, Err(StoreError::MissingDrawer)), "{missing:?}");
    ports.drawers.remove_snack(desk, ids[0]).await.unwrap();
    ports.drawers.add_snack(desk, ids[2], 2).await.expect("a snack taken out frees room");
}

/// Writers racing for the last places: the store that runs one writer at a time (memory,
/// SQLite) lets exactly the room in; PostgreSQL, which counts in each statement's snapshot,
/// may let in at most one more per other statement running at once (the pool's connections).
/// Each race has more racers than that bound, so a store that does not count fails it.
async fn racing_writers_do_not_pass_a_limit(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    let overshoot = match kind {
        StoreKind::Postgres => TEST_POOL.max_connections as usize - 1,
        StoreKind::Memory | StoreKind::Sqlite => 0,
    };
    let ann = user(&ports, "ann").await;
    let desk = ports.drawers.create(ann, &drawer_name("desk"), NO_LIMIT).await.unwrap().id;
    let (room, racers) = (5, 24);
    let catalogue = (0..racers).map(|n| {
        let ports = ports.clone();
        tokio::spawn(async move { ports.snacks.create(&snack_name(&format!("s{n}")), room).await })
    });
    let mut snack_ids = Vec::new();
    for raced in catalogue {
        match raced.await.unwrap() {
            Ok(snack) => snack_ids.push(snack.id),
            Err(StoreError::Full) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    let listed = ports.snacks.list().await.unwrap().len();
    assert!((5..=5 + overshoot).contains(&listed), "{listed} snacks for a limit of 5");
    assert_eq!(listed, snack_ids.len());
    let drawers = (0..racers).map(|n| {
        let ports = ports.clone();
        tokio::spawn(async move {
            ports.drawers.create(ann, &drawer_name(&format!("d{n}")), room + 1).await
        })
    });
    let mut drawers_made = 0;
    for raced in drawers {
        match raced.await.unwrap() {
            Ok(_) => drawers_made += 1,
            Err(StoreError::Full) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!((5..=5 + overshoot).contains(&drawers_made), "{drawers_made} new drawers for room 5");
    // As many snacks as racers for the drawer's two places, whatever the catalogue let in.
    let more: Vec<String> = (listed..racers).map(|n| format!("more{n}")).collect();
    snack_ids.extend(snacks(&ports, &more.iter().map(String::as_str).collect::<Vec<_>>()).await);
    let fills = snack_ids.iter().map(|&snack| {
        let ports = ports.clone();
        tokio::spawn(async move { ports.drawers.add_snack(desk, snack, 2).await })
    });
    let mut filled = 0;
    for raced in fills {
        match raced.await.unwrap() {
            Ok(()) => filled += 1,
            Err(StoreError::Full) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!((2..=2 + overshoot).contains(&filled), "{filled} snacks put in a drawer of 2");
    assert_eq!(contents(&ports, desk).await.len(), filled);
}

/// Makes every later commit that writes a user, snack, drawer or drawer content fail: each such
/// write also adds a row whose foreign key is checked only at commit, and is dangling.
async fn make_commits_fail(kind: StoreKind, url: &str) {
    let blocker = "CREATE TABLE commit_blocker \
         (snack_id BIGINT REFERENCES snacks (id) DEFERRABLE INITIALLY DEFERRED)";
    let mut statements = vec![blocker.to_owned()];
    let watched = [
        ("users", "INSERT"),
        ("snacks", "INSERT"),
        ("drawers", "INSERT"),
        ("drawers", "DELETE"),
        ("drawer_snacks", "INSERT"),
        ("drawer_snacks", "DELETE"),
    ];
    if kind == StoreKind::Postgres {
        statements.push(
            "CREATE FUNCTION block_commit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN INSERT INTO commit_blocker VALUES (-1); RETURN NULL; END $$"
                .to_owned(),
        );
    }
    for (table, event) in watched {
        statements.push(match kind {
            StoreKind::Postgres => format!(
                "CREATE TRIGGER block_{table}_{event} AFTER {event} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION block_commit()"
            ),
            _ => format!(
                "CREATE TRIGGER block_{table}_{event} AFTER {event} ON {table} \
                 BEGIN INSERT INTO commit_blocker VALUES (-1); END"
            ),
        });
    }
    let db = Database::connect(url).await.unwrap();
    for statement in statements {
        db.execute_unprepared(&statement).await.unwrap();
    }
    db.close().await.unwrap();
}

/// How many rows each table holds, read beside the store.
async fn row_counts(url: &str) -> Vec<i64> {
    let db = Database::connect(url).await.unwrap();
    let mut counts = Vec::new();
    for table in ["users", "snacks", "drawers", "drawer_snacks"] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql));
        counts.push(row.await.unwrap().unwrap().try_get::<i64>("", "n").unwrap());
    }
    db.close().await.unwrap();
    counts
}

/// A write whose commit fails is never a success: every write method, on a database that
/// refuses every commit (a full disk does that at commit time too).
async fn a_failed_commit_is_never_a_success(kind: StoreKind) {
    let (store, guard) = fresh_sql_store(kind).await;
    let url = guard.url().unwrap();
    let ann = UserRepository::create(&store, &username("ann"), &PasswordHash::new("$h"))
        .await
        .unwrap()
        .id;
    let apple = SnackRepository::create(&store, &snack_name("apple"), NO_LIMIT).await.unwrap().id;
    let empty =
        DrawerRepository::create(&store, ann, &drawer_name("empty"), NO_LIMIT).await.unwrap().id;
    let full =
        DrawerRepository::create(&store, ann, &drawer_name("full"), NO_LIMIT).await.unwrap().id;
    store.add_snack(full, apple, NO_LIMIT).await.unwrap();
    let counts = row_counts(&url).await;

    make_commits_fail(kind, &url).await;
    let bob = UserRepository::create(&store, &username("bob"), &PasswordHash::new("$h")).await;
    assert!(bob.is_err(), "a user acknowledged but not stored: {bob:?}");
    let pear = SnackRepository::create(&store, &snack_name("pear"), NO_LIMIT).await;
    assert!(pear.is_err(), "a snack acknowledged but not stored: {pear:?}");
    let attic = DrawerRepository::create(&store, ann, &drawer_name("attic"), NO_LIMIT).await;
    assert!(attic.is_err(), "a drawer acknowledged but not stored: {attic:?}");
    assert!(store.add_snack(empty, apple, NO_LIMIT).await.is_err(), "an addition not stored");
    assert!(store.remove_snack(full, apple).await.is_err(), "a removal not stored");
    assert!(store.delete(full).await.is_err(), "a deletion not stored");
    assert_eq!(row_counts(&url).await, counts, "nothing changed");
}

#[tokio::test]
async fn sqlite_a_failed_commit_is_never_a_success() {
    a_failed_commit_is_never_a_success(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_failed_commit_is_never_a_success() {
    if postgres_enabled() {
        a_failed_commit_is_never_a_success(StoreKind::Postgres).await;
    }
}

async fn a_fresh_store_is_healthy(kind: StoreKind) {
    let (ports, _guard) = store(kind).await;
    ports.store_health.ping().await.unwrap();
}

for_each_store!(
    users_are_found_by_exact_username,
    users_are_found_by_id_with_a_key_of_their_own,
    a_taken_username_is_a_duplicate,
    snacks_are_listed_in_id_order,
    a_taken_snack_name_is_a_duplicate,
    drawer_names_are_unique_per_owner_only,
    drawers_are_listed_per_owner_in_id_order,
    contents_come_in_snack_id_order,
    contents_come_in_snack_id_order_however_they_are_stored,
    adding_names_what_is_wrong,
    removing_takes_out_only_what_is_there,
    deleting_a_drawer_takes_its_contents,
    a_fresh_store_is_healthy,
    reading_a_drawer_costs_a_fixed_number_of_queries,
    the_catalogue_stops_at_its_limit,
    drawers_stop_at_the_limit_of_their_owner,
    a_drawer_stops_at_its_limit_of_snacks,
    racing_writers_do_not_pass_a_limit,
);
