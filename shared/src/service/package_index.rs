//! A name's index: one entry per version (its renderings, see `ecosystems::index`), written in the same
//! transaction as the publish, yank, file upload or delete that changes it, so no concurrent publish can
//! leave a version out and a yank or delete shows in the next read. Entries sort right after the name's
//! dist-tags record, so a read gets both in one query, a page of up to a thousand versions per round trip.

use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::Ecosystem;
use crate::domain::package::{DistTags, Package};
use crate::domain::registry::Registry;
use crate::ecosystems::index::{IndexEntry, render};
use crate::ports::metadata::{Condition, Item, MAX_QUERY_LIMIT, Query, StoreError, WriteOp};

use super::packages::Packages;

/// The largest index entry kept: DynamoDB refuses items above 400 KB, and an entry holds two renderings.
pub const INDEX_ENTRY_MAX: usize = 350 * 1024;

/// Versions whose missing entries one transaction writes (two operations each, plus one check).
const BACKFILL_BATCH: usize = 49;

/// One page of a name's index.
#[derive(Debug, Default)]
pub struct IndexPage {
    /// The name's dist-tags; read with the first page only.
    pub tags: DistTags,
    pub entries: Vec<IndexEntry>,
    /// Where the next page starts, when there is one.
    pub next: Option<String>,
}

impl Packages {
    /// The write that stores `package`'s index entry (yanked for `yanked`'s reason), `None` for an ecosystem
    /// without one.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the entry would outgrow [`INDEX_ENTRY_MAX`].
    pub(super) fn index_op(
        &self,
        ecosystem: Ecosystem,
        package: &Package,
        yanked: Option<&str>,
        condition: Condition,
    ) -> Result<Option<WriteOp>> {
        let Some(entry) = render(ecosystem, package, yanked) else { return Ok(None) };
        if entry.size() > INDEX_ENTRY_MAX {
            return Err(Error::Invalid {
                field: Some("metadata".into()),
                message: format!(
                    "{}@{} renders to {} bytes of index; at most {INDEX_ENTRY_MAX} are kept (fewer dependencies, keywords or files)",
                    package.name,
                    package.version,
                    entry.size()
                ),
            });
        }
        let (pk, sk) = keys::index_entry(&package.registry_id, &package.name, &package.id);
        Ok(Some(WriteOp::put(Item::from_value(pk, sk, 1, &entry)?, condition)))
    }

    /// The write that removes `package`'s index entry (a no-op where there is none).
    pub(super) fn index_delete_op(package: &Package) -> WriteOp {
        let (pk, sk) = keys::index_entry(&package.registry_id, &package.name, &package.id);
        WriteOp::delete(pk, sk, Condition::Always)
    }

    /// One page of `name`'s index, from the start (with its dist-tags) or after `after`. Strongly consistent
    /// on purpose: a client that publishes and then installs must see the version it just published, and a
    /// deleted or yanked version must not be offered for a second longer.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn index_page(&self, registry: &Registry, name: &str, after: Option<String>) -> Result<IndexPage> {
        let (pk, tags_sk) = keys::dist_tags(&registry.id, name);
        let query = Query { pk, sk_prefix: keys::index_prefix(name), after, limit: MAX_QUERY_LIMIT, descending: false };
        let page = self.store.query(&query).await?;
        let next = page.next_after().map(str::to_owned);
        let mut index = IndexPage { next, ..IndexPage::default() };
        index.entries.reserve(page.items.len());
        for item in page.items {
            if item.sk == tags_sk {
                let entries = item.attributes.get("entries").cloned().unwrap_or_default();
                index.tags = serde_json::from_value(entries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            } else {
                index.entries.push(item.into_value()?);
            }
        }
        Ok(index)
    }

    /// The first page of `name`'s index. A name whose versions were all published before entries existed
    /// gets them written here, once (later changes keep them current).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn first_index_page(&self, registry: &Registry, name: &str) -> Result<IndexPage> {
        let page = self.index_page(registry, name, None).await?;
        if !page.entries.is_empty() || self.list(registry, Some(name), None, 1).await?.0.is_empty() {
            return Ok(page);
        }
        self.backfill_index(registry, name).await?;
        self.index_page(registry, name, None).await
    }

    /// Writes the index entries of every version of `name`, each guarded by its version record existing and
    /// the batch by the yanked versions not changing meanwhile (a lost race is left to the next read).
    async fn backfill_index(&self, registry: &Registry, name: &str) -> Result<()> {
        let versions = self.versions(registry, name).await?;
        let (yanked, yanked_version) = self.yanked(registry, name).await?;
        let (yanked_pk, yanked_sk) = keys::yanked(&registry.id, name);
        let yanked_condition =
            if yanked_version == 0 { Condition::NotExists } else { Condition::Version(yanked_version) };
        for batch in versions.chunks(BACKFILL_BATCH) {
            let mut ops =
                vec![WriteOp::Check { pk: yanked_pk.clone(), sk: yanked_sk.clone(), condition: yanked_condition }];
            for package in batch {
                let reason = yanked.get(&package.version).map(String::as_str);
                let Some(op) = self.index_op(registry.ecosystem, package, reason, Condition::Always)? else {
                    return Ok(());
                };
                ops.push(op);
                let (pk, sk) = keys::package_version(&registry.id, name, &package.version);
                ops.push(WriteOp::Check { pk, sk, condition: Condition::Exists });
            }
            if let Err(error) = self.store.write(ops).await {
                tracing::warn!(registry.slug = %registry.slug, package.name = %name, error = %error,
                    "the index of {name} could not be filled in; the next read tries again");
                return Ok(());
            }
        }
        tracing::info!(registry.slug = %registry.slug, package.name = %name,
            "filled in the index entries of {} versions of {name}", versions.len());
        Ok(())
    }
}
