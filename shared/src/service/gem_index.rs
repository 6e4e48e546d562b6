//! The RubyGems indexes' records: one summary per gem (its installable versions, the MD5 of its
//! `/info` file, its lines of `/versions`), rewritten from that gem's versions alone whenever one of them is
//! published, yanked, unyanked, copied in or deleted, so no request ever reads every version in the registry.

use crate::domain::error::Result;
use crate::domain::keys;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::ecosystems::ruby::GemSpec;
use crate::ecosystems::ruby::index::{GemSummary, IndexedVersion};
use crate::ecosystems::ruby::info_line;
use crate::ports::metadata::{Condition, Item, Query, WriteOp, query_all};

use super::packages::{Packages, lost_race_is_none};
use super::races;

impl Packages {
    /// Brings a gem's index summary up to date after a change to `name` in a RubyGems registry; any
    /// other registry has none. A failure is logged, not returned: the change itself has been recorded,
    /// and the summary catches up at the gem's next change.
    pub(super) async fn reindex(&self, registry: &Registry, name: &str) {
        if registry.ecosystem != Ecosystem::Ruby {
            return;
        }
        let refreshed = races::until_won(|| self.try_reindex(registry, name)).await;
        if !matches!(refreshed, Ok(Some(()))) {
            let error = refreshed.err().map_or_else(|| "other writers kept winning".to_owned(), |e| e.to_string());
            tracing::error!(registry.slug = %registry.slug, package.name = %name, error = %error,
                "the gem index of {name} could not be brought up to date");
        }
    }

    /// One attempt at [`Self::reindex`]: `None` when another change rewrote the summary meanwhile.
    async fn try_reindex(&self, registry: &Registry, name: &str) -> Result<Option<()>> {
        let (yanked, _) = self.yanked(registry, name).await?;
        let versions: Vec<IndexedVersion> = self
            .versions(registry, name)
            .await?
            .iter()
            .filter(|package| !yanked.contains_key(&package.version))
            .filter_map(|package| {
                let spec: GemSpec = serde_json::from_value(package.metadata["gem"].clone()).ok()?;
                let sha256 = &package.files.first()?.digests.sha256;
                Some(IndexedVersion { info: info_line(&spec, sha256), number: spec.number, platform: spec.platform })
            })
            .collect();
        let (pk, sk) = keys::gem_index(&registry.id, name);
        let (summary, record_version) = match self.store.get(&pk, &sk).await? {
            Some(item) => (item.to_value::<GemSummary>()?, item.version),
            None => (GemSummary::default(), 0),
        };
        let Some(updated) = summary.updated(name, versions, super::next_event_id()) else { return Ok(Some(())) };
        let condition = if record_version == 0 { Condition::NotExists } else { Condition::Version(record_version) };
        let item = Item::from_value(pk, sk, record_version + 1, &updated)?;
        lost_race_is_none(self.store.write(vec![WriteOp::put(item, condition)]).await)
    }

    /// A gem's index summary, if it was ever published here.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn gem_summary(&self, registry: &Registry, name: &str) -> Result<Option<GemSummary>> {
        let (pk, sk) = keys::gem_index(&registry.id, name);
        Ok(self.store.get(&pk, &sk).await?.map(|item| item.to_value()).transpose()?)
    }

    /// Every gem's index summary in the registry: one query page per hundred gems.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn gem_summaries(&self, registry: &Registry) -> Result<Vec<GemSummary>> {
        let partition = keys::gem_index_partition(&registry.id);
        let items = query_all(self.store.as_ref(), partition, keys::GEM_INDEX_PREFIX.to_owned()).await?;
        Ok(items.iter().map(Item::to_value).collect::<std::result::Result<_, _>>()?)
    }
}

impl Packages {
    /// Removes a deleted registry's gem index summaries, a page at a time (housekeeping).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn purge_gem_index(&self, registry: &Registry) -> Result<()> {
        loop {
            let partition = keys::gem_index_partition(&registry.id);
            let query = Query { pk: partition, sk_prefix: String::new(), after: None, limit: 25, descending: false };
            let page = self.store.query(&query).await?;
            if page.items.is_empty() {
                return Ok(());
            }
            let ops = page.items.into_iter().map(|item| WriteOp::delete(item.pk, item.sk, Condition::Always));
            self.store.write(ops.collect()).await?;
        }
    }
}
