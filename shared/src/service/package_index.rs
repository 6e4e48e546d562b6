//! A name's index: one entry per version (its renderings, see `ecosystems::index`), written in the same
//! transaction as the publish, yank, file upload or delete that changes it, so no concurrent publish can
//! leave a version out and a yank or delete shows in the next read. Entries sort right after the name's
//! dist-tags record, so a read gets both in one query, a page of up to a thousand versions per round trip.
//!
//! npm keeps a version's two renderings apart: the full one in its entry, the abbreviated one `npm install`
//! reads in a short entry keyed under the dist-tags record (`keys::npm_short_entry`), so that read takes the
//! dist-tags and the short entries only, about 40% of the bytes. A name from before short entries has no
//! marker (`keys::npm_short_marker`) and is read whole as before: its older entries still hold both renderings.

use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::Ecosystem;
use crate::domain::package::{DistTags, Package};
use crate::domain::registry::Registry;
use crate::ecosystems::index::{IndexEntry, NPM_SHORT, render};
use crate::ports::metadata::{Condition, Item, MAX_QUERY_LIMIT, Query, StoreError, WriteOp};

use super::packages::Packages;

/// What the full npm packument shows of a name besides its versions, kept for the version that was `latest`
/// when it was written: a reader uses it only while that is still so.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct About {
    pub version: String,
    #[serde(default)]
    pub description: serde_json::Value,
    #[serde(default)]
    pub readme: serde_json::Value,
}

impl About {
    /// `package`'s description and readme (a string, else empty).
    #[must_use]
    pub fn of(package: &Package) -> Self {
        let readme = package.metadata.get("readme").filter(|readme| readme.is_string()).cloned();
        Self {
            version: package.version.clone(),
            description: package.metadata.get("description").cloned().unwrap_or_default(),
            readme: readme.unwrap_or_else(|| serde_json::Value::String(String::new())),
        }
    }
}

/// The largest index entry kept: DynamoDB refuses items above 400 KB, and an entry holds two renderings.
pub const INDEX_ENTRY_MAX: usize = 350 * 1024;

/// Versions whose missing entries one transaction writes (up to three operations each: npm's two entries and
/// a check; plus one check).
const BACKFILL_BATCH: usize = 33;

/// One page of a name's index.
#[derive(Debug, Default)]
pub struct IndexPage {
    /// The name's dist-tags; read with the first page only.
    pub tags: DistTags,
    /// npm: the latest version's description and readme as last written ([`About`]); read with the first
    /// page of [`Packages::first_index_page_with_about`] only.
    pub about: Option<About>,
    /// npm: whether the page held the marker that says every version has a short entry.
    short_entries: bool,
    pub entries: Vec<IndexEntry>,
    /// Where the next page starts, when there is one.
    pub next: Option<IndexCursor>,
}

/// Where the next page of a name's index starts: the query's prefix and the last sort key read.
#[derive(Debug, Clone)]
pub struct IndexCursor {
    prefix: String,
    after: String,
}

