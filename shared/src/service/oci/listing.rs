//! OCI content as the REST packages API lists it: each tag of a repository, and each manifest no tag points
//! at, is an image (name = repository, version = tag or digest). What a listing shows is worked out once,
//! at push, so listing never reads a blob: a manifest's total size, which counts the manifest, its config and
//! layers, and for an index the index plus each of its manifests' totals (a layer several platforms share is
//! counted once per platform, as a pull of each would fetch it); and its platforms, from the image config
//! (read once, at most [`CONFIG_MAX_BYTES`]) or from an index's `platform` fields. Each repository has a
//! summary record (its newest push), so the registry's repositories list without scanning their content.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ManifestRecord, Oci, OciResult, TagRecord};
use crate::domain::keys;
use crate::domain::registry::Registry;
use crate::ecosystems::oci::{Digest, IMAGE_CONFIG_TYPES, ImageRef, ParsedManifest, Platform, Reference};
use crate::ports::blob::StorageKey;
use crate::ports::metadata::{Condition, Item, Query, WriteOp};
use crate::service::packages::blob_error;

/// The largest image config read for its platform; configs are a few KiB, one with a long history tens.
pub const CONFIG_MAX_BYTES: u64 = 1024 * 1024;

/// A repository's summary record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepositoryRecord {
    pub name: String,
    /// When a manifest was last pushed to it.
    pub pushed_at: DateTime<Utc>,
}

/// An image of the listing: a tag and the manifest it points at, or a manifest no tag points at.
#[derive(Debug, Clone)]
pub struct Image {
    pub repository: String,
    pub tag: Option<String>,
    pub manifest: ManifestRecord,
}

impl Image {
    /// How the REST API names it.
    ///
    /// # Errors
    /// Never for a stored manifest, whose digest was checked when it was pushed.
    pub fn image_ref(&self) -> OciResult<ImageRef> {
        let reference = match &self.tag {
            Some(tag) => Reference::Tag(tag.clone()),
            None => Reference::Digest(Digest::parse(&self.manifest.digest)?),
        };
        Ok(ImageRef { repository: self.repository.clone(), reference })
    }

    /// Where it sorts within its repository: tags by name, then untagged manifests by digest.
    fn position(&self) -> (bool, &str) {
        match &self.tag {
            Some(tag) => (false, tag),
            None => (true, &self.manifest.digest),
        }
    }
}

/// Where an image id sorts within its repository, as [`Image::position`].
fn position(image: &ImageRef) -> (bool, &str) {
    match &image.reference {
        Reference::Tag(tag) => (false, tag),
        Reference::Digest(digest) => (true, digest.as_str()),
    }
}

impl Oci {
    /// A manifest's total size and platforms, for a manifest about to be stored whose references exist.
    ///
    /// # Errors
    /// When the store or the storage fails.
    pub(super) async fn describe(
        &self,
        registry: &Registry,
        repository: &str,
        parsed: &ParsedManifest,
        size: u64,
    ) -> OciResult<(u64, Vec<Platform>)> {
        let mut total = size;
        for blob in &parsed.blobs {
            total += self.blob(registry, blob).await?.map_or(0, |blob| blob.size);
        }
        let mut platforms = parsed.platforms.clone();
        let index_names_none = platforms.is_empty();
        for child in &parsed.manifests {
            let Some(child) = self.manifest(registry, repository, &Reference::Digest(child.clone())).await? else {
                continue;
            };
            total += child.total_size.unwrap_or(child.size);
            if index_names_none {
                platforms.extend(child.platforms.into_iter().filter(|platform| !parsed.platforms.contains(platform)));
            }
        }
        if let Some(config) = parsed.config.as_ref().filter(|c| IMAGE_CONFIG_TYPES.contains(&c.media_type.as_str())) {
            platforms.extend(self.config_platform(registry, &config.digest).await?);
        }
        platforms.dedup();
        Ok((total, platforms))
    }

    /// The platform an image config names; `None` for a config too large or not an image's.
    async fn config_platform(&self, registry: &Registry, digest: &Digest) -> OciResult<Option<Platform>> {
        let Some(config) = self.blob(registry, digest).await?.filter(|config| config.size <= CONFIG_MAX_BYTES) else {
            return Ok(None);
        };
        let key = StorageKey::parse(&config.key).map_err(blob_error)?;
        let bytes = self.packages.blobs(&registry.organization, &config.storage).await?.get(&key).await;
        let document: Option<serde_json::Value> = serde_json::from_slice(&bytes.map_err(blob_error)?).ok();
        Ok(document.as_ref().and_then(Platform::of))
    }

    /// The write that marks the repository as pushed to now.
    pub(super) fn repository_op(
        registry: &Registry,
        repository: &str,
        manifest: &ManifestRecord,
    ) -> OciResult<WriteOp> {
        let (pk, sk) = keys::oci_repository(&registry.id, repository);
        let record = RepositoryRecord { name: repository.to_owned(), pushed_at: manifest.created_at };
        Ok(WriteOp::put(Item::from_value(pk, sk, 1, &record)?, Condition::Always))
    }

