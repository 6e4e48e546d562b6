//! OCI images in a registry. Unlike the other ecosystems' create-only versions, OCI content is addressed by
//! digest and tags move, so it has its own records beside the packages: blobs per registry (any repository
//! of the registry may use them), and per repository manifests, tags and referrers. The bytes of blobs and
//! manifests go to the registry's storage through the same resolution packages use, under
//! `oci/<registry id>/blobs/sha256/<hex>`; uploads in progress are in [`uploads`].

pub mod uploads;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Acting;
use super::packages::{DOWNLOAD_URL_TTL, Packages, blob_error};
use crate::domain::audit::{Target, diff};
use crate::domain::error::Error;
use crate::domain::keys;
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ecosystems::oci::{Code, Digest, ParsedManifest, Reference, Refusal};
use crate::ports::blob::StorageKey;
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, StoreError, WriteOp};

/// Why an OCI operation did not happen: the protocol refused it, or Packyard failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Failed(#[from] Error),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Failed(error.into())
    }
}

pub type OciResult<T> = Result<T, Failure>;

fn refuse<T>(code: Code, message: impl Into<String>) -> OciResult<T> {
    Err(Refusal::new(code, message).into())
}

/// A blob of a registry: its size and where its bytes are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobRecord {
    pub digest: String,
    pub size: u64,
    pub storage: StorageRef,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

/// A manifest of a repository. Its bytes are also a blob of the registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub storage: StorageRef,
    pub key: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub annotations: Option<Value>,
    pub created_at: DateTime<Utc>,
}

impl ManifestRecord {
    /// The descriptor the referrers API lists for this manifest.
    pub fn descriptor(&self) -> Value {
        let mut descriptor = json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size});
        if let Some(artifact_type) = &self.artifact_type {
            descriptor["artifactType"] = json!(artifact_type);
        }
        if let Some(annotations) = &self.annotations {
            descriptor["annotations"] = annotations.clone();
        }
        descriptor
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TagRecord {
    digest: String,
}

/// The key of a blob's bytes in its storage.
///
/// # Errors
/// Never for a parsed digest and a registry id.
pub fn blob_key(registry: &Registry, digest: &Digest) -> Result<StorageKey, Error> {
    StorageKey::new(&["oci", registry.id.as_str(), "blobs", "sha256", digest.hex()]).map_err(blob_error)
}

#[derive(Clone)]
pub struct Oci {
    store: Arc<dyn MetadataStore>,
    packages: Packages,
}

impl Oci {
    pub fn new(store: Arc<dyn MetadataStore>, packages: Packages) -> Self {
        Self { store, packages }
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, (pk, sk): (String, String)) -> OciResult<Option<T>> {
        Ok(self.store.get(&pk, &sk).await?.map(|item| item.to_value()).transpose()?)
    }

