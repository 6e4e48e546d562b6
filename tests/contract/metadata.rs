//! The `MetadataStore` contract, run against the embedded SQLite store and DynamoDB Local.

use std::sync::Arc;

use packyard::adapters::dynamodb::DynamoDbStore;
use packyard::adapters::sqlite::SqliteStore;
use packyard::ports::metadata::{
    Condition, Item, MAX_PAGE_SIZE, MAX_QUERY_LIMIT, MetadataStore, Query, StoreError, WriteOp,
};
use packyard_tests::app::tempdir::TempDir;
use packyard_tests::services;
use serde_json::json;

type Store = Arc<dyn MetadataStore>;

async fn sqlite_store() -> Store {
    Arc::new(SqliteStore::in_memory().unwrap())
}

async fn dynamodb_store() -> Store {
    let client = services::dynamodb().await;
    let table = services::unique_name("contract");
    DynamoDbStore::create_table(&client, &table).await.unwrap();
    Arc::new(DynamoDbStore::new(client, table))
}

fn item(pk: &str, sk: &str, version: u64, value: serde_json::Value) -> Item {
    Item::from_value(pk.into(), sk.into(), version, &value).unwrap()
}

fn put(item: Item, condition: Condition) -> WriteOp {
    WriteOp::put(item, condition)
}

fn query(pk: &str, prefix: &str, limit: usize, descending: bool, after: Option<&str>) -> Query {
    Query { pk: pk.into(), sk_prefix: prefix.into(), after: after.map(Into::into), limit, descending }
}

fn sks(items: &[Item]) -> Vec<&str> {
    items.iter().map(|item| item.sk.as_str()).collect()
}

async fn items_round_trip_with_every_json_type(store: Store) {
    assert_eq!(store.get("P", "missing").await.unwrap(), None);
    let value = json!({
        "text": "ünïcode ✓", "empty": "", "int": -42, "big": 9_007_199_254_740_993_u64, "float": 1.5,
        "yes": true, "nothing": null, "list": [1, "two", {"three": 3}], "map": {"nested": {"deep": [true]}}
    });
    let written = item("P", "S", 7, value);
    store.write(vec![put(written.clone(), Condition::Always)]).await.unwrap();
    assert_eq!(store.get("P", "S").await.unwrap(), Some(written.clone()));
    // An eventually consistent read sees the same item (emulators and SQLite have no lagging replica).
    assert_eq!(store.get_eventually("P", "S").await.unwrap(), Some(written));
    assert_eq!(store.get_eventually("P", "missing").await.unwrap(), None);
}

async fn not_exists_refuses_to_overwrite_and_keeps_the_original(store: Store) {
    store.write(vec![put(item("P", "S", 1, json!({"n": 1})), Condition::NotExists)]).await.unwrap();
    let second = store.write(vec![put(item("P", "S", 1, json!({"n": 2})), Condition::NotExists)]).await;
    assert!(matches!(second, Err(StoreError::ConditionFailed { op: 0 })), "{second:?}");
    assert_eq!(store.get("P", "S").await.unwrap().unwrap().attributes["n"], 1);
}

async fn version_conditions_compare_against_the_stored_version(store: Store) {
    store.write(vec![put(item("P", "S", 1, json!({"n": 1})), Condition::NotExists)]).await.unwrap();
    let stale = store.write(vec![put(item("P", "S", 3, json!({"n": 3})), Condition::Version(2))]).await;
    assert!(matches!(stale, Err(StoreError::ConditionFailed { op: 0 })), "{stale:?}");
    store.write(vec![put(item("P", "S", 2, json!({"n": 2})), Condition::Version(1))]).await.unwrap();
    let stored = store.get("P", "S").await.unwrap().unwrap();
    assert_eq!((stored.version, &stored.attributes["n"]), (2, &json!(2)));
    let missing = store.write(vec![put(item("P", "nope", 2, json!({})), Condition::Version(1))]).await;
    assert!(matches!(missing, Err(StoreError::ConditionFailed { op: 0 })), "{missing:?}");
}

async fn exists_conditions_refuse_missing_items(store: Store) {
    let update = store.write(vec![put(item("P", "S", 1, json!({})), Condition::Exists)]).await;
    assert!(matches!(update, Err(StoreError::ConditionFailed { op: 0 })), "{update:?}");
    let delete = store.write(vec![WriteOp::delete("P", "S", Condition::Exists)]).await;
    assert!(matches!(delete, Err(StoreError::ConditionFailed { op: 0 })), "{delete:?}");
    assert_eq!(store.get("P", "S").await.unwrap(), None);
    store.write(vec![WriteOp::delete("P", "S", Condition::Always)]).await.unwrap();
}

