//! Publishing, reading and deleting package versions, and npm-style dist-tags. Versions are create-only:
//! the store's `NotExists` condition, not a prior read, decides which of two concurrent publishes wins.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::debian_suite::change_marker;
use super::name_summaries::{Summarized, summary_after_delete};
use super::package_index::about_op_for;
use super::races;
use super::storage_resolver::StorageResolver;
use crate::domain::audit::{Target, diff};
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::{Ecosystem, OrgSlug};
use crate::domain::package::{DistTags, Package, PackageFile};
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ecosystems::index::has_index;
use crate::ports::blob::{BlobError, BlobStore, StorageKey};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

use super::Acting;

/// The write that replaces a small per-name map (dist-tags, yanked versions) whose record is at `version`
/// (0: none yet), guarded so that of two concurrent edits one fails instead of one being lost.
fn map_op((pk, sk): (String, String), entries: &BTreeMap<String, String>, version: u64) -> Result<WriteOp> {
    if entries.is_empty() {
        return Ok(WriteOp::delete(
            pk,
            sk,
            if version == 0 { Condition::NotExists } else { Condition::Version(version) },
        ));
    }
    let item = Item::from_value(pk, sk, version + 1, &json!({ "entries": entries }))?;
    Ok(WriteOp::put(item, if version == 0 { Condition::NotExists } else { Condition::Version(version) }))
}

