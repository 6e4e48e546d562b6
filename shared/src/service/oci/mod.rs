//! OCI images in a registry. Unlike the other ecosystems' create-only versions, OCI content is addressed by
//! digest and tags move, so it has its own records beside the packages: blobs per registry (any repository
//! of the registry may use them), and per repository manifests, tags and referrers. The bytes of blobs and
//! manifests go to the registry's storage through the same resolution packages use, under
//! `oci/<registry id>/blobs/sha256/<hex>`; uploads in progress are in [`uploads`].

mod copy;
pub mod gc;
pub mod listing;
mod manifests;
pub mod uploads;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::packages::{DOWNLOAD_URL_TTL, Packages, blob_error};
use crate::domain::error::Error;
use crate::domain::keys;
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ecosystems::oci::{Code, Digest, Platform, Refusal};
use crate::ports::blob::{BlobStore, StorageKey};
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
    /// Since when no manifest may use it; garbage collection removes it [`gc::GRACE`] later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_since: Option<DateTime<Utc>>,
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
    /// The registry blobs it references (config and layers), which garbage collection keeps.
    #[serde(default)]
    pub blobs: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The manifest and all it references, worked out at push (see [`listing`]); absent on older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<u64>,
    /// Where the image runs: its config's platform, or an index's manifests' platforms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
}

impl ManifestRecord {
    /// The blobs it keeps alive: those it references and its own bytes, each once.
    ///
    /// # Errors
    /// Never for a record this service wrote.
    pub fn used_blobs(&self) -> Result<Vec<Digest>, Refusal> {
        let mut used = vec![Digest::parse(&self.digest)?];
        for blob in &self.blobs {
            let blob = Digest::parse(blob)?;
            if !used.contains(&blob) {
                used.push(blob);
            }
        }
        Ok(used)
    }

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

/// A new key for a blob's bytes in its storage: the digest and a unique suffix, so bytes that garbage
/// collection removes after their record never belong to a later upload of the same digest.
///
/// # Errors
/// Never for a parsed digest and a registry id.
pub fn blob_key(registry: &Registry, digest: &Digest) -> Result<StorageKey, Error> {
    // Short enough for stores that name a file after the whole key (s3s-fs), under a linked bucket's path too.
    let name = format!("{}-{}", digest.hex(), ulid::Ulid::new());
    StorageKey::new(&["oci", registry.id.as_str(), "blobs", &name]).map_err(blob_error)
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

    /// Gives `destination` the blob `blob` of `source` (another registry of the organization): its bytes are
    /// copied server-side into the destination's storage and recorded there, or the destination's own record
    /// when it has the blob already.
    ///
    /// # Errors
    /// What reading or storing fails with.
    pub async fn copy_blob(
        &self,
        source: &Registry,
        blob: &BlobRecord,
        destination: &Registry,
    ) -> OciResult<BlobRecord> {
        let digest = Digest::parse(&blob.digest)?;
        if let Some(existing) = self.blob(destination, &digest).await? {
            self.touch(destination, &digest).await?;
            return Ok(existing);
        }
        let (storage, target) = self.packages.storage_for(destination).await?;
        let key = blob_key(destination, &digest)?;
        let from = StorageKey::parse(&blob.key).map_err(blob_error)?;
        let size =
            self.packages.copy_object(&source.organization, (&blob.storage, &from), (&storage, &target, &key)).await?;
        let copied = BlobRecord {
            digest: blob.digest.clone(),
            size,
            storage,
            key: key.to_string(),
            created_at: Utc::now(),
            idle_since: None,
        };
        self.record_new_blob(destination, &copied, &target, &key).await
    }

    /// Records a blob whose bytes were just stored at `key`, queued for garbage collection in case no
    /// manifest ever uses it. When another upload of the same digest recorded it first, that one is kept
    /// and these bytes go.
    ///
    /// # Errors
    /// When the store fails.
    pub(crate) async fn record_new_blob(
        &self,
        registry: &Registry,
        blob: &BlobRecord,
        blobs: &Arc<dyn BlobStore>,
        key: &StorageKey,
    ) -> OciResult<BlobRecord> {
        let digest = Digest::parse(&blob.digest)?;
        let (pk, sk) = keys::oci_blob(&registry.id, digest.hex());
        let ops = vec![
            WriteOp::put(Item::from_value(pk, sk, 1, blob)?, Condition::NotExists),
            Self::candidate_op((&registry.organization, &registry.id), &digest, blob.created_at + gc::GRACE)?,
        ];
        match self.store.write(ops).await {
            Ok(()) => Ok(blob.clone()),
            Err(StoreError::ConditionFailed { op: 0 }) => {
                if let Err(error) = blobs.retire(key).await {
                    tracing::warn!(error = %error, "could not remove the duplicate bytes at {key}");
                }
                self.blob(registry, &digest).await?.ok_or_else(|| {
                    Error::Conflict(format!("blob {digest} was removed while it was uploaded; upload it again")).into()
                })
            }
            Err(error) => Err(error.into()),
        }
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
