//! The embedded metadata store: SQLite in a file, the dev server's default.
//!
//! SQLite (not an in-process map) so that several local processes, say the dev server and a bootstrap
//! command, can share one data directory; `BEGIN IMMEDIATE` makes each [`MetadataStore::write`] atomic.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

use crate::ports::metadata::{
    Condition, Item, MAX_QUERY_LIMIT, MetadataStore, Page, Query, StoreError, WriteOp, validate_write,
};

/// [`MetadataStore`] on one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or its schema created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::with_connection(Connection::open(path).map_err(StoreError::backend)?)
    }

    /// A private database that lives in memory, for unit tests.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite cannot start.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory().map_err(StoreError::backend)?)
    }

    fn with_connection(connection: Connection) -> Result<Self, StoreError> {
        resize_pages(&connection)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS items (
                     pk TEXT NOT NULL, sk TEXT NOT NULL, v INTEGER NOT NULL, attributes TEXT NOT NULL,
                     PRIMARY KEY (pk, sk)
                 ) WITHOUT ROWID;",
            )
            .map_err(StoreError::backend)?;
        Ok(Self { connection: Arc::new(Mutex::new(connection)) })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves SQLite itself consistent, so a poisoned lock is usable.
            let mut connection = connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            work(&mut connection)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// The page size of the database: 16 KiB rather than SQLite's 4 KiB. In a table without rowids a row longer than
/// about a quarter page goes on to overflow pages of its own, so a name's index entries (1-4 KB each) would read as
/// one leaf page and one scattered overflow page each. At 16 KiB they sit in key order in their leaf pages, and
/// reading a 5,000-version index touches some 8 MB instead of the whole database.
pub const PAGE_SIZE: i64 = 16 * 1024;

/// Gives a new database [`PAGE_SIZE`] pages, and rebuilds one made with another size once (`VACUUM`, the only way
/// to change it, and only outside WAL mode). When another process holds the database it keeps its pages until the
/// next start.
fn resize_pages(connection: &Connection) -> Result<(), StoreError> {
    let pragma = |name: &str| connection.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0));
    let page_size = pragma("page_size").map_err(StoreError::backend)?;
    if page_size == PAGE_SIZE {
        return Ok(());
    }
    if pragma("page_count").map_err(StoreError::backend)? == 0 {
        return connection.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}")).map_err(StoreError::backend);
    }
    let kept = |why: String| tracing::warn!("the metadata database keeps its {page_size}-byte pages for now: {why}");
    let unlocked = match connection.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get::<_, String>(0)) {
        Ok(mode) if mode.eq_ignore_ascii_case("delete") => Ok(()),
        Ok(mode) => Err(format!("it stays in {mode} mode while another process has it open")),
        Err(error) => Err(error.to_string()),
    };
    if let Err(why) = unlocked {
        kept(why);
        return Ok(());
    }
    let rebuilt = connection.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}; VACUUM;"));
    match rebuilt.and_then(|()| pragma("page_size")) {
        Ok(PAGE_SIZE) => tracing::info!("rebuilt the metadata database with {PAGE_SIZE}-byte pages"),
        Ok(size) => kept(format!("VACUUM left {size}-byte pages")),
        Err(error) => kept(error.to_string()),
    }
    Ok(())
}

fn read_item(pk: String, sk: String, version: i64, attributes: &str) -> Result<Item, StoreError> {
    let attributes: Map<String, Value> =
        serde_json::from_str(attributes).map_err(|error| StoreError::Corrupt(format!("{pk}/{sk}: {error}")))?;
    let version = u64::try_from(version).map_err(|_| StoreError::Corrupt(format!("{pk}/{sk}: negative version")))?;
    Ok(Item { pk, sk, version, attributes })
}

