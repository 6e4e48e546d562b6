//! Presigned uploads: a client asks to upload a file of a declared size and SHA-256, sends the bytes
//! straight to storage (one PUT, or parts past a threshold), then finalizes. Only a finalized upload whose
//! stored bytes match what was declared becomes a package; one never finalized is swept away.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::audit::Actor;
use crate::domain::error::{Error, Result};
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::domain::package::{Digests, Package, PackageFile};
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ports::blob::{CHECKSUM_HEADER, CompletedPart, StorageKey};
use crate::ports::metadata::{Condition, Item, MetadataStore, Query, WriteOp};

use super::Acting;
use super::packages::{NewVersion, Packages, blob_error, file_key};

/// How long an upload may take before it is swept.
pub const UPLOAD_TTL: Duration = Duration::from_secs(3600);
/// Uploads larger than this go in parts.
pub const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// The largest file sent in one PUT unless the client asks for parts: S3's limit for a single PUT. A single
/// PUT is bound to the file's SHA-256, so the store itself refuses wrong bytes and completing the upload
/// reads nothing back; parts (for parallelism, or above this size) are checked by reading the object once.
pub const SINGLE_PUT_MAX: u64 = 5 * 1024 * 1024 * 1024;
/// The smallest part Packyard asks for (S3 requires at least 5 MiB for each part but the last); larger
/// files get larger parts so that they fit in [`MAX_PARTS`].
pub const MIN_PART_SIZE: u64 = 64 * 1024 * 1024;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The most parts one upload may have (S3's limit).
pub const MAX_PARTS: u64 = 10_000;
/// The largest file Packyard accepts (S3's object limit).
pub const MAX_UPLOAD_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;
/// How many part URLs one answer signs; the rest are fetched in batches of this size, so no answer
/// outgrows Lambda's 6 MB response limit (10,000 presigned S3 URLs are about 7 MB).
pub const PARTS_PER_ANSWER: u32 = 1000;

/// The part size for a file of `size` bytes: [`MIN_PART_SIZE`], or the smallest whole number of MiB that
/// keeps the file within [`MAX_PARTS`] parts. Never above [`MAX_PART_SIZE`] for a size up to
/// [`MAX_UPLOAD_SIZE`].
pub fn part_size_for(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    size.div_ceil(MAX_PARTS).div_ceil(MIB).saturating_mul(MIB).clamp(MIN_PART_SIZE, MAX_PART_SIZE)
}

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

/// A hex SHA-256 in the base64 form S3's checksum header takes.
fn base64_sha256(hex_digest: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_digest).unwrap_or_default())
}

/// The digests of a stored object, read as a stream.
async fn digests_of(mut stream: crate::ports::blob::ByteStream) -> Result<Digests> {
    use futures_util::StreamExt;
    let mut hasher = crate::domain::package::DigestHasher::default();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk.map_err(|error| Error::Store(crate::ports::metadata::StoreError::backend(error)))?);
    }
    Ok(hasher.finish())
}

/// What the client is told to do with the bytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadInstructions {
    pub id: String,
    pub expires_at: DateTime<Utc>,
    /// One `PUT` of the whole file, when it is small enough, with [`UploadInstructions::headers`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers the single `PUT` must send: the file's SHA-256 it is bound to (`x-amz-checksum-sha256`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Otherwise: `PUT` each part (of `part_size` bytes, the last shorter) to its URL and keep each `ETag`.
    /// At most [`PARTS_PER_ANSWER`] parts are signed here; [`Uploads::part_urls`] signs the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_count: Option<u32>,
}