/// A write's outcome with a lost race (a failed condition, contention) as `None`, for [`races::until_won`].
pub(super) fn lost_race_is_none(written: std::result::Result<(), StoreError>) -> Result<Option<()>> {
    match written {
        Ok(()) => Ok(Some(())),
        Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The largest package record kept. A version is one record (three copies, for its lookups) and DynamoDB
/// refuses items above 400 KB, so what a client sends along (a manifest, a readme, a release's metadata) is
/// bounded here, with a message, instead of failing in the store.
pub const PACKAGE_RECORD_MAX: usize = 300 * 1024;

/// Refuses a package whose record would outgrow [`PACKAGE_RECORD_MAX`].
///
/// # Errors
/// [`Error::Invalid`] naming the size.
pub(super) fn check_record_size(package: &Package) -> Result<()> {
    let size = serde_json::to_vec(package).map_or(usize::MAX, |bytes| bytes.len());
    if size > PACKAGE_RECORD_MAX {
        return Err(Error::Invalid {
            field: Some("metadata".into()),
            message: format!(
                "{}@{} carries {size} bytes of metadata; at most {PACKAGE_RECORD_MAX} are kept (a shorter readme, description or file list)",
                package.name, package.version
            ),
        });
    }
    Ok(())
}

/// How long a presigned download URL lives: long enough for a slow client to start, short enough that a
/// leaked URL is soon worthless.
pub const DOWNLOAD_URL_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// A version to record: its identity, its stored files, what its client sent, and dist-tags to point at it.
#[derive(Debug, Clone, Default)]
pub struct NewVersion {
    pub name: String,
    pub version: String,
    pub files: Vec<PackageFile>,
    pub metadata: serde_json::Value,
    pub tags: DistTags,
}

#[derive(Clone)]
pub struct Packages {
    pub(super) store: Arc<dyn MetadataStore>,
    storage: StorageResolver,
    /// Registries whose names this process has seen summarized (see `name_summaries`).
    pub(super) summarized: Arc<Summarized>,
}

pub(super) fn target(package: &Package) -> Target {
    Target { kind: "package".into(), id: package.id.clone(), name: format!("{}@{}", package.name, package.version) }
}

pub(crate) fn blob_error(error: BlobError) -> Error {
    match error {
        BlobError::InvalidKey(message) => Error::Invalid { field: Some("filename".into()), message },
        BlobError::NotFound(what) => Error::NotFound(format!("no stored file at {what}")),
        BlobError::InvalidUpload(message) => Error::Invalid { field: Some("parts".into()), message },
        BlobError::Backend(error) => Error::Store(StoreError::Backend(error)),
    }
}

/// The key of a file within its storage: per registry and per upload, never derived from a package name.
///
/// # Errors
/// [`Error::Invalid`] for a filename that cannot be a key segment.
pub fn file_key(registry_id: &str, file_id: &str, filename: &str) -> Result<StorageKey> {
    StorageKey::new(&["packages", registry_id, file_id, filename]).map_err(|_| Error::Invalid {
        field: Some("filename".into()),
        message: format!("file name {filename:?} may only use letters, digits, '.', '_', '-', '+' and '@'"),
    })
}

impl Packages {
    pub fn new(store: Arc<dyn MetadataStore>, storage: StorageResolver) -> Self {
        Self { store, storage, summarized: Arc::default() }
    }

    /// Where a registry writes new files now: its own storage if it has one, else its organization's
    /// default. Files remember where they went, so changing this never strands old ones.
    ///
    /// # Errors
    /// When the storage cannot be resolved.
    pub async fn storage_for(&self, registry: &Registry) -> Result<(StorageRef, Arc<dyn BlobStore>)> {
        match &registry.storage {
            Some(storage) => Ok((storage.clone(), self.storage.resolve(&registry.organization, storage).await?)),
            None => self.storage.default_storage(&registry.organization).await,
        }
    }

    /// The blob store behind a storage reference of `org`.
    ///
    /// # Errors
    /// When the storage is not available.
    pub async fn blobs(&self, org: &OrgSlug, storage: &StorageRef) -> Result<Arc<dyn BlobStore>> {
        self.storage.resolve(org, storage).await
    }

    /// Removes stored files that no record refers to (a lost publish race, a refused upload).
    pub async fn discard_files(&self, org: &OrgSlug, files: &[PackageFile]) {
        self.remove_files(org, files, false).await;
    }

    /// Takes a deleted version's files out of use: removed from hosted storage, tagged for the owner's
    /// lifecycle rule in a linked bucket.
    pub async fn retire_files(&self, org: &OrgSlug, files: &[PackageFile]) {
        self.remove_files(org, files, true).await;
    }

    async fn remove_files(&self, org: &OrgSlug, files: &[PackageFile], retire: bool) {
        for file in files {
            let removed = match (self.blobs(org, &file.storage).await, StorageKey::parse(&file.key)) {
                (Ok(blobs), Ok(key)) if retire => blobs.retire(&key).await.map_err(blob_error),
                (Ok(blobs), Ok(key)) => blobs.delete(&key).await.map_err(blob_error),
                (Err(error), _) => Err(error),
                (_, Err(error)) => Err(blob_error(error)),
            };
            if let Err(error) = removed {
                tracing::warn!(file.key = %file.key, error = %error, "could not remove unreferenced file {}", file.key);
            }
        }
    }

    /// Records a new version whose files are already stored. `tags` are set in the same transaction.
    /// When the version exists, nothing changes, the files are discarded and the answer is 409. A race with
    /// another publish of the same name (both moving `latest`) is retried, so distinct versions all land.
    ///
    /// # Errors
    /// [`Error::Conflict`] for an existing version, or when other writers kept winning every attempt.
    pub async fn publish(&self, acting: &Acting, registry: &Registry, new: NewVersion) -> Result<Package> {
        let NewVersion { name, version, files, metadata, tags } = new;
        let package = Package {
            id: ulid::Ulid::new().to_string(),
            registry_id: registry.id.clone(),
            name,
            version,
            files,
            created_at: Utc::now(),
            creator: acting.actor.clone(),
            metadata,
        };
        let published = races::until_won(|| self.try_publish(acting, registry, &package, &tags)).await;
        if !matches!(published, Ok(Some(()))) {
            self.discard_files(&registry.organization, &package.files).await;
        }
        match published? {
            Some(()) => {
                self.reindex(registry, &package.name).await;
                self.refresh_suite(registry).await;
                Ok(package)
            }
            None => {
                Err(Error::Conflict(format!("{} was changed by many requests at the same time; retry", package.name)))
            }
        }
    }

    /// One attempt at [`Self::publish`]: `None` when another request changed the dist-tags meanwhile.
    async fn try_publish(
        &self,
        acting: &Acting,
        registry: &Registry,
        package: &Package,
        tags: &DistTags,
    ) -> Result<Option<()>> {
        let (name, version) = (package.name.as_str(), package.version.as_str());
        let mut ops = self.record_ops(registry.ecosystem, package).await?;
        if !tags.is_empty() {
            let (mut current, tags_version) = self.dist_tags(registry, name).await?;
            current.extend(tags.iter().map(|(tag, version)| (tag.clone(), version.clone())));
            ops.push(self.tags_op(registry, name, &current, tags_version)?);
            ops.extend(about_op_for(registry, package, &current)?);
            ops.extend(self.first_version_marker_op(registry, name, tags_version).await?);
        }
        let shown = json!({"name": name, "version": version, "files": package.files.iter().map(|f| &f.filename).collect::<Vec<_>>()});
        ops.push(acting.audit(
            &registry.organization,
            "package.published",
            target(package),
            diff(&json!(null), &shown, &["name", "version", "files"]),
        )?);
        ops.extend(change_marker(registry)?);
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { op: 0 }) => Err(Error::Conflict(format!(
                "{name}@{version} already exists in registry {}; versions are immutable, publish a new version",
                registry.slug
            ))),
            other => lost_race_is_none(other),
        }
    }

    /// The records of a new version: by name and version (the one whose `NotExists` makes versions
    /// immutable; first, so a failed condition at 0 means the version exists), by id, in its name's
    /// partition, its index entry, and its name's summary when it is the new latest (see `name_summaries`).
    pub(super) async fn record_ops(&self, ecosystem: Ecosystem, package: &Package) -> Result<Vec<WriteOp>> {
        check_record_size(package)?;
        let (pk, sk) = keys::package_version(&package.registry_id, &package.name, &package.version);
        let (id_pk, id_sk) = keys::package_by_id(&package.registry_id, &package.id);
        let name_pk = keys::package_name_partition(&package.registry_id, &package.name);
        let mut ops = vec![
            WriteOp::put(Item::from_value(pk, sk, 1, package)?, Condition::NotExists),
            WriteOp::put(Item::from_value(id_pk, id_sk, 1, package)?, Condition::NotExists),
            WriteOp::put(Item::from_value(name_pk, package.id.clone(), 1, package)?, Condition::NotExists),
        ];
        ops.extend(self.index_ops(ecosystem, package, None, Condition::NotExists)?);
        ops.extend(self.summary_op(ecosystem, package).await?);
        Ok(ops)
    }

    fn tags_op(&self, registry: &Registry, name: &str, tags: &DistTags, version: u64) -> Result<WriteOp> {
        map_op(keys::dist_tags(&registry.id, name), tags, version)
    }

    /// A package by id.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the registry has no such package.
    pub async fn get(&self, registry: &Registry, id: &str) -> Result<Package> {
        let not_found = || Error::NotFound(format!("package {id} not found in registry {}", registry.slug));
        if ulid::Ulid::from_string(id).is_err() {
            return Err(not_found());
        }
        let (pk, sk) = keys::package_by_id(&registry.id, id);
        Ok(self.store.get(&pk, &sk).await?.ok_or_else(not_found)?.to_value()?)
    }

    /// One version of a name, if published.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn get_version(&self, registry: &Registry, name: &str, version: &str) -> Result<Option<Package>> {
        let (pk, sk) = keys::package_version(&registry.id, name, version);
        Ok(self.store.get(&pk, &sk).await?.map(|item| item.to_value()).transpose()?)
    }

    /// Whether `name@version` is published, for refusing a publish early, before its files are stored. Read
    /// eventually consistent (half the read units): a miss costs at most a stored file that the store's
    /// `NotExists` condition then refuses and discards; a hit is confirmed consistently, so a version deleted a
    /// moment ago is not refused.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn has_version(&self, registry: &Registry, name: &str, version: &str) -> Result<bool> {
        let (pk, sk) = keys::package_version(&registry.id, name, version);
        Ok(self.store.get_eventually(&pk, &sk).await?.is_some() && self.store.get(&pk, &sk).await?.is_some())
    }

    /// One version of a name as last replicated, for checks whose miss the store's conditions catch anyway.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn get_version_eventually(
        &self,
        registry: &Registry,
        name: &str,
        version: &str,
    ) -> Result<Option<Package>> {
        let (pk, sk) = keys::package_version(&registry.id, name, version);
        Ok(self.store.get_eventually(&pk, &sk).await?.map(Item::into_value).transpose()?)
    }

    /// A version to download a file of (`filename`, or its first): read eventually consistent first, at half
    /// the read units. Staleness cannot hurt here: a version's record only ever gains files, so a stale read can
    /// only lack what was written in the last second, and such a miss (no record, no such file) is read again
    /// consistently. A version deleted within the last second may still be found; its download then fails at
    /// the storage, as it would have a moment earlier.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn version_to_download(
        &self,
        registry: &Registry,
        (name, version): (&str, &str),
        filename: Option<&str>,
    ) -> Result<Option<Package>> {
        let (pk, sk) = keys::package_version(&registry.id, name, version);
        self.read_to_download(&pk, &sk, filename).await
    }

    /// A package by id to download a file of, read as [`Self::version_to_download`] reads.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the registry has no such package.
    pub async fn get_to_download(&self, registry: &Registry, id: &str, filename: Option<&str>) -> Result<Package> {
        let not_found = || Error::NotFound(format!("package {id} not found in registry {}", registry.slug));
        if ulid::Ulid::from_string(id).is_err() {
            return Err(not_found());
        }
        let (pk, sk) = keys::package_by_id(&registry.id, id);
        self.read_to_download(&pk, &sk, filename).await?.ok_or_else(not_found)
    }

    async fn read_to_download(&self, pk: &str, sk: &str, filename: Option<&str>) -> Result<Option<Package>> {
        let has_file = |package: &Package| filename.map_or(!package.files.is_empty(), |f| package.file(f).is_some());
        if let Some(item) = self.store.get_eventually(pk, sk).await? {
            let package: Package = item.into_value()?;
            if has_file(&package) {
                return Ok(Some(package));
            }
        }
        Ok(self.store.get(pk, sk).await?.map(Item::into_value).transpose()?)
    }

    /// Every version of a name, oldest first.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn versions(&self, registry: &Registry, name: &str) -> Result<Vec<Package>> {
        let mut packages: Vec<Package> = Vec::new();
        let mut after = None;
        loop {
            let query = Query {
                pk: keys::package_name_partition(&registry.id, name),
                sk_prefix: String::new(),
                after,
                limit: 100,
                descending: false,
            };
            let page = self.store.query(&query).await?;
            for item in &page.items {
                packages.push(item.to_value()?);
            }
            match page.next_after() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(packages),
            }
        }
    }

    /// One page of packages, newest first, optionally of one name only.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(
        &self,
        registry: &Registry,
        name: Option<&str>,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Package>, Option<String>)> {
        let (pk, prefix) = match name {
            Some(name) => (keys::package_name_partition(&registry.id, name), String::new()),
            None => (keys::package_partition(&registry.id), keys::PACKAGE_BY_ID_PREFIX.to_owned()),
        };
        let after = after.map(|id| format!("{prefix}{id}"));
        let page = self.store.query(&Query { pk, sk_prefix: prefix.clone(), after, limit, descending: true }).await?;
        let next = page.next_after().and_then(|sk| sk.strip_prefix(prefix.as_str())).map(str::to_owned);
        Ok((page.items.iter().map(Item::to_value).collect::<Result<_, _>>()?, next))
    }

    /// A name's dist-tags and their record's version (0 when there are none).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn dist_tags(&self, registry: &Registry, name: &str) -> Result<(DistTags, u64)> {
        self.load_map(keys::dist_tags(&registry.id, name)).await
    }

    /// A name's yanked versions, each with the reason given (empty when none), and the record's version.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn yanked(&self, registry: &Registry, name: &str) -> Result<(BTreeMap<String, String>, u64)> {
        self.load_map(keys::yanked(&registry.id, name)).await
    }

    /// Yanks a version (clients stop choosing it for new resolutions; lockfiles keep it) or unyanks it.
    /// Yanks of other versions of the same name at the same moment all land.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unpublished version, [`Error::Conflict`] when other writers kept winning.
    pub async fn set_yanked(
        &self,
        acting: &Acting,
        registry: &Registry,
        name: &str,
        version: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        let package = self.get_version(registry, name, version).await?.ok_or_else(|| {
            Error::NotFound(format!("{name}@{version} is not published in registry {}", registry.slug))
        })?;
        races::until_won(|| self.try_set_yanked(acting, registry, &package, reason))
            .await?
            .ok_or_else(|| Error::Conflict(format!("{name} changed at the same time; retry")))?;
        self.reindex(registry, name).await;
        Ok(())
    }

    /// One attempt at [`Self::set_yanked`]: `None` when another request changed the yanked versions meanwhile.
    async fn try_set_yanked(
        &self,
        acting: &Acting,
        registry: &Registry,
        package: &Package,
        reason: Option<&str>,
    ) -> Result<Option<()>> {
        let (name, version) = (package.name.as_str(), package.version.as_str());
        let (mut yanked, record_version) = self.yanked(registry, name).await?;
        let before = yanked.contains_key(version);
        match reason {
            Some(reason) => yanked.insert(version.to_owned(), reason.to_owned()),
            None => yanked.remove(version),
        };
        if before == reason.is_some() {
            return Ok(Some(()));
        }
        let action = if reason.is_some() { "package.yanked" } else { "package.unyanked" };
        let mut ops = vec![
            map_op(keys::yanked(&registry.id, name), &yanked, record_version)?,
            acting.audit(
                &registry.organization,
                action,
                target(package),
                diff(&json!({"yanked": before}), &json!({"yanked": !before}), &["yanked"]),
            )?,
        ];
        if has_index(registry.ecosystem) {
            // The entry is rendered from the version as read; the check makes a concurrent file upload to
            // the version (which renders it too) and this yank retry rather than one undo the other.
            let (current, current_version) = self
                .version_record(registry, name, version)
                .await?
                .ok_or_else(|| Error::NotFound(format!("{name}@{version} was deleted meanwhile")))?;
            ops.extend(self.index_ops(registry.ecosystem, &current, reason, Condition::Always)?);
            let (pk, sk) = keys::package_version(&registry.id, name, version);
            ops.push(WriteOp::Check { pk, sk, condition: Condition::Version(current_version) });
        }
        lost_race_is_none(self.store.write(ops).await)
    }

    async fn load_map(&self, (pk, sk): (String, String)) -> Result<(BTreeMap<String, String>, u64)> {
        match self.store.get(&pk, &sk).await? {
            Some(item) => {
                let entries = item.attributes.get("entries").cloned().unwrap_or_default();
                Ok((serde_json::from_value(entries).map_err(|e| StoreError::Corrupt(e.to_string()))?, item.version))
            }
            None => Ok((BTreeMap::new(), 0)),
        }
    }

    /// Points `tag` at a published `version` (or removes it with `None`). Changes to other tags of the same
    /// name at the same moment all land; of two changes to one tag, the later wins.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unpublished version or unknown tag, [`Error::Invalid`] for a bad tag name.
    pub async fn set_dist_tag(
        &self,
        acting: &Acting,
        registry: &Registry,
        name: &str,
        tag: &str,
        version: Option<&str>,
    ) -> Result<DistTags> {
        if tag.is_empty()
            || tag.len() > 64
            || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            || semver::Version::parse(tag).is_ok()
        {
            return Err(Error::Invalid {
                field: Some("tag".into()),
                message: format!("dist-tag {tag:?} must be a short word that is not a version"),
            });
        }
        match version {
            Some(version) if self.get_version(registry, name, version).await?.is_none() => {
                return Err(Error::NotFound(format!(
                    "{name}@{version} is not published in registry {}",
                    registry.slug
                )));
            }
            None if tag == "latest" => {
                return Err(Error::Invalid {
                    field: Some("tag".into()),
                    message: "the latest tag cannot be removed; point it at another version".into(),
                });
            }
            _ => {}
        }
        races::until_won(|| self.try_set_dist_tag(acting, registry, name, tag, version))
            .await?
            .ok_or_else(|| Error::Conflict(format!("the dist-tags of {name} changed at the same time; retry")))
    }

    /// One attempt at [`Self::set_dist_tag`]: `None` when another request changed the dist-tags meanwhile.
    async fn try_set_dist_tag(
        &self,
        acting: &Acting,
        registry: &Registry,
        name: &str,
        tag: &str,
        version: Option<&str>,
    ) -> Result<Option<DistTags>> {
        let (mut tags, tags_version) = self.dist_tags(registry, name).await?;
        let before = match version {
            Some(version) => tags.insert(tag.to_owned(), version.to_owned()),
            None => Some(tags.remove(tag).ok_or_else(|| Error::NotFound(format!("{name} has no dist-tag {tag}")))?),
        };
        let target = Target { kind: "package".into(), id: name.to_owned(), name: name.to_owned() };
        let action = if version.is_some() { "package.dist_tag_set" } else { "package.dist_tag_removed" };
        let ops = vec![
            self.tags_op(registry, name, &tags, tags_version)?,
            acting.audit(
                &registry.organization,
                action,
                target,
                diff(&json!({ tag: before }), &json!({ tag: version }), &[tag]),
            )?,
        ];
        Ok(lost_race_is_none(self.store.write(ops).await)?.map(|()| tags))
    }

    /// Deletes a version: its records go in one transaction with its audit event, tags that pointed at it
    /// move (`latest` to the highest remaining version), then its files are removed from storage. A race
    /// with other changes to the name's dist-tags is retried.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it was deleted already, [`Error::Conflict`] when other writers kept winning.
    pub async fn delete(&self, acting: &Acting, registry: &Registry, package: &Package) -> Result<()> {
        races::until_won(|| self.try_delete(acting, registry, package))
            .await?
            .ok_or_else(|| Error::Conflict(format!("{} changed at the same time; retry", package.name)))?;
        self.reindex(registry, &package.name).await;
        self.refresh_suite(registry).await;
        self.retire_files(&registry.organization, &package.files).await;
        Ok(())
    }

    /// One attempt at [`Self::delete`]: `None` when another request changed the dist-tags meanwhile.
    async fn try_delete(&self, acting: &Acting, registry: &Registry, package: &Package) -> Result<Option<()>> {
        let (pk, sk) = keys::package_version(&registry.id, &package.name, &package.version);
        let (id_pk, id_sk) = keys::package_by_id(&registry.id, &package.id);
        let mut ops = vec![
            WriteOp::delete(pk, sk, Condition::Exists),
            WriteOp::delete(id_pk, id_sk, Condition::Always),
            WriteOp::delete(
                keys::package_name_partition(&registry.id, &package.name),
                package.id.clone(),
                Condition::Always,
            ),
        ];
        ops.extend(Self::index_delete_ops(registry.ecosystem, package));
        let summary_version = self.summary_to_rewrite(registry, package).await?;
        let (mut tags, tags_version) = self.dist_tags(registry, &package.name).await?;
        let tagged = tags.values().any(|version| *version == package.version);
        // The name's other versions, read once for whichever of the summary and the tags needs them.
        let remaining: Vec<Package> = if tagged || summary_version.is_some() {
            self.versions(registry, &package.name).await?.into_iter().filter(|other| other.id != package.id).collect()
        } else {
            Vec::new()
        };
        if let Some(version) = summary_version {
            ops.push(summary_after_delete(registry, package, version, &remaining)?);
        }
        if tagged {
            tags.retain(|_, version| *version != package.version);
            let highest = remaining.iter().filter_map(|other| semver::Version::parse(&other.version).ok()).max();
            if let Some(highest) = highest {
                tags.entry("latest".into()).or_insert_with(|| highest.to_string());
            }
            ops.push(self.tags_op(registry, &package.name, &tags, tags_version)?);
        }
        let shown = json!({"name": package.name, "version": package.version});
        ops.push(acting.audit(
            &registry.organization,
            "package.deleted",
            target(package),
            diff(&shown, &json!(null), &["name", "version"]),
        )?);
        ops.extend(change_marker(registry)?);
        match self.store.write(ops).await {
            Err(StoreError::ConditionFailed { op: 0 }) => {
                Err(Error::NotFound(format!("{}@{} was already deleted", package.name, package.version)))
            }
            other => lost_race_is_none(other),
        }
    }

    /// A short-lived URL that downloads one file straight from its storage.
    ///
    /// # Errors
    /// When the storage cannot sign.
    pub async fn download_url(&self, org: &OrgSlug, file: &PackageFile) -> Result<String> {
        let key = StorageKey::parse(&file.key).map_err(blob_error)?;
        self.blobs(org, &file.storage).await?.presign_get(&key, DOWNLOAD_URL_TTL).await.map_err(blob_error)
    }
}