impl Packages {
    /// The writes that store `package`'s index entry (yanked for `yanked`'s reason): none for an ecosystem
    /// without one, two for npm (the full and the short entry).
    ///
    /// # Errors
    /// [`Error::Invalid`] when the entry would outgrow [`INDEX_ENTRY_MAX`].
    pub(super) fn index_ops(
        &self,
        ecosystem: Ecosystem,
        package: &Package,
        yanked: Option<&str>,
        condition: Condition,
    ) -> Result<Vec<WriteOp>> {
        let Some(mut entry) = render(ecosystem, package, yanked) else { return Ok(Vec::new()) };
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
        let mut ops = Vec::with_capacity(2);
        if let Some(short) = entry.parts.remove(NPM_SHORT) {
            let parts = [(NPM_SHORT.to_owned(), short)].into();
            let short = IndexEntry { version: entry.version.clone(), published: entry.published, parts };
            let (pk, sk) = keys::npm_short_entry(&package.registry_id, &package.name, &package.id);
            ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &short)?, condition));
        }
        let (pk, sk) = keys::index_entry(&package.registry_id, &package.name, &package.id);
        ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &entry)?, condition));
        Ok(ops)
    }

    /// The writes that remove `package`'s index entries (no-ops where there are none).
    pub(super) fn index_delete_ops(ecosystem: Ecosystem, package: &Package) -> Vec<WriteOp> {
        let (pk, sk) = keys::index_entry(&package.registry_id, &package.name, &package.id);
        let mut ops = vec![WriteOp::delete(pk, sk, Condition::Always)];
        if ecosystem == Ecosystem::Npm {
            let (pk, sk) = keys::npm_short_entry(&package.registry_id, &package.name, &package.id);
            ops.push(WriteOp::delete(pk, sk, Condition::Always));
        }
        ops
    }

    /// The write that marks `name` as having a short entry for every version, when the version being published
    /// (its dist-tags record at `tags_version`, 0 when there is none) is its first in an npm registry: `None`
    /// otherwise (one query, made only when the name has no dist-tags).
    ///
    /// # Errors
    /// When the store fails.
    pub(super) async fn first_version_marker_op(
        &self,
        registry: &Registry,
        name: &str,
        tags_version: u64,
    ) -> Result<Option<WriteOp>> {
        if registry.ecosystem != Ecosystem::Npm
            || tags_version != 0
            || !self.list(registry, Some(name), None, 1).await?.0.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(short_marker_op(registry, name)?))
    }

    /// The page of `name`'s index that `cursor` points at. Strongly consistent on purpose: a client that
    /// publishes and then installs must see the version it just published, and a deleted or yanked version must
    /// not be offered for a second longer.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn index_page(&self, registry: &Registry, name: &str, cursor: IndexCursor) -> Result<IndexPage> {
        self.query_index(registry, name, cursor.prefix, Some(cursor.after)).await
    }

    /// One page of the items of `name`'s index under `prefix`, after `after`.
    async fn query_index(
        &self,
        registry: &Registry,
        name: &str,
        prefix: String,
        after: Option<String>,
    ) -> Result<IndexPage> {
        let (pk, tags_sk) = keys::dist_tags(&registry.id, name);
        let (_, about_sk) = keys::npm_about(&registry.id, name);
        let (_, marker_sk) = keys::npm_short_marker(&registry.id, name);
        let query = Query { pk, sk_prefix: prefix, after, limit: MAX_QUERY_LIMIT, descending: false };
        let page = self.store.query(&query).await?;
        let next =
            page.next_after().map(|after| IndexCursor { prefix: query.sk_prefix.clone(), after: after.to_owned() });
        let mut index = IndexPage { next, ..IndexPage::default() };
        index.entries.reserve(page.items.len());
        for item in page.items {
            if item.sk == tags_sk {
                let entries = item.attributes.get("entries").cloned().unwrap_or_default();
                index.tags = serde_json::from_value(entries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            } else if item.sk == about_sk {
                index.about = Some(item.into_value()?);
            } else if item.sk == marker_sk {
                index.short_entries = true;
            } else {
                index.entries.push(item.into_value()?);
            }
        }
        Ok(index)
    }

    /// The first page of the abbreviated npm packument: the dist-tags and the short entries only, in one query.
    /// A name without the marker is read whole, as [`Self::first_index_page`] does.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn first_short_index_page(&self, registry: &Registry, name: &str) -> Result<IndexPage> {
        let page = self.query_index(registry, name, keys::npm_short_prefix(name), None).await?;
        if page.short_entries {
            return Ok(page);
        }
        self.first_index_page(registry, name).await
    }

    /// The first page of `name`'s index. A name whose versions were all published before entries existed
    /// gets them written here, once (later changes keep them current).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn first_index_page(&self, registry: &Registry, name: &str) -> Result<IndexPage> {
        // From after the npm about record: only the full packument reads it.
        self.first_index_page_from(registry, name, Some(keys::npm_about(&registry.id, name).1)).await
    }

    /// The first page of `name`'s index from `start` (exclusive; the very start when `None`), its entries
    /// written first when its versions predate them.
    async fn first_index_page_from(&self, registry: &Registry, name: &str, start: Option<String>) -> Result<IndexPage> {
        let page = self.query_index(registry, name, keys::index_prefix(name), start.clone()).await?;
        if !page.entries.is_empty() || self.list(registry, Some(name), None, 1).await?.0.is_empty() {
            return Ok(page);
        }
        self.backfill_index(registry, name).await?;
        self.query_index(registry, name, keys::index_prefix(name), start).await
    }

    /// The first page of `name`'s index with the npm about record before it, for the full packument, in the
    /// same query. When the record is missing or was written for another version than `latest`, the latest
    /// version is read and the record written again for the next reader.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn first_index_page_with_about(&self, registry: &Registry, name: &str) -> Result<IndexPage> {
        let mut page = self.first_index_page_from(registry, name, None).await?;
        if page.short_entries
            && let Some(next) = &mut page.next
        {
            // The short entries sort before the full ones: the next page starts past them.
            next.after = next.after.clone().max(format!("{}#\u{10FFFF}", keys::npm_short_prefix(name)));
        }
        let Some(latest) = page.tags.get("latest").cloned() else {
            page.about = None;
            return Ok(page);
        };
        if page.about.as_ref().is_some_and(|about| about.version == latest) {
            return Ok(page);
        }
        page.about = None;
        if let Some(package) = self.version_to_download(registry, (name, &latest), None).await? {
            let about = About::of(&package);
            if let Ok(op) = about_op(registry, name, &about) {
                // A cache for the next reader: a lost or failed write only means it reads the version again.
                let _ = self.store.write(vec![op]).await;
            }
            page.about = Some(about);
        }
        Ok(page)
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
                let entries = self.index_ops(registry.ecosystem, package, reason, Condition::Always)?;
                if entries.is_empty() {
                    return Ok(());
                }
                ops.extend(entries);
                let (pk, sk) = keys::package_version(&registry.id, name, &package.version);
                ops.push(WriteOp::Check { pk, sk, condition: Condition::Exists });
            }
            if let Err(error) = self.store.write(ops).await {
                tracing::warn!(registry.slug = %registry.slug, package.name = %name, error = %error,
                    "the index of {name} could not be filled in; the next read tries again");
                return Ok(());
            }
        }
        if registry.ecosystem == Ecosystem::Npm {
            // Every version read above has its short entry now, and every later publish writes its own.
            if let Err(error) = self.store.write(vec![short_marker_op(registry, name)?]).await {
                tracing::warn!(registry.slug = %registry.slug, package.name = %name, error = %error,
                    "{name} is read whole until its short entries are marked complete");
            }
        }
        tracing::info!(registry.slug = %registry.slug, package.name = %name,
            "filled in the index entries of {} versions of {name}", versions.len());
        Ok(())
    }
}

/// The write that keeps `package`'s name's npm about record once `package` becomes `latest` in `tags`; `None`
/// in other registries or when it does not.
///
/// # Errors
/// When the record cannot be encoded.
pub(super) fn about_op_for(registry: &Registry, package: &Package, tags: &DistTags) -> Result<Option<WriteOp>> {
    if registry.ecosystem != Ecosystem::Npm || tags.get("latest") != Some(&package.version) {
        return Ok(None);
    }
    about_op(registry, &package.name, &About::of(package)).map(Some)
}

/// The write that marks `name`'s short entries complete (see [`keys::npm_short_marker`]).
fn short_marker_op(registry: &Registry, name: &str) -> Result<WriteOp> {
    let (pk, sk) = keys::npm_short_marker(&registry.id, name);
    Ok(WriteOp::put(Item::from_value(pk, sk, 1, &serde_json::json!({}))?, Condition::Always))
}

/// The write that stores `about` as `name`'s npm about record, whatever was there: readers check its version.
fn about_op(registry: &Registry, name: &str, about: &About) -> Result<WriteOp> {
    let (pk, sk) = keys::npm_about(&registry.id, name);
    Ok(WriteOp::put(Item::from_value(pk, sk, 1, about)?, Condition::Always))
}
