//! Presigned uploads: a client asks to upload a file of a declared size and SHA-256, sends the bytes
//! straight to storage (one PUT, or parts past a threshold), then finalizes. Only a finalized upload whose
//! stored bytes match what was declared becomes a package; one never finalized is swept away.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::audit::Actor;
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::domain::package::{Digests, Package, PackageFile};
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ports::blob::{CompletedPart, StorageKey};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, WriteOp};

use super::Acting;
use super::packages::{NewVersion, Packages, blob_error, file_key};

/// How long an upload may take before it is swept.
pub const UPLOAD_TTL: Duration = Duration::from_secs(3600);
/// Uploads larger than this go in parts.
pub const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Each part but the last (S3 requires at least 5 MiB).
pub const PART_SIZE: u64 = 64 * 1024 * 1024;
/// The largest file Packyard accepts (S3's object limit).
pub const MAX_UPLOAD_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// An upload in progress, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    pub id: String,
    pub registry_id: String,
    /// Whose storage the bytes went to, so a sweep can find them.
    pub organization: OrgSlug,
    pub name: String,
    pub version: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    pub storage: StorageRef,
    pub key: String,
    pub multipart_id: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub creator: Actor,
}

/// What the client is told to do with the bytes.
#[derive(Debug, Clone, Serialize)]
pub struct UploadInstructions {
    pub id: String,
    pub expires_at: DateTime<Utc>,
    /// One `PUT` of the whole file, when it is small enough.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Otherwise: `PUT` each part (of `part_size` bytes, the last shorter) to its URL and keep each `ETag`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartUrl {
    pub number: u32,
    pub url: String,
}

/// A request to start an upload, already resolved to a name and version.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub name: String,
    pub version: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone)]
pub struct Uploads {
    store: Arc<dyn MetadataStore>,
    packages: Packages,
}

fn invalid(field: &str, message: String) -> Error {
    Error::Invalid { field: Some(field.into()), message }
}

impl Uploads {
    pub fn new(store: Arc<dyn MetadataStore>, packages: Packages) -> Self {
        Self { store, packages }
    }