/// A batch of signed part URLs of a multipart upload.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartBatch {
    pub parts: Vec<PartUrl>,
    pub part_size: u64,
    pub part_count: u32,
    /// The first part number of the next batch, when there is one.
    #[serde(skip)]
    pub next: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// Send the file in parts even when one PUT could take it (parallel transfers).
    pub parts: bool,
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
        let checksum = base64_sha256(&sha256);
        let single = request.size <= SINGLE_PUT_MAX && !(request.parts && request.size > MULTIPART_THRESHOLD);
        let (url, multipart_id) = if single {
            (Some(blobs.presign_put(&key, UPLOAD_TTL, Some(&checksum)).await.map_err(blob_error)?), None)
        } else {
            (None, Some(blobs.start_multipart(&key).await.map_err(blob_error)?))
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
        let batch = match &upload.multipart_id {
            Some(_) => Some(self.sign_parts(&upload, 1).await?),
            None => None,
        };
        let headers = match url {
            Some(_) => BTreeMap::from([(CHECKSUM_HEADER.to_owned(), checksum)]),
            None => BTreeMap::new(),
        };
        Ok(UploadInstructions {
            id,
            expires_at,
            url,
            headers,
            part_size: batch.as_ref().map(|batch| batch.part_size),
            part_count: batch.as_ref().map(|batch| batch.part_count),
            parts: batch.map(|batch| batch.parts).unwrap_or_default(),
        })
    }

    /// Signs the URLs of up to [`PARTS_PER_ANSWER`] parts of a multipart upload, from part `first` on.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or expired upload, [`Error::Invalid`] for an upload sent in one
    /// piece or a part number past the last.
    pub async fn part_urls(&self, registry: &Registry, id: &str, first: u32) -> Result<PartBatch> {
        let upload = self.open_upload(registry, id).await?;
        if upload.multipart_id.is_none() {
            return Err(invalid("id", format!("upload {id} is sent in one PUT, not in parts")));
        }
        self.sign_parts(&upload, first).await
    }

    async fn sign_parts(&self, upload: &Upload, first: u32) -> Result<PartBatch> {
        let part_size = part_size_for(upload.size);
        let part_count =
            u32::try_from(upload.size.div_ceil(part_size)).map_err(|_| invalid("size", "too many parts".into()))?;
        if first == 0 || first > part_count {
            return Err(invalid("first", format!("parts are numbered 1 to {part_count}")));
        }
        let last = first.saturating_add(PARTS_PER_ANSWER - 1).min(part_count);
        let (Some(multipart_id), Ok(key)) = (&upload.multipart_id, StorageKey::parse(&upload.key)) else {
            return Err(invalid("id", format!("upload {} is sent in one PUT, not in parts", upload.id)));
        };
        let blobs = self.packages.blobs(&upload.organization, &upload.storage).await?;
        let remaining = upload.expires_at - Utc::now();
        let ttl = remaining.to_std().unwrap_or_default().max(Duration::from_secs(1));
        let mut parts = Vec::with_capacity((last - first + 1) as usize);
        for number in first..=last {
            parts.push(PartUrl {
                number,
                url: blobs.presign_part(&key, multipart_id, number, ttl).await.map_err(blob_error)?,
            });
        }
        Ok(PartBatch { parts, part_size, part_count, next: (last < part_count).then_some(last + 1) })
    }

    /// An upload of `registry` that has not expired.
    async fn open_upload(&self, registry: &Registry, id: &str) -> Result<Upload> {
        let not_found = || Error::NotFound(format!("upload {id} not found; it may have expired"));
        if ulid::Ulid::from_string(id).is_err() {
            return Err(not_found());
        }
        let (pk, sk) = keys::upload(&registry.id, id);
        let upload: Upload = self.store.get(&pk, &sk).await?.ok_or_else(not_found)?.to_value()?;
        if upload.expires_at < Utc::now() {
            return Err(not_found());
        }
        Ok(upload)
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
        let upload = self.open_upload(registry, id).await?;
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
        // A single PUT was bound to the declared SHA-256, so a store that verified it (S3, the local store)
        // reports it and nothing is read back. Otherwise (parts, or a store without checksums) the object is
        // hashed as it streams back: a buffer in memory, not the file.
        let verified = stored.sha256.as_deref() == Some(base64_sha256(&upload.sha256).as_str());
        let digests = if verified && upload.multipart_id.is_none() {
            Digests { sha256: upload.sha256.clone(), sha512: String::new(), sha1: String::new() }
        } else {
            digests_of(blobs.get_stream(&key).await.map_err(blob_error)?).await?
        };
        let actual = digests.sha256.clone();
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
        let file = PackageFile { digests, ..file };
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
            let expired: Vec<Upload> =
                expired(&*self.store, keys::UPLOAD_EXPIRY_PARTITION, now, |upload: &Upload| upload.expires_at).await?;
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

/// The first entries of an expiry partition (sort keys start with the zero-padded expiry, so oldest first)
/// that expired before `now`, read as `T`; empty when none has.
///
/// # Errors
/// When the store fails or an entry is not a `T`.
pub(super) async fn expired<T: serde::de::DeserializeOwned>(
    store: &dyn MetadataStore,
    partition: &str,
    now: DateTime<Utc>,
    expires_at: impl Fn(&T) -> DateTime<Utc>,
) -> Result<Vec<T>> {
    let query = Query { pk: partition.into(), sk_prefix: String::new(), after: None, limit: 50, descending: false };
    let page = store.query(&query).await?;
    let entries = page.items.iter().map(Item::to_value).collect::<Result<Vec<T>, _>>()?;
    Ok(entries.into_iter().filter(|entry| expires_at(entry) < now).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_size_fits_in_s3s_part_limits() {
        for size in [MULTIPART_THRESHOLD + 1, 625 * 1024 * 1024 * 1024, 625 * 1024 * 1024 * 1024 + 1, MAX_UPLOAD_SIZE] {
            let part_size = part_size_for(size);
            assert!((5 * 1024 * 1024..=MAX_PART_SIZE).contains(&part_size), "{size}: part size {part_size}");
            assert!(size.div_ceil(part_size) <= MAX_PARTS, "{size}: {} parts", size.div_ceil(part_size));
        }
        assert_eq!(part_size_for(MULTIPART_THRESHOLD + 1), MIN_PART_SIZE);
        assert_eq!(part_size_for(MAX_UPLOAD_SIZE), 525 * 1024 * 1024);
    }
}