    /// The registry's blob with this digest, if it has one.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn blob(&self, registry: &Registry, digest: &Digest) -> OciResult<Option<BlobRecord>> {
        self.read(keys::oci_blob(&registry.id, digest.hex())).await
    }

    /// A short-lived URL that downloads a blob straight from its storage.
    ///
    /// # Errors
    /// When the storage cannot sign.
    pub async fn blob_url(&self, registry: &Registry, blob: &BlobRecord) -> OciResult<String> {
        let key = StorageKey::parse(&blob.key).map_err(blob_error)?;
        let blobs = self.packages.blobs(&registry.organization, &blob.storage).await?;
        Ok(blobs.presign_get(&key, DOWNLOAD_URL_TTL).await.map_err(blob_error)?)
    }

    fn blob_op(registry: &Registry, blob: &BlobRecord) -> OciResult<WriteOp> {
        let digest = Digest::parse(&blob.digest)?;
        let (pk, sk) = keys::oci_blob(&registry.id, digest.hex());
        Ok(WriteOp::put(Item::from_value(pk, sk, 1, blob)?, Condition::Always))
    }

    /// A manifest of the repository by tag or digest.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn manifest(
        &self,
        registry: &Registry,
        repository: &str,
        reference: &Reference,
    ) -> OciResult<Option<ManifestRecord>> {
        let digest = match reference {
            Reference::Digest(digest) => digest.clone(),
            Reference::Tag(tag) => {
                let Some(tag) = self.read::<TagRecord>(keys::oci_tag(&registry.id, repository, tag)).await? else {
                    return Ok(None);
                };
                Digest::parse(&tag.digest)?
            }
        };
        self.read(keys::oci_manifest(&registry.id, repository, digest.hex())).await
    }

    /// A manifest's bytes (at most 4 MiB, so read whole).
    ///
    /// # Errors
    /// When the storage fails.
    pub async fn manifest_bytes(&self, registry: &Registry, manifest: &ManifestRecord) -> OciResult<Bytes> {
        let key = StorageKey::parse(&manifest.key).map_err(blob_error)?;
        let blobs = self.packages.blobs(&registry.organization, &manifest.storage).await?;
        Ok(blobs.get(&key).await.map_err(blob_error)?)
    }

    /// Stores a manifest once everything it references exists: its blobs in the registry, an index's
    /// manifests in the repository. A tag moves to it, audited with where it pointed before.
    ///
    /// # Errors
    /// `DIGEST_INVALID` when pushed by a digest its bytes do not have, `MANIFEST_BLOB_UNKNOWN` for a missing
    /// reference, and what storing fails with.
    pub async fn put_manifest(
        &self,
        acting: &Acting,
        registry: &Registry,
        repository: &str,
        reference: &Reference,
        parsed: ParsedManifest,
        bytes: Bytes,
    ) -> OciResult<ManifestRecord> {
        let digest = Digest::of(&bytes);
        if let Reference::Digest(expected) = reference
            && *expected != digest
        {
            return refuse(Code::DigestInvalid, format!("the manifest's digest is {digest}, not {expected}"));
        }
        for blob in &parsed.blobs {
            if self.blob(registry, blob).await?.is_none() {
                return refuse(
                    Code::ManifestBlobUnknown,
                    format!("blob {blob} is not in this registry; push it first"),
                );
            }
        }
        for child in &parsed.manifests {
            if self.manifest(registry, repository, &Reference::Digest(child.clone())).await?.is_none() {
                return refuse(
                    Code::ManifestBlobUnknown,
                    format!("manifest {child} is not in repository {repository}; push it first"),
                );
            }
        }
        let blob = match self.blob(registry, &digest).await? {
            Some(blob) => blob,
            None => {
                let (storage, blobs) = self.packages.storage_for(registry).await?;
                let key = blob_key(registry, &digest)?;
                blobs.put(&key, bytes.clone()).await.map_err(blob_error)?;
                BlobRecord {
                    digest: digest.to_string(),
                    size: bytes.len() as u64,
                    storage,
                    key: key.to_string(),
                    created_at: Utc::now(),
                }
            }
        };
        let manifest = ManifestRecord {
            digest: digest.to_string(),
            media_type: parsed.media_type,
            size: blob.size,
            storage: blob.storage.clone(),
            key: blob.key.clone(),
            subject: parsed.subject.as_ref().map(ToString::to_string),
            artifact_type: parsed.artifact_type,
            annotations: parsed.annotations,
            created_at: Utc::now(),
        };
        let (pk, sk) = keys::oci_manifest(&registry.id, repository, digest.hex());
        let mut ops = vec![
            Self::blob_op(registry, &blob)?,
            WriteOp::put(Item::from_value(pk, sk, 1, &manifest)?, Condition::Always),
        ];
        if let Some(subject) = &parsed.subject {
            let (pk, sk) = keys::oci_referrer(&registry.id, repository, subject.hex(), digest.hex());
            ops.push(WriteOp::put(Item::from_value(pk, sk, 1, &manifest)?, Condition::Always));
        }
        let mut before = json!({});
        if let Reference::Tag(tag) = reference {
            let key = keys::oci_tag(&registry.id, repository, tag);
            let previous = self.read::<TagRecord>(key.clone()).await?;
            before = json!({"tag": tag, "digest": previous.map(|record| record.digest)});
            let record = TagRecord { digest: digest.to_string() };
            ops.push(WriteOp::put(Item::from_value(key.0, key.1, 1, &record)?, Condition::Always));
        }
        let after = json!({"tag": before.get("tag"), "digest": digest.to_string()});
        ops.push(acting.audit(
            &registry.organization,
            "oci.manifest_pushed",
            target(repository, reference),
            diff(&before, &after, &["digest"]),
        )?);
        self.store.write(ops).await?;
        tracing::info!(registry.slug = %registry.slug, oci.repository = %repository, "pushed {repository}@{digest}");
        Ok(manifest)
    }

    /// Removes a tag, audited.
    ///
    /// # Errors
    /// `MANIFEST_UNKNOWN` when there is no such tag.
    pub async fn delete_tag(&self, acting: &Acting, registry: &Registry, repository: &str, tag: &str) -> OciResult<()> {
        let key = keys::oci_tag(&registry.id, repository, tag);
        let Some(previous) = self.read::<TagRecord>(key.clone()).await? else {
            return refuse(Code::ManifestUnknown, format!("{repository} has no tag {tag}"));
        };
        let reference = Reference::Tag(tag.to_owned());
        let ops = vec![
            WriteOp::delete(key.0, key.1, Condition::Exists),
            acting.audit(
                &registry.organization,
                "oci.tag_deleted",
                target(repository, &reference),
                diff(&json!({"digest": previous.digest}), &json!({}), &["digest"]),
            )?,
        ];
        self.store.write(ops).await?;
        Ok(())
    }

    /// Removes a manifest from the repository with the tags that point at it and its referrer entry. Its
    /// bytes stay (another repository may hold the same manifest; there is no garbage collection yet).
    ///
    /// # Errors
    /// `MANIFEST_UNKNOWN` when the repository has no such manifest.
    pub async fn delete_manifest(
        &self,
        acting: &Acting,
        registry: &Registry,
        repository: &str,
        digest: &Digest,
    ) -> OciResult<()> {
        let reference = Reference::Digest(digest.clone());
        let Some(manifest) = self.manifest(registry, repository, &reference).await? else {
            return refuse(Code::ManifestUnknown, format!("{repository} has no manifest {digest}"));
        };
        let (pk, sk) = keys::oci_manifest(&registry.id, repository, digest.hex());
        let mut ops = vec![WriteOp::delete(pk, sk, Condition::Exists)];
        if let Some(subject) = manifest.subject.as_deref().and_then(|subject| Digest::parse(subject).ok()) {
            let (pk, sk) = keys::oci_referrer(&registry.id, repository, subject.hex(), digest.hex());
            ops.push(WriteOp::delete(pk, sk, Condition::Always));
        }
        let prefix = keys::oci_tags_prefix(repository);
        for (sk, tag) in self.all(&registry.id, &prefix).await? {
            if tag.to_value::<TagRecord>()?.digest == digest.as_str() && ops.len() < 90 {
                ops.push(WriteOp::delete(keys::oci_partition(&registry.id), sk, Condition::Always));
            }
        }
        ops.push(acting.audit(
            &registry.organization,
            "oci.manifest_deleted",
            target(repository, &reference),
            diff(&json!({"digest": digest.to_string()}), &json!({}), &["digest"]),
        )?);
        self.store.write(ops).await?;
        Ok(())
    }

    /// Every item of the registry's OCI partition under `prefix`, with its sort key.
    async fn all(&self, registry_id: &str, prefix: &str) -> OciResult<Vec<(String, Item)>> {
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let query = Query {
                pk: keys::oci_partition(registry_id),
                sk_prefix: prefix.to_owned(),
                after,
                limit: 100,
                descending: false,
            };
            let page = self.store.query(&query).await?;
            let next = page.next_after().map(str::to_owned);
            found.extend(page.items.into_iter().map(|item| (item.sk.clone(), item)));
            match next {
                Some(next) => after = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// A repository's tags in lexical order after `last`: at most `limit` (all when `None`), and whether
    /// more follow.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn tags(
        &self,
        registry: &Registry,
        repository: &str,
        last: Option<&str>,
        limit: Option<usize>,
    ) -> OciResult<(Vec<String>, bool)> {
        let prefix = keys::oci_tags_prefix(repository);
        let strip = |sk: &str| sk.strip_prefix(&prefix).unwrap_or(sk).to_owned();
        let Some(limit) = limit else {
            let mut tags: Vec<String> =
                self.all(&registry.id, &prefix).await?.iter().map(|(sk, _)| strip(sk)).collect();
            if let Some(last) = last {
                tags.retain(|tag| tag.as_str() > last);
            }
            return Ok((tags, false));
        };
        if limit == 0 {
            return Ok((Vec::new(), false));
        }
        let query = Query {
            pk: keys::oci_partition(&registry.id),
            sk_prefix: prefix.clone(),
            after: last.map(|last| format!("{prefix}{last}")),
            limit: limit.min(crate::ports::metadata::MAX_PAGE_SIZE),
            descending: false,
        };
        let page = self.store.query(&query).await?;
        Ok((page.items.iter().map(|item| strip(&item.sk)).collect(), page.more))
    }

    /// The manifests of the repository whose subject is `digest`, as descriptors.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn referrers(
        &self,
        registry: &Registry,
        repository: &str,
        digest: &Digest,
    ) -> OciResult<Vec<ManifestRecord>> {
        let prefix = keys::oci_referrers_prefix(repository, digest.hex());
        let items = self.all(&registry.id, &prefix).await?;
        Ok(items.iter().map(|(_, item)| item.to_value()).collect::<Result<_, _>>()?)
    }
}

