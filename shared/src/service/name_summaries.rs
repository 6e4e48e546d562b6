//! One summary per package name in a registry: the name, its latest version and that version's description.
//! `simple/` and cargo search list these, one small record a name, instead of reading every version in the
//! registry. A publish (or the first file of a version) writes its name's summary in the same transaction,
//! and only when the version is the name's new latest; a delete of the latest version rewrites it from the
//! versions that remain, or removes it with the last one. Only ecosystems that list names keep them
//! ([`lists_names`]), since each costs a publish a read and a transaction item; a registry whose versions
//! have none (published before summaries, or of another ecosystem) gets them on its first listing.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::error::Result;
use crate::domain::keys;
use crate::domain::names::Ecosystem;
use crate::domain::package::Package;
use crate::domain::registry::Registry;
use crate::ports::metadata::{Condition, Item, StoreError, WriteOp, query_all};

use super::packages::Packages;

/// What a listing of a registry's names shows of one name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameSummary {
    pub name: String,
    /// The name as its latest version spells it, when that differs (a crate's case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spelled: Option<String>,
    /// The highest version by semver; where either of two versions is not semver, the later published.
    pub latest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A description is cut to this many characters: a listing shows a line of it.
const DESCRIPTION_CHARS: usize = 300;

impl NameSummary {
    fn of(package: &Package) -> Self {
        let description = ["description", "summary"]
            .iter()
            .find_map(|field| package.metadata.get(field).and_then(Value::as_str))
            .map(|text| text.chars().take(DESCRIPTION_CHARS).collect::<String>())
            .filter(|text| !text.is_empty());
        let spelled = package.metadata.get("name").and_then(Value::as_str).filter(|spelled| *spelled != package.name);
        Self {
            name: package.name.clone(),
            spelled: spelled.map(str::to_owned),
            latest: package.version.clone(),
            description,
        }
    }
}

/// Whether a registry of `ecosystem` lists its names (PyPI's `simple/`, cargo search), so its publishes keep
/// their names' summaries.
#[must_use]
pub fn lists_names(ecosystem: Ecosystem) -> bool {
    matches!(ecosystem, Ecosystem::Python | Ecosystem::Cargo)
}

/// Whether `candidate`, published after `current`, takes its place as the latest version.
fn supersedes(candidate: &str, current: &str) -> bool {
    match (semver::Version::parse(candidate), semver::Version::parse(current)) {
        (Ok(candidate), Ok(current)) => candidate > current,
        _ => true,
    }
}

/// Of two versions of a name, the one its summary shows: as [`supersedes`], whichever was published first.
fn later<'a>(a: &'a Package, b: &'a Package) -> &'a Package {
    let (earlier, newer) = if a.id < b.id { (a, b) } else { (b, a) };
    if supersedes(&newer.version, &earlier.version) { newer } else { earlier }
}

/// The registries this process has seen summarized, so a listing checks for the marker once.
#[derive(Default)]
pub(super) struct Summarized(Mutex<HashSet<String>>);

impl Summarized {
    fn contains(&self, registry_id: &str) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).contains(registry_id)
    }

    fn insert(&self, registry_id: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(registry_id.to_owned());
    }
}

impl Packages {
    /// The write that makes `package`, about to be recorded, its name's latest version, if it is; guarded by
    /// the summary's version, so of two publishes of one name that both move it, one retries.
    ///
    /// # Errors
    /// When the store fails.
    pub(super) async fn summary_op(&self, ecosystem: Ecosystem, package: &Package) -> Result<Option<WriteOp>> {
        if !lists_names(ecosystem) {
            return Ok(None);
        }
        let (pk, sk) = keys::name_summary(&package.registry_id, &package.name);
        let (current, version) = match self.store.get(&pk, &sk).await? {
            Some(item) => (Some(item.to_value::<NameSummary>()?), item.version),
            None => (None, 0),
        };
        if current.is_some_and(|current| !supersedes(&package.version, &current.latest)) {
            return Ok(None);
        }
        let condition = if version == 0 { Condition::NotExists } else { Condition::Version(version) };
        Ok(Some(WriteOp::put(Item::from_value(pk, sk, version + 1, &NameSummary::of(package))?, condition)))
    }