    /// Records the upload and signs the URLs the client sends the bytes to.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad size or digest, [`Error::Conflict`] when the version already exists.
    pub async fn start(
        &self,
        acting: &Acting,
        registry: &Registry,
        request: UploadRequest,
    ) -> Result<UploadInstructions> {
        if request.size == 0 || request.size > MAX_UPLOAD_SIZE {
            return Err(invalid("size", format!("size must be from 1 byte to {MAX_UPLOAD_SIZE} bytes")));
        }
        let sha256 = request.sha256.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("sha256", "sha256 must be 64 hexadecimal digits".into()));
        }
        if self.packages.get_version(registry, &request.name, &request.version).await?.is_some() {
            return Err(Error::Conflict(format!(
                "{}@{} already exists; versions are immutable",
                request.name, request.version
            )));
        }
        let id = ulid::Ulid::new().to_string();
        let (storage, blobs) = self.packages.storage_for(registry).await?;
        let key = file_key(&registry.id, &id, &request.filename)?;
        let expires_at = Utc::now() + UPLOAD_TTL;
        let (url, parts, part_size, multipart_id) = if request.size <= MULTIPART_THRESHOLD {
            (Some(blobs.presign_put(&key, UPLOAD_TTL).await.map_err(blob_error)?), Vec::new(), None, None)
        } else {
            let multipart_id = blobs.start_multipart(&key).await.map_err(blob_error)?;
            let count = request.size.div_ceil(PART_SIZE);
            let mut parts = Vec::new();
            for number in 1..=u32::try_from(count).map_err(|_| invalid("size", "too many parts".into()))? {
                parts.push(PartUrl {
                    number,
                    url: blobs.presign_part(&key, &multipart_id, number, UPLOAD_TTL).await.map_err(blob_error)?,
                });
            }
            (None, parts, Some(PART_SIZE), Some(multipart_id))
        };
        let upload = Upload {
            id: id.clone(),
            registry_id: registry.id.clone(),
            organization: registry.organization.clone(),
            name: request.name,
            version: request.version,
            filename: request.filename,
            size: request.size,
            sha256,
            storage,
            key: key.to_string(),
            multipart_id,
            expires_at,
            creator: acting.actor.clone(),
        };
        let (pk, sk) = keys::upload(&registry.id, &id);
        let (expiry_pk, expiry_sk) = keys::upload_expiry(expires_at.timestamp(), &id);
        self.store
            .write(vec![
                WriteOp::put(Item::from_value(pk, sk, 1, &upload)?, Condition::NotExists),
                WriteOp::put(Item::from_value(expiry_pk, expiry_sk, 1, &upload)?, Condition::NotExists),
            ])
            .await?;
        Ok(UploadInstructions { id, expires_at, url, parts, part_size })
    }

    /// Completes an upload: assembles its parts, checks the stored size and SHA-256 against what was
    /// declared, and publishes the version. A mismatch removes the bytes and publishes nothing.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or expired upload, [`Error::Invalid`] for a size or digest
    /// mismatch, [`Error::Conflict`] when the version was published meanwhile.
    pub async fn complete(
        &self,
        acting: &Acting,
        registry: &Registry,
        id: &str,
        parts: &[CompletedPart],
    ) -> Result<Package> {
        let not_found = || Error::NotFound(format!("upload {id} not found; it may have expired"));
        if ulid::Ulid::from_string(id).is_err() {
            return Err(not_found());
        }
        let (pk, sk) = keys::upload(&registry.id, id);
        let upload: Upload = self.store.get(&pk, &sk).await?.ok_or_else(not_found)?.to_value()?;
        if upload.expires_at < Utc::now() {
            return Err(not_found());
        }
        let blobs = self.packages.blobs(&registry.organization, &upload.storage).await?;
        let key = StorageKey::parse(&upload.key).map_err(blob_error)?;
        if let Some(multipart_id) = &upload.multipart_id {
            if parts.is_empty() {
                return Err(invalid("parts", "this upload was sent in parts: list each part's number and ETag".into()));
            }
            blobs.complete_multipart(&key, multipart_id, parts).await.map_err(blob_error)?;
        }
        let stored = blobs.head(&key).await.map_err(blob_error)?;
        let file = PackageFile {
            filename: upload.filename.clone(),
            size: upload.size,
            digests: Digests { sha256: upload.sha256.clone(), sha512: String::new(), sha1: String::new() },
            storage: upload.storage.clone(),
            key: upload.key.clone(),
        };
        let Some(stored) = stored else {
            return Err(invalid(
                "upload",
                format!("nothing was uploaded for {}; PUT the file to the upload URL first", upload.filename),
            ));
        };
        let bytes = blobs.get(&key).await.map_err(blob_error)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if stored.size != upload.size || actual != upload.sha256 {
            self.packages.discard_files(&registry.organization, std::slice::from_ref(&file)).await;
            self.forget(&upload).await?;
            return Err(invalid(
                "sha256",
                format!(
                    "the uploaded file has {} bytes and SHA-256 {actual}, but {} bytes and {} were declared; it was discarded",
                    stored.size, upload.size, upload.sha256
                ),
            ));
        }
        let file = PackageFile { digests: Digests::of(&bytes), ..file };
        let new = NewVersion {
            name: upload.name.clone(),
            version: upload.version.clone(),
            files: vec![file],
            ..NewVersion::default()
        };
        let package = self.packages.publish(acting, registry, new).await;
        self.forget(&upload).await?;
        package
    }

    async fn forget(&self, upload: &Upload) -> Result<()> {
        let (pk, sk) = keys::upload(&upload.registry_id, &upload.id);
        let (expiry_pk, expiry_sk) = keys::upload_expiry(upload.expires_at.timestamp(), &upload.id);
        self.store
            .write(vec![
                WriteOp::delete(pk, sk, Condition::Always),
                WriteOp::delete(expiry_pk, expiry_sk, Condition::Always),
            ])
            .await?;
        Ok(())
    }

    /// Removes uploads that expired unfinished, with their bytes. Returns how many it swept.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut swept = 0;
        loop {
            let query = Query {
                pk: keys::UPLOAD_EXPIRY_PARTITION.into(),
                sk_prefix: String::new(),
                after: None,
                limit: 50,
                descending: false,
            };
            let page = self.store.query(&query).await?;
            let expired: Vec<Upload> = page
                .items
                .iter()
                .map(Item::to_value)
                .collect::<Result<Vec<Upload>, _>>()?
                .into_iter()
                .filter(|u| u.expires_at < now)
                .collect();
            if expired.is_empty() {
                return Ok(swept);
            }
            for upload in &expired {
                if let (Ok(blobs), Ok(key)) =
                    (self.packages.blobs(&upload.organization, &upload.storage).await, StorageKey::parse(&upload.key))
                {
                    if let Some(multipart_id) = &upload.multipart_id {
                        let _ = blobs.abort_multipart(&key, multipart_id).await;
                    }
                    // A finalized upload's record is gone before this could see it, so its bytes are not here.
                    let _ = blobs.delete(&key).await;
                }
                self.forget(upload).await?;
                swept += 1;
            }
        }
    }
}