fn current_version(tx: &rusqlite::Transaction<'_>, pk: &str, sk: &str) -> Result<Option<u64>, StoreError> {
    tx.query_row("SELECT v FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk], |row| row.get::<_, i64>(0))
        .optional()
        .map_err(StoreError::backend)
        .map(|version| version.map(|v| v.max(0).unsigned_abs()))
}

fn holds(condition: Condition, existing: Option<u64>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::NotExists => existing.is_none(),
        Condition::Exists => existing.is_some(),
        Condition::Version(expected) => existing == Some(expected),
    }
}

fn to_sql_int(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| StoreError::Invalid(format!("version {version} is too large")))
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.run(move |connection| {
            let row = connection
                .query_row("SELECT v, attributes FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .optional()
                .map_err(StoreError::backend)?;
            row.map(|(version, attributes)| read_item(pk, sk, version, &attributes)).transpose()
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let query = query.clone();
        self.run(move |connection| {
            let limit = query.limit.clamp(1, MAX_QUERY_LIMIT);
            // Prefix match by range, not LIKE: sort keys may contain `%` or `_`. Resuming narrows the range
            // itself (an `OR` beside it would leave SQLite to walk every earlier row of the prefix again).
            let upper = format!("{}\u{10FFFF}", query.sk_prefix);
            let (low, high, order) = match (&query.after, query.descending) {
                (Some(after), false) if *after >= query.sk_prefix => ((">", after.as_str()), ("<", upper.as_str()), "ASC"),
                (Some(after), true) => ((">=", query.sk_prefix.as_str()), ("<", after.as_str().min(&upper)), "DESC"),
                (_, descending) => {
                    ((">=", query.sk_prefix.as_str()), ("<", upper.as_str()), if descending { "DESC" } else { "ASC" })
                }
            };
            let sql = format!(
                "SELECT sk, v, attributes FROM items WHERE pk = ?1 AND sk {} ?2 AND sk {} ?3 ORDER BY sk {order} LIMIT ?4",
                low.0, high.0
            );
            let mut statement = connection.prepare_cached(&sql).map_err(StoreError::backend)?;
            let rows = statement
                .query_map(params![query.pk, low.1, high.1, limit as i64 + 1], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?))
                })
                .map_err(StoreError::backend)?;
            let mut items = Vec::with_capacity(limit + 1);
            for row in rows {
                let (sk, version, attributes) = row.map_err(StoreError::backend)?;
                items.push(read_item(query.pk.clone(), sk, version, &attributes)?);
            }
            let more = items.len() > limit;
            items.truncate(limit);
            Ok(Page { items, more })
        })
        .await
    }

    async fn release_memory(&self) {
        let released =
            self.run(|connection| connection.execute_batch("PRAGMA shrink_memory").map_err(StoreError::backend));
        if let Err(error) = released.await {
            tracing::warn!(error = %error, "SQLite kept its page cache: {error}");
        }
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_write(&ops)?;
        self.run(move |connection| {
            let tx =
                connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::backend)?;
            for (index, op) in ops.iter().enumerate() {
                let (pk, sk) = op.keys();
                let condition = match op {
                    WriteOp::Put { condition, .. }
                    | WriteOp::Delete { condition, .. }
                    | WriteOp::Check { condition, .. } => *condition,
                };
                if !holds(condition, current_version(&tx, pk, sk)?) {
                    return Err(StoreError::ConditionFailed { op: index });
                }
            }
            for op in &ops {
                match op {
                    WriteOp::Put { item, .. } => {
                        let attributes = serde_json::to_string(&item.attributes).map_err(StoreError::backend)?;
                        tx.execute(
                            "INSERT INTO items (pk, sk, v, attributes) VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (pk, sk) DO UPDATE SET v = excluded.v, attributes = excluded.attributes",
                            params![item.pk, item.sk, to_sql_int(item.version)?, attributes],
                        )
                        .map_err(StoreError::backend)?;
                    }
                    WriteOp::Delete { pk, sk, .. } => {
                        tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk])
                            .map_err(StoreError::backend)?;
                    }
                    WriteOp::Check { .. } => {}
                }
            }
            tx.commit().map_err(StoreError::backend)
        })
        .await
    }
}
