//! A Debian registry's suite, stored rather than rendered per request: every publish or delete writes a
//! change marker in its own transaction, and a generation (run right after the change, or by the next reader
//! that finds a marker) renders the indexes from the control records, writes each under its SHA-256 in the
//! registry's storage, then records the new Release and removes the markers it saw, in one conditional
//! write. So an `apt-get update` costs a few reads, a client that read a Release finds every index it lists
//! (by-hash files are written before the Release that names them and outlive it by [`GRACE`]), and a change
//! is never left out for good: its marker stays until a generation that listed after it succeeds.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::packages::{Packages, blob_error, lost_race_is_none};
use super::races;
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::{Ecosystem, OrgSlug};
use crate::domain::package::Package;
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ecosystems::debian::suite::render_suite;
use crate::ecosystems::debian::{DebControl, IndexEntry};
use crate::ports::blob::StorageKey;
use crate::ports::metadata::{Condition, Item, Query, StoreError, WriteOp, query_all};

/// How long an index stays fetchable by hash after the last Release that listed it was replaced: apt reads
/// the indexes within seconds of the Release, caching proxies within hours.
pub const GRACE: Duration = Duration::days(1);

/// How many change markers one generation removes (a transaction holds at most 100 operations).
const MARKERS_PER_GENERATION: usize = 90;

/// A suite as stored: its Release text and where each index it lists is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSuite {
    /// The Release text, unsigned: each request signs it with the keys that sign at that moment.
    pub release: String,
    /// Each index's path under `dists/any/` and the SHA-256 it is stored under.
    pub files: BTreeMap<String, String>,
    /// The storage holding the by-hash objects.
    pub storage: StorageRef,
    pub generated_at: DateTime<Utc>,
    /// Indexes dropped from the Release within the last [`GRACE`], and when: not removed before then.
    #[serde(default)]
    pub dropped: BTreeMap<String, DateTime<Utc>>,
}

/// Indexes to remove once due, unless a Release lists them again.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Collectable {
    organization: OrgSlug,
    registry_id: String,
    storage: StorageRef,
    sha256: Vec<String>,
}

/// The key a by-hash index is stored under in the registry's storage.
///
/// # Errors
/// When the digest is not a storage key segment (it always is: hex).
pub fn by_hash_key(registry_id: &str, sha256: &str) -> Result<StorageKey> {
    StorageKey::new(&["debian-index", registry_id, sha256]).map_err(blob_error)
}

/// The write that marks a change to a Debian registry's packages, for the change's own transaction; none
/// for other ecosystems.
///
/// # Errors
/// Never in practice: the marker is a small fixed record.
pub(super) fn change_marker(registry: &Registry) -> Result<Option<WriteOp>> {
    if registry.ecosystem != Ecosystem::Debian {
        return Ok(None);
    }
    let (pk, sk) = keys::debian_change(&registry.id, &super::next_event_id());
    let item = Item::from_value(pk, sk, 1, &serde_json::json!({"at": Utc::now()}))?;
    Ok(Some(WriteOp::put(item, Condition::NotExists)))
}

/// The first `limit` items of a partition, oldest (smallest sort key) first.
fn oldest(pk: String, limit: usize) -> Query {
    Query { pk, sk_prefix: String::new(), after: None, limit, descending: false }
}

/// The control records of every version, with where apt finds each file.
fn index_entries(packages: &[Package]) -> Vec<IndexEntry> {
    packages
        .iter()
        .filter_map(|package| {
            let control = serde_json::from_value::<DebControl>(package.metadata["deb"].clone()).ok()?;
            let file = package.files.first()?;
            Some(IndexEntry {
                filename: format!("pool/main/{}/{}/{}", package.name, package.version, file.filename),
                size: file.size,
                sha256: file.digests.sha256.clone(),
                md5: None,
                control,
            })
        })
        .collect()
}

impl Packages {
    /// The registry's suite as clients should see it: generated first when a change is not in it yet.
    ///
    /// # Errors
    /// When the store or the storage fails, or other generations kept winning.
    pub async fn debian_suite(&self, registry: &Registry) -> Result<StoredSuite> {
        if let (Some((suite, _)), false) = (self.stored_suite(registry).await?, self.suite_is_stale(registry).await?) {
            return Ok(suite);
        }
        races::until_won(|| self.try_generate(registry))
            .await?
            .ok_or_else(|| Error::Conflict(format!("registry {} changed too often to index; retry", registry.slug)))?;
        self.stored_suite(registry).await?.map(|(suite, _)| suite).ok_or_else(|| {
            Error::Store(StoreError::Corrupt(format!("the suite of registry {} vanished", registry.slug)))
        })
    }