    /// The images of one repository: its tags by name, then the manifests no tag points at by digest. Reads
    /// the repository's records, a page of 100 at a time.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn repository_images(&self, registry: &Registry, repository: &str) -> OciResult<Vec<Image>> {
        let prefix = keys::oci_repository_records_prefix(repository);
        let mut manifests = BTreeMap::new();
        let mut tags = Vec::new();
        for (sk, item) in self.all(&registry.id, &prefix).await? {
            let rest = sk.strip_prefix(&prefix).unwrap_or_default();
            if rest.starts_with("M#") {
                let manifest: ManifestRecord = item.to_value()?;
                manifests.insert(manifest.digest.clone(), manifest);
            } else if let Some(tag) = rest.strip_prefix("T#") {
                tags.push((tag.to_owned(), item.to_value::<TagRecord>()?.digest));
            }
        }
        let tagged: BTreeSet<&str> = tags.iter().map(|(_, digest)| digest.as_str()).collect();
        let untagged = manifests.values().filter(|manifest| !tagged.contains(manifest.digest.as_str()));
        let image = |tag: Option<String>, manifest: &ManifestRecord| Image {
            repository: repository.to_owned(),
            tag,
            manifest: manifest.clone(),
        };
        let mut images: Vec<Image> =
            tags.iter().filter_map(|(tag, digest)| Some(image(Some(tag.clone()), manifests.get(digest)?))).collect();
        images.extend(untagged.map(|manifest| image(None, manifest)));
        Ok(images)
    }

    /// One image by its id, with the tag or digest it was named by.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn image(&self, registry: &Registry, image: &ImageRef) -> OciResult<Option<Image>> {
        let manifest = self.manifest(registry, &image.repository, &image.reference).await?;
        let tag = match &image.reference {
            Reference::Tag(tag) => Some(tag.clone()),
            Reference::Digest(_) => None,
        };
        Ok(manifest.map(|manifest| Image { repository: image.repository.clone(), tag, manifest }))
    }

    /// At most `limit` images of the registry, or of one repository, after the image `after`: by repository
    /// name, then as [`Self::repository_images`] orders them. With them, the image the next page starts
    /// after, when there is one.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn images(
        &self,
        registry: &Registry,
        repository: Option<&str>,
        after: Option<&ImageRef>,
        limit: usize,
    ) -> OciResult<(Vec<Image>, Option<ImageRef>)> {
        let mut page: Vec<Image> = Vec::new();
        let mut names = Repositories::new(repository, after.map(|after| after.repository.as_str()));
        while let Some(name) = names.next(self, registry).await? {
            for image in self.repository_images(registry, &name).await? {
                let passed = after.is_some_and(|after| after.repository == name && image.position() <= position(after));
                if passed {
                    continue;
                }
                if page.len() == limit {
                    let last = page.last().map(Image::image_ref).transpose()?;
                    return Ok((page, last));
                }
                page.push(image);
            }
        }
        Ok((page, None))
    }
}

/// The repositories a listing walks: one by name, or the summaries in name order from where a page resumes.
struct Repositories {
    pending: Vec<String>,
    /// The summary sort key to query after; `None` once the summaries are exhausted or not wanted.
    after: Option<String>,
}

impl Repositories {
    fn new(only: Option<&str>, resume: Option<&str>) -> Self {
        match (only, resume) {
            (Some(only), _) => Self { pending: vec![only.to_owned()], after: None },
            (None, Some(resume)) => Self {
                pending: vec![resume.to_owned()],
                after: Some(format!("{}{resume}", keys::OCI_REPOSITORY_PREFIX)),
            },
            (None, None) => Self { pending: Vec::new(), after: Some(String::new()) },
        }
    }

    async fn next(&mut self, oci: &Oci, registry: &Registry) -> OciResult<Option<String>> {
        if self.pending.is_empty()
            && let Some(after) = self.after.take()
        {
            let query = Query {
                pk: keys::oci_partition(&registry.id),
                sk_prefix: keys::OCI_REPOSITORY_PREFIX.to_owned(),
                after: Some(after).filter(|after| !after.is_empty()),
                limit: 100,
                descending: false,
            };
            let page = oci.store.query(&query).await?;
            self.after = page.next_after().map(str::to_owned);
            for item in page.items.iter().rev() {
                self.pending.push(item.to_value::<RepositoryRecord>()?.name);
            }
        }
        Ok(self.pending.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_records_from_before_sizes_and_platforms_were_kept_still_read() {
        let older = serde_json::json!({"digest": "sha256:00", "media_type": "application/vnd.oci.image.manifest.v1+json",
            "size": 10, "storage": "hosted", "key": "oci/r/blobs/sha256/00", "created_at": "2026-11-01T00:00:00Z"});
        let record: ManifestRecord = serde_json::from_value(older).unwrap();
        assert_eq!((record.total_size, record.platforms.len()), (None, 0));
    }
}