impl Oci {
    /// The first records of a deleted registry's OCI content still to remove (none when it is done).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn leftovers(&self, registry: &Registry) -> Result<Vec<Item>, Error> {
        let query = Query {
            pk: keys::oci_partition(&registry.id),
            sk_prefix: String::new(),
            after: None,
            limit: 25,
            descending: false,
        };
        Ok(self.store.query(&query).await?.items)
    }

    /// Removes one of [`Self::leftovers`], retiring a blob's bytes or an upload's chunks first; `true` for a
    /// blob. Idempotent: a run cut short is finished by the next.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn purge(&self, registry: &Registry, item: &Item) -> Result<bool, Error> {
        let (blob, files): (bool, Vec<(StorageRef, String)>) = if item.sk.starts_with("BLOB#") {
            let blob: BlobRecord = item.to_value()?;
            (true, vec![(blob.storage, blob.key)])
        } else if item.sk.starts_with("UPLOAD#") {
            let upload: uploads::Upload = item.to_value()?;
            (false, upload.chunks.into_iter().map(|chunk| (upload.storage.clone(), chunk.key)).collect())
        } else {
            (false, Vec::new())
        };
        for (storage, key) in files {
            let blobs = self.packages.blobs(&registry.organization, &storage).await?;
            if let Err(error) = blobs.retire(&StorageKey::parse(&key).map_err(blob_error)?).await {
                tracing::warn!(error = %error, "could not remove {key} of a deleted registry");
            }
        }
        self.store.write(vec![WriteOp::delete(item.pk.clone(), item.sk.clone(), Condition::Always)]).await?;
        Ok(blob)
    }
}

fn target(repository: &str, reference: &Reference) -> Target {
    let (id, name) = match reference {
        Reference::Tag(tag) => (tag.clone(), format!("{repository}:{tag}")),
        Reference::Digest(digest) => (digest.to_string(), format!("{repository}@{digest}")),
    };
    Target { kind: "oci_manifest".into(), id, name }
}