    /// The suite last generated, without looking for changes (enough to find its by-hash files).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn stored_suite(&self, registry: &Registry) -> Result<Option<(StoredSuite, u64)>> {
        let (pk, sk) = keys::debian_suite(&registry.id);
        match self.store.get(&pk, &sk).await? {
            Some(item) => Ok(Some((item.to_value()?, item.version))),
            None => Ok(None),
        }
    }

    async fn suite_is_stale(&self, registry: &Registry) -> Result<bool> {
        Ok(!self.store.query(&oldest(keys::debian_changes_partition(&registry.id), 1)).await?.items.is_empty())
    }

    /// Brings a Debian registry's suite up to date after a change; any other registry has none. A failure
    /// is logged, not returned: the change is recorded, and its marker makes the next reader generate.
    pub(super) async fn refresh_suite(&self, registry: &Registry) {
        if registry.ecosystem != Ecosystem::Debian {
            return;
        }
        let generated = races::until_won(|| self.try_generate(registry)).await;
        if !matches!(generated, Ok(Some(()))) {
            let error = generated.err().map_or_else(|| "other writers kept winning".to_owned(), |e| e.to_string());
            tracing::warn!(registry.slug = %registry.slug, error = %error,
                "the apt indexes of {} could not be generated; the next read will", registry.slug);
        }
    }

    /// One generation: `None` when another one recorded a suite meanwhile (the caller tries again, and finds
    /// nothing left to do once no marker is left).
    async fn try_generate(&self, registry: &Registry) -> Result<Option<()>> {
        let previous = self.stored_suite(registry).await?;
        let markers = self
            .store
            .query(&oldest(keys::debian_changes_partition(&registry.id), MARKERS_PER_GENERATION))
            .await?
            .items;
        if previous.is_some() && markers.is_empty() {
            return Ok(Some(()));
        }
        // Listed after the markers were read: every change they mark is in the listing.
        let records = query_all(
            self.store.as_ref(),
            keys::package_partition(&registry.id),
            keys::PACKAGE_BY_ID_PREFIX.to_owned(),
        )
        .await?;
        let packages: Vec<Package> = records.iter().map(Item::to_value).collect::<Result<_, _>>()?;
        let now = Utc::now();
        let date = now.format("%a, %d %b %Y %H:%M:%S UTC").to_string();
        let rendered =
            render_suite(&index_entries(&packages), &date).map_err(|e| Error::Store(StoreError::backend(e)))?;

        let (storage, blobs) = self.storage_for(registry).await?;
        let kept: BTreeSet<&str> = previous
            .as_ref()
            .filter(|(old, _)| old.storage == storage)
            .map(|(old, _)| old.files.values().map(String::as_str).collect())
            .unwrap_or_default();
        let mut written = BTreeSet::new();
        for (listed, bytes) in &rendered.files {
            if kept.contains(listed.sha256.as_str()) || !written.insert(listed.sha256.clone()) {
                continue;
            }
            let key = by_hash_key(&registry.id, &listed.sha256)?;
            if blobs.head(&key).await.map_err(blob_error)?.is_none() {
                blobs.put(&key, bytes.clone()).await.map_err(blob_error)?;
            }
        }

        let files: BTreeMap<String, String> =
            rendered.files.iter().map(|(listed, _)| (listed.path.clone(), listed.sha256.clone())).collect();
        let listed_now: BTreeSet<&String> = files.values().collect();
        let mut dropped: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        let mut collectable = Vec::new();
        let mut ops = Vec::new();
        if let Some((old, _)) = &previous {
            dropped.extend(
                old.dropped
                    .iter()
                    .filter(|(sha, at)| **at + GRACE > now && !listed_now.contains(sha))
                    .map(|(s, a)| (s.clone(), *a)),
            );
            let gone: BTreeSet<&String> =
                old.files.values().filter(|sha| !listed_now.contains(sha) || old.storage != storage).collect();
            for sha in gone {
                dropped.insert(sha.clone(), now);
                collectable.push(sha.clone());
            }
            if !collectable.is_empty() {
                let due = Collectable {
                    organization: registry.organization.clone(),
                    registry_id: registry.id.clone(),
                    storage: old.storage.clone(),
                    sha256: collectable,
                };
                let (pk, sk) = keys::debian_index_gc((now + GRACE).timestamp(), &registry.id, &super::next_event_id());
                ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &due)?, Condition::NotExists));
            }
        }
        let suite = StoredSuite { release: rendered.release, files, storage, generated_at: now, dropped };
        let (pk, sk) = keys::debian_suite(&registry.id);
        let put = match &previous {
            Some((_, version)) => {
                WriteOp::put(Item::from_value(pk, sk, version + 1, &suite)?, Condition::Version(*version))
            }
            None => WriteOp::put(Item::from_value(pk, sk, 1, &suite)?, Condition::NotExists),
        };
        ops.insert(0, put);
        ops.extend(markers.into_iter().map(|marker| WriteOp::delete(marker.pk, marker.sk, Condition::Always)));
        let won = lost_race_is_none(self.store.write(ops).await)?;
        if won.is_some() {
            tracing::info!(registry.slug = %registry.slug, packages = packages.len(),
                "generated the apt indexes of {} from {} control records", registry.slug, packages.len());
        }
        Ok(won)
    }

    /// Removes by-hash indexes whose grace ended at `now` and that no current Release lists; returns how
    /// many objects it removed.
    ///
    /// # Errors
    /// When the store fails; what was removed stays removed.
    pub async fn collect_debian_indexes(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut removed = 0;
        loop {
            let page = self.store.query(&oldest(keys::DEBIAN_INDEX_GC_PARTITION.into(), 25)).await?;
            let due: Vec<&Item> = page
                .items
                .iter()
                .take_while(|item| {
                    item.sk.get(..12).and_then(|d| d.parse::<i64>().ok()).is_some_and(|d| d <= now.timestamp())
                })
                .collect();
            if due.is_empty() {
                return Ok(removed);
            }
            for item in due {
                let entry: Collectable = item.to_value()?;
                let (pk, sk) = keys::debian_suite(&entry.registry_id);
                let current: Option<StoredSuite> = self.store.get(&pk, &sk).await?.map(|i| i.to_value()).transpose()?;
                let blobs = self.blobs(&entry.organization, &entry.storage).await?;
                for sha in &entry.sha256 {
                    let still_listed = current.as_ref().is_some_and(|suite| {
                        suite.storage == entry.storage && suite.files.values().any(|listed| listed == sha)
                    });
                    let dropped_lately =
                        current.as_ref().and_then(|suite| suite.dropped.get(sha)).is_some_and(|at| *at + GRACE > now);
                    if !still_listed && !dropped_lately {
                        blobs.delete(&by_hash_key(&entry.registry_id, sha)?).await.map_err(blob_error)?;
                        removed += 1;
                    }
                }
                self.store.write(vec![WriteOp::delete(item.pk.clone(), item.sk.clone(), Condition::Always)]).await?;
            }
        }
    }

    /// Removes a deleted Debian registry's suite: its by-hash indexes, its suite record, its change markers
    /// and its signing keys. Idempotent, so a run cut short is finished by the next.
    ///
    /// # Errors
    /// When the store or the storage fails.
    pub async fn purge_debian_suite(&self, registry: &Registry) -> Result<()> {
        if registry.ecosystem != Ecosystem::Debian {
            return Ok(());
        }
        if let Some((suite, _)) = self.stored_suite(registry).await? {
            let blobs = self.blobs(&registry.organization, &suite.storage).await?;
            for sha in suite.files.values().chain(suite.dropped.keys()) {
                blobs.delete(&by_hash_key(&registry.id, sha)?).await.map_err(blob_error)?;
            }
        }
        let markers =
            query_all(self.store.as_ref(), keys::debian_changes_partition(&registry.id), String::new()).await?;
        let mut ops: Vec<WriteOp> =
            markers.into_iter().map(|marker| WriteOp::delete(marker.pk, marker.sk, Condition::Always)).collect();
        let (pk, sk) = keys::debian_suite(&registry.id);
        ops.push(WriteOp::delete(pk, sk, Condition::Always));
        let (pk, sk) = keys::signing_keys(&registry.id);
        ops.push(WriteOp::delete(pk, sk, Condition::Always));
        for chunk in ops.chunks(crate::ports::metadata::MAX_WRITE_OPS) {
            self.store.write(chunk.to_vec()).await?;
        }
        Ok(())
    }
}
