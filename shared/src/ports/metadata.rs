//! The metadata port: a small, single-table item store with conditional writes and transactions.
//!
//! Everything Packyard remembers (organizations, registries, tokens, audit events) is an [`Item`] under a
//! partition key and a sort key, the shape DynamoDB stores natively. The domain builds its keys and
//! conditions; adapters only have to be faithful to these few operations, which one contract suite checks.

use async_trait::async_trait;
use serde_json::{Map, Value};

/// One stored record: its keys, an optimistic-concurrency version and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// Incremented by the domain on every rewrite; [`Condition::Version`] compares against it.
    pub version: u64,
    /// Attribute names must not be one of [`RESERVED_ATTRIBUTES`].
    pub attributes: Map<String, Value>,
}

/// Attribute names the adapters use for keys and bookkeeping.
pub const RESERVED_ATTRIBUTES: [&str; 3] = ["pk", "sk", "v"];

impl Item {
    /// An item built from a serializable value whose JSON form is an object.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] when the value is not a JSON object or uses a reserved attribute name.
    pub fn from_value(pk: String, sk: String, version: u64, value: &impl serde::Serialize) -> Result<Self, StoreError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(attributes)) => {
                if let Some(name) = RESERVED_ATTRIBUTES.iter().find(|name| attributes.contains_key(**name)) {
                    return Err(StoreError::Invalid(format!("attribute name `{name}` is reserved")));
                }
                Ok(Self { pk, sk, version, attributes })
            }
            Ok(_) => Err(StoreError::Invalid("an item must serialize to a JSON object".into())),
            Err(error) => Err(StoreError::Invalid(format!("item does not serialize: {error}"))),
        }
    }

    /// The attributes read back into a domain type.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the stored attributes do not match the type.
    pub fn to_value<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_value(Value::Object(self.attributes.clone()))
            .map_err(|error| StoreError::Corrupt(format!("{}/{}: {error}", self.pk, self.sk)))
    }

    /// The attributes moved into a domain type, for reads that need no copy of a large item.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the stored attributes do not match the type.
    pub fn into_value<T: serde::de::DeserializeOwned>(self) -> Result<T, StoreError> {
        let Self { pk, sk, attributes, .. } = self;
        serde_json::from_value(Value::Object(attributes))
            .map_err(|error| StoreError::Corrupt(format!("{pk}/{sk}: {error}")))
    }
}

/// What must hold about the existing item for a write to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    NotExists,
    Exists,
    /// The item exists and its version equals this.
    Version(u64),
}

/// One operation of an atomic [`MetadataStore::write`].
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Writes nothing; only its condition must hold.
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn put(item: Item, condition: Condition) -> Self {
        Self::Put { item, condition }
    }

    pub fn delete(pk: impl Into<String>, sk: impl Into<String>, condition: Condition) -> Self {
        Self::Delete { pk: pk.into(), sk: sk.into(), condition }
    }

    pub fn keys(&self) -> (&str, &str) {
        match self {
            Self::Put { item, .. } => (&item.pk, &item.sk),
            Self::Delete { pk, sk, .. } | Self::Check { pk, sk, .. } => (pk, sk),
        }
    }
}

/// The most operations one [`MetadataStore::write`] may hold (DynamoDB's transaction limit).
pub const MAX_WRITE_OPS: usize = 100;

/// The most items one page handed to a client may hold.
pub const MAX_PAGE_SIZE: usize = 100;

/// The most items one [`Query`] may ask for: a name's index is read in pages this long (DynamoDB also ends
/// a page at 1 MB), so a package with thousands of versions takes a few round trips, not one per hundred.
pub const MAX_QUERY_LIMIT: usize = 1000;

/// Items of one partition, in sort-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub pk: String,
    /// Only sort keys starting with this.
    pub sk_prefix: String,
    /// Resume after this sort key (exclusive), as handed out by [`Page::last_sk`].
    pub after: Option<String>,
    /// At most this many items, clamped to 1..=[`MAX_QUERY_LIMIT`].
    pub limit: usize,
    /// Newest (greatest sort key) first.
    pub descending: bool,
}

/// One page of a [`Query`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Whether another page follows; when it does, query again `after` the last item's sort key.
    pub more: bool,
}

impl Page {
    /// The sort key to resume after, when there is more.
    pub fn next_after(&self) -> Option<&str> {
        self.items.last().filter(|_| self.more).map(|item| item.sk.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition of the operation at this index did not hold; nothing was written.
    #[error("condition of write operation {op} failed")]
    ConditionFailed { op: usize },
    /// Another writer touched the same items at the same moment; nothing was written, a retry may pass.
    #[error("the write conflicted with a concurrent one")]
    Contention,
    /// The request itself is not acceptable (too many operations, a reserved attribute, two ops on one item).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// Stored data does not read back as expected.
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed; the cause chain says why.
    #[error("metadata backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// Checks the limits every adapter enforces the same way, before touching its backend.
///
/// # Errors
/// [`StoreError::Invalid`] for an empty or oversize batch or two operations on one item.
pub fn validate_write(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_WRITE_OPS {
        return Err(StoreError::Invalid(format!("a write holds 1 to {MAX_WRITE_OPS} operations, not {}", ops.len())));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        if !seen.insert(op.keys()) {
            let (pk, sk) = op.keys();
            return Err(StoreError::Invalid(format!("two operations on {pk}/{sk} in one write")));
        }
    }
    Ok(())
}

/// The metadata port. Adapters: [`crate::adapters::sqlite::SqliteStore`] (embedded, the local default) and
/// [`crate::adapters::dynamodb::DynamoDbStore`].
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// The item under these keys, if any.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;

    /// The item under these keys as the store last replicated it: it may miss a write of the last second
    /// (DynamoDB's eventually consistent read, at half the read units). Only for records that never change once
    /// written, where a miss can be asked again with [`MetadataStore::get`]. Adapters without replicas read as `get`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn get_eventually(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get(pk, sk).await
    }

    /// One page of a partition's items.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// Applies all operations atomically, or none when any condition fails.
    ///
    /// # Errors
    /// [`StoreError::ConditionFailed`] naming the first failed operation, [`StoreError::Contention`] when a
    /// concurrent transaction interfered, [`StoreError::Invalid`] for a batch [`validate_write`] refuses.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// Drops what the adapter caches for itself (an embedded database's pages), for a process gone quiet.
    /// Nothing changes but memory; adapters without such a cache do nothing.
    async fn release_memory(&self) {}
}

/// Every item of a partition under `sk_prefix`, in sort-key order, a page at a time.
///
/// # Errors
/// [`StoreError::Backend`] when the backend fails.
pub async fn query_all(store: &dyn MetadataStore, pk: String, sk_prefix: String) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut query = Query { pk, sk_prefix, after: None, limit: MAX_PAGE_SIZE, descending: false };
    loop {
        let page = store.query(&query).await?;
        query.after = page.next_after().map(str::to_owned);
        items.extend(page.items);
        if query.after.is_none() {
            return Ok(items);
        }
    }
}