async fn a_failed_condition_anywhere_writes_nothing_and_names_the_operation(store: Store) {
    store.write(vec![put(item("P", "taken", 1, json!({"n": 0})), Condition::Always)]).await.unwrap();
    let result = store
        .write(vec![
            put(item("P", "new", 1, json!({})), Condition::NotExists),
            WriteOp::delete("P", "taken", Condition::Always),
            put(item("Q", "taken", 1, json!({})), Condition::NotExists),
            WriteOp::Check { pk: "P".into(), sk: "absent".into(), condition: Condition::Exists },
        ])
        .await;
    assert!(matches!(result, Err(StoreError::ConditionFailed { op: 3 })), "{result:?}");
    assert_eq!(store.get("P", "new").await.unwrap(), None);
    assert_eq!(store.get("Q", "taken").await.unwrap(), None);
    assert!(store.get("P", "taken").await.unwrap().is_some());
}

async fn a_passing_check_lets_the_rest_of_the_write_through(store: Store) {
    store.write(vec![put(item("P", "guard", 4, json!({})), Condition::Always)]).await.unwrap();
    store
        .write(vec![
            WriteOp::Check { pk: "P".into(), sk: "guard".into(), condition: Condition::Version(4) },
            put(item("P", "a", 1, json!({})), Condition::NotExists),
            WriteOp::delete("P", "guard", Condition::Version(4)),
        ])
        .await
        .unwrap_err(); // Two operations on one item are refused before anything is written.
    store
        .write(vec![
            WriteOp::Check { pk: "P".into(), sk: "guard".into(), condition: Condition::Version(4) },
            put(item("P", "a", 1, json!({})), Condition::NotExists),
        ])
        .await
        .unwrap();
    assert!(store.get("P", "a").await.unwrap().is_some());
    assert!(store.get("P", "guard").await.unwrap().is_some());
}

async fn invalid_batches_are_refused(store: Store) {
    assert!(matches!(store.write(vec![]).await, Err(StoreError::Invalid(_))));
    let too_many = (0..101).map(|n| put(item("P", &format!("{n:03}"), 1, json!({})), Condition::Always)).collect();
    assert!(matches!(store.write(too_many).await, Err(StoreError::Invalid(_))));
    let twice =
        vec![put(item("P", "x", 1, json!({})), Condition::Always), WriteOp::delete("P", "x", Condition::Always)];
    assert!(matches!(store.write(twice).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.get("P", "000").await.unwrap(), None);
    let reserved = Item::from_value("P".into(), "S".into(), 1, &json!({"pk": "forged"}));
    assert!(matches!(reserved, Err(StoreError::Invalid(_))));
}

async fn queries_stay_in_their_partition_and_prefix_in_order(store: Store) {
    let mut ops: Vec<_> = ["REG#b", "REG#a", "REG#c", "TOK#a", "REG%_x"]
        .into_iter()
        .map(|sk| put(item("ORG#1", sk, 1, json!({"label": sk})), Condition::Always))
        .collect();
    ops.push(put(item("ORG#2", "REG#z", 1, json!({})), Condition::Always));
    store.write(ops).await.unwrap();
    let ascending = store.query(&query("ORG#1", "REG#", 10, false, None)).await.unwrap();
    assert_eq!((sks(&ascending.items), ascending.more), (vec!["REG#a", "REG#b", "REG#c"], false));
    let descending = store.query(&query("ORG#1", "REG#", 10, true, None)).await.unwrap();
    assert_eq!(sks(&descending.items), ["REG#c", "REG#b", "REG#a"]);
    let literal = store.query(&query("ORG#1", "REG%_", 10, false, None)).await.unwrap();
    assert_eq!(sks(&literal.items), ["REG%_x"]);
    let everything = store.query(&query("ORG#1", "", 10, false, None)).await.unwrap();
    assert_eq!(everything.items.len(), 5);
    assert_eq!(store.query(&query("ORG#3", "", 10, false, None)).await.unwrap(), Default::default());
}

async fn a_page_holds_up_to_the_query_limit(store: Store) {
    // 250 items of 5 KB: more than DynamoDB's 1 MB page, so that stop is exercised too.
    let text = "x".repeat(5 * 1024);
    for chunk in (0..250).collect::<Vec<_>>().chunks(25) {
        let ops = chunk.iter().map(|i| put(item("L", &format!("K{i:04}"), 1, json!({"t": text})), Condition::Always));
        store.write(ops.collect()).await.unwrap();
    }
    let (mut seen, mut after) = (0, None);
    loop {
        let page = store.query(&query("L", "K", MAX_QUERY_LIMIT, false, after.as_deref())).await.unwrap();
        if after.is_none() {
            assert!(page.items.len() > MAX_PAGE_SIZE, "the first page holds {}", page.items.len());
        }
        seen += page.items.len();
        match page.next_after() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 250);
}

async fn pages_resume_after_the_last_key_in_both_directions(store: Store) {
    let ops = (0..7).map(|n| put(item("P", &format!("K{n}"), 1, json!({})), Condition::Always)).collect();
    store.write(ops).await.unwrap();
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.query(&query("P", "K", 3, descending, after.as_deref())).await.unwrap();
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|item| item.sk.clone()));
            match page.next_after() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        let mut expected: Vec<_> = (0..7).map(|n| format!("K{n}")).collect();
        if descending {
            expected.reverse();
        }
        assert_eq!(seen, expected);
    }
    let exact = store.query(&query("P", "K", 7, false, None)).await.unwrap();
    assert_eq!((exact.items.len(), exact.more), (7, false));
}