    /// The version of `deleted`'s name's summary when `deleted` is the latest version it shows, so that its
    /// delete must rewrite it ([`summary_after_delete`]); `None` otherwise.
    ///
    /// # Errors
    /// When the store fails.
    pub(super) async fn summary_to_rewrite(&self, registry: &Registry, deleted: &Package) -> Result<Option<u64>> {
        if !lists_names(registry.ecosystem) {
            return Ok(None);
        }
        let (pk, sk) = keys::name_summary(&registry.id, &deleted.name);
        let Some(item) = self.store.get(&pk, &sk).await? else { return Ok(None) };
        let current: NameSummary = item.to_value()?;
        Ok((current.latest == deleted.version).then_some(item.version))
    }

    /// Every name of the registry, in order.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn all_names(&self, registry: &Registry) -> Result<Vec<NameSummary>> {
        self.summarize(registry).await?;
        let items =
            query_all(self.store.as_ref(), keys::package_partition(&registry.id), keys::NAME_SUMMARY_PREFIX.to_owned())
                .await?;
        Ok(items.iter().map(Item::to_value).collect::<Result<_, _>>()?)
    }

    /// Writes the summaries of a registry whose versions were published before summaries existed, once:
    /// afterwards a marker says it is done. A summary a publish wrote meanwhile is kept.
    async fn summarize(&self, registry: &Registry) -> Result<()> {
        if self.summarized.contains(&registry.id) {
            return Ok(());
        }
        let (pk, sk) = keys::name_summaries_marker(&registry.id);
        if self.store.get_eventually(&pk, &sk).await?.is_none() && self.store.get(&pk, &sk).await?.is_none() {
            let mut latest: BTreeMap<String, Package> = BTreeMap::new();
            let mut after = None;
            loop {
                let (page, next) = self.list(registry, None, after, 100).await?;
                for package in page {
                    let keep =
                        latest.get(&package.name).is_none_or(|current| later(current, &package).id == package.id);
                    if keep {
                        latest.insert(package.name.clone(), package);
                    }
                }
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            for package in latest.values() {
                let summary = NameSummary::of(package);
                let (summary_pk, summary_sk) = keys::name_summary(&registry.id, &package.name);
                // A publish since this registry's last listing wrote a summary from that version alone; it
                // stays unless it shows a lower semver than the versions read here.
                let (version, condition) = match self.store.get(&summary_pk, &summary_sk).await? {
                    None => (1, Condition::NotExists),
                    Some(item) => {
                        let written: NameSummary = item.to_value()?;
                        let both_semver = semver::Version::parse(&written.latest).is_ok()
                            && semver::Version::parse(&summary.latest).is_ok();
                        if !both_semver || !supersedes(&summary.latest, &written.latest) {
                            continue;
                        }
                        (item.version + 1, Condition::Version(item.version))
                    }
                };
                let item = Item::from_value(summary_pk, summary_sk, version, &summary)?;
                match self.store.write(vec![WriteOp::put(item, condition)]).await {
                    Ok(()) | Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            let marker = Item::from_value(pk, sk, 1, &serde_json::json!({"summarized": true}))?;
            match self.store.write(vec![WriteOp::put(marker, Condition::NotExists)]).await {
                Ok(()) | Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.summarized.insert(&registry.id);
        Ok(())
    }
}

/// The write that keeps a name's summary (at `version`, see [`Packages::summary_to_rewrite`]) true once `deleted`
/// is gone: the latest of `remaining` (the name's other versions), or no summary when there is none.
///
/// # Errors
/// When the summary cannot be encoded.
pub(super) fn summary_after_delete(
    registry: &Registry,
    deleted: &Package,
    version: u64,
    remaining: &[Package],
) -> Result<WriteOp> {
    let (pk, sk) = keys::name_summary(&registry.id, &deleted.name);
    let condition = Condition::Version(version);
    Ok(match remaining.iter().reduce(later) {
        Some(latest) => WriteOp::put(Item::from_value(pk, sk, version + 1, &NameSummary::of(latest))?, condition),
        None => WriteOp::delete(pk, sk, condition),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_semver_supersedes_and_anything_else_goes_by_publication() {
        assert!(supersedes("1.10.0", "1.9.0"));
        assert!(!supersedes("1.9.0", "1.10.0"));
        assert!(!supersedes("2.0.0-beta.1", "2.0.0"));
        assert!(supersedes("2.0.0", "2.0.0-rc.1"));
        assert!(supersedes("2024.1", "2023.12"), "not semver: the later publish");
    }
}