async fn releasing_memory_keeps_every_item_and_the_store_usable(store: Store) {
    let ops = (0..40)
        .map(|n| put(item("P", &format!("K{n:02}"), 1, json!({"n": n, "pad": "x".repeat(2000)})), Condition::Always));
    store.write(ops.collect()).await.unwrap();
    assert_eq!(store.query(&query("P", "K", 100, false, None)).await.unwrap().items.len(), 40);
    store.release_memory().await;
    let page = store.query(&query("P", "K", 100, false, None)).await.unwrap();
    assert_eq!(
        page.items.iter().map(|item| item.attributes["n"].clone()).collect::<Vec<_>>(),
        (0..40).map(|n| json!(n)).collect::<Vec<_>>()
    );
    store.write(vec![put(item("P", "K40", 1, json!({})), Condition::NotExists)]).await.unwrap();
    assert!(store.get("P", "K40").await.unwrap().is_some());
}

async fn concurrent_conditional_writes_have_exactly_one_winner(store: Store) {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store.write(vec![put(item("P", "race", 1, json!({"n": n})), Condition::NotExists)]).await
        });
    }
    let results = tasks.join_all().await;
    let winners = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|result| matches!(result, Ok(()) | Err(StoreError::ConditionFailed { .. } | StoreError::Contention)))
    );
}

/// A database laid out as releases before 16 KiB pages made it: SQLite's 4 KiB pages, WAL, forty 3 KB items.
fn older_database(path: &std::path::Path) -> rusqlite::Connection {
    let old = rusqlite::Connection::open(path).unwrap();
    old.execute_batch(
        "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;
         CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, v INTEGER NOT NULL, attributes TEXT NOT NULL,
                             PRIMARY KEY (pk, sk)) WITHOUT ROWID;",
    )
    .unwrap();
    for n in 0..40 {
        let attributes = json!({"n": n, "pad": "x".repeat(3000)}).to_string();
        old.execute("INSERT INTO items VALUES ('P', ?1, 1, ?2)", (format!("K{n:02}"), attributes)).unwrap();
    }
    old
}

fn pragma(path: &std::path::Path, name: &str) -> String {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, rusqlite::types::Value>(0))
        .map(|value| match value {
            rusqlite::types::Value::Integer(n) => n.to_string(),
            rusqlite::types::Value::Text(text) => text,
            other => format!("{other:?}"),
        })
        .unwrap()
}

/// The embedded store rebuilds a database an older release made with 4 KiB pages into 16 KiB ones when it opens
/// it, every item intact; when another process has it open, it opens it as it is and tries again next time.
#[tokio::test]
async fn an_older_sqlite_database_gets_larger_pages_and_keeps_its_items() {
    let dir = TempDir::new("packyard-sqlite");
    let path = dir.0.join("metadata.sqlite3");
    let other_process = older_database(&path);
    other_process.execute_batch("BEGIN; SELECT count(*) FROM items;").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.query(&query("P", "K", 100, false, None)).await.unwrap().items.len(), 40);
    assert_eq!(pragma(&path, "page_size"), "4096", "rebuilt under another process's feet");
    drop((store, other_process));

    let store = SqliteStore::open(&path).unwrap();
    let items = store.query(&query("P", "K", 100, false, None)).await.unwrap().items;
    assert_eq!(
        items.iter().map(|item| item.attributes["n"].clone()).collect::<Vec<_>>(),
        (0..40).map(|n| json!(n)).collect::<Vec<_>>()
    );
    assert_eq!((pragma(&path, "page_size"), pragma(&path, "journal_mode")), ("16384".into(), "wal".into()));
    store.write(vec![put(item("P", "K40", 1, json!({})), Condition::NotExists)]).await.unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.query(&query("P", "K", 100, false, None)).await.unwrap().items.len(), 41);
}

macro_rules! metadata_contract {
    ($adapter:ident, $make:ident) => {
        mod $adapter {
            metadata_contract!(@checks $make,
                items_round_trip_with_every_json_type,
                not_exists_refuses_to_overwrite_and_keeps_the_original,
                version_conditions_compare_against_the_stored_version,
                exists_conditions_refuse_missing_items,
                a_failed_condition_anywhere_writes_nothing_and_names_the_operation,
                a_passing_check_lets_the_rest_of_the_write_through,
                invalid_batches_are_refused,
                queries_stay_in_their_partition_and_prefix_in_order,
                a_page_holds_up_to_the_query_limit,
                pages_resume_after_the_last_key_in_both_directions,
                releasing_memory_keeps_every_item_and_the_store_usable,
                concurrent_conditional_writes_have_exactly_one_winner
            );
        }
    };
    (@checks $make:ident, $($check:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                super::$check(super::$make().await).await;
            }
        )+
    };
}

metadata_contract!(sqlite, sqlite_store);
metadata_contract!(dynamodb, dynamodb_store);
