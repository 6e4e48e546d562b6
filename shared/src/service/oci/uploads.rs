//! Blob uploads in progress. An upload is a record in the metadata store (its repository, storage and
//! chunks) and one object per chunk in the registry's storage, so any Lambda instance can take the next
//! request. Completing reads the chunks once to check the digest, and only then streams them into the
//! blob's content-addressed key, so a wrong digest stores nothing and no blob is ever held in memory. An upload
//! left unfinished is swept by housekeeping after [`UPLOAD_TTL`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{BlobRecord, Oci, OciResult, blob_key, refuse};
use crate::domain::error::Error;
use crate::domain::keys;
use crate::domain::names::OrgSlug;
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::ecosystems::oci::{Code, Digest, Refusal};
use crate::ports::blob::{BlobStore, ByteStream, StorageKey};
use crate::ports::metadata::{Condition, Item, StoreError, WriteOp};
use crate::service::packages::blob_error;
use crate::service::uploads::expired;

/// How long an upload may stay unfinished before housekeeping removes it and its chunks.
pub const UPLOAD_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The most chunks one upload may have, so its record stays small.
pub const MAX_CHUNKS: usize = 1000;

/// A stored chunk of an upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chunk {
    pub key: String,
    pub size: u64,
}

/// An upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub id: String,
    pub organization: OrgSlug,
    pub registry_id: String,
    pub repository: String,
    pub storage: StorageRef,
    pub chunks: Vec<Chunk>,
    /// The bytes received so far.
    pub size: u64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

fn unknown(id: &str) -> Refusal {
    Refusal::new(Code::BlobUploadUnknown, format!("there is no upload {id} in this repository"))
}

/// `body`, failing once it passes `limit` bytes and raising `too_large` when it does.
fn limited(body: ByteStream, limit: u64, too_large: Arc<AtomicBool>) -> ByteStream {
    let mut seen = 0u64;
    Box::pin(body.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > limit {
            too_large.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("the chunk is larger than this deployment accepts"));
        }
        Ok(chunk)
    }))
}

/// The chunks' bytes one after the other, each streamed from storage.
fn chained(blobs: Arc<dyn BlobStore>, chunks: Vec<Chunk>) -> ByteStream {
    Box::pin(
        futures_util::stream::iter(chunks)
            .then(move |chunk| {
                let blobs = Arc::clone(&blobs);
                async move {
                    let key = StorageKey::parse(&chunk.key).map_err(std::io::Error::other)?;
                    blobs.get_stream(&key).await.map_err(std::io::Error::other)
                }
            })
            .try_flatten(),
    )
}

impl Oci {
    /// Starts an upload into the registry's current storage.
    ///
    /// # Errors
    /// When the storage cannot be resolved or the store fails.
    pub async fn start_upload(&self, registry: &Registry, repository: &str) -> OciResult<Upload> {
        let (storage, _) = self.packages.storage_for(registry).await?;
        let now = Utc::now();
        let upload = Upload {
            id: ulid::Ulid::new().to_string(),
            organization: registry.organization.clone(),
            registry_id: registry.id.clone(),
            repository: repository.to_owned(),
            storage,
            chunks: Vec::new(),
            size: 0,
            created_at: now,
            expires_at: now + UPLOAD_TTL,
        };
        let (pk, sk) = keys::oci_upload(&registry.id, &upload.id);
        let (expiry_pk, expiry_sk) = keys::oci_upload_expiry(upload.expires_at.timestamp(), &upload.id);
        self.store
            .write(vec![
                WriteOp::put(Item::from_value(pk, sk, 1, &upload)?, Condition::NotExists),
                WriteOp::put(Item::from_value(expiry_pk, expiry_sk, 1, &upload)?, Condition::NotExists),
            ])
            .await?;
        Ok(upload)
    }

    /// An upload of the repository and its record's version.
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN` when there is none.
    pub async fn upload(&self, registry: &Registry, repository: &str, id: &str) -> OciResult<(Upload, u64)> {
        let valid = id.len() == 26 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        let (pk, sk) = keys::oci_upload(&registry.id, id);
        let item = if valid { self.store.get(&pk, &sk).await? } else { None };
        let item = item.ok_or_else(|| unknown(id))?;
        let upload: Upload = item.to_value()?;
        if upload.repository != repository {
            return Err(unknown(id).into());
        }
        Ok((upload, item.version))
    }

    /// Appends `body` as the upload's next chunk. With `start` (a `Content-Range`), it must be where the
    /// upload ends.
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN`, `BLOB_UPLOAD_INVALID` (416) for a range out of order or a concurrent append,
    /// `SIZE_INVALID` (413) past `limit` bytes.
    pub async fn append(
        &self,
        registry: &Registry,
        repository: &str,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
        limit: u64,
    ) -> OciResult<Upload> {
        let (mut upload, version) = self.upload(registry, repository, id).await?;
        if let Some(start) = start
            && start != upload.size
        {
            return Err(Refusal::new(
                Code::BlobUploadInvalid,
                format!("the chunk starts at {start}, but the upload holds {} bytes", upload.size),
            )
            .with_status(416)
            .into());
        }
        if upload.chunks.len() >= MAX_CHUNKS {
            return refuse(Code::BlobUploadInvalid, format!("an upload may have at most {MAX_CHUNKS} chunks"));
        }
        let blobs = self.packages.blobs(&registry.organization, &upload.storage).await?;
        let index = upload.chunks.len().to_string();
        let key = StorageKey::new(&["oci", registry.id.as_str(), "uploads", id, index.as_str()]).map_err(blob_error)?;
        let too_large = Arc::new(AtomicBool::new(false));
        let size = match blobs.put_stream(&key, limited(body, limit, Arc::clone(&too_large))).await {
            Ok(size) => size,
            Err(_) if too_large.load(Ordering::Relaxed) => {
                return Err(Refusal::new(Code::SizeInvalid, format!("a chunk may be at most {limit} bytes"))
                    .with_status(413)
                    .into());
            }
            Err(error) => return Err(blob_error(error).into()),
        };
        if size == 0 {
            let _ = blobs.delete(&key).await;
            return Ok(upload);
        }
        upload.chunks.push(Chunk { key: key.to_string(), size });
        upload.size += size;
        let (pk, sk) = keys::oci_upload(&registry.id, id);
        let written = self
            .store
            .write(vec![WriteOp::put(Item::from_value(pk, sk, version + 1, &upload)?, Condition::Version(version))])
            .await;
        match written {
            Ok(()) => Ok(upload),
            Err(StoreError::ConditionFailed { .. } | StoreError::Contention) => {
                let _ = blobs.delete(&key).await;
                Err(Refusal::new(Code::BlobUploadInvalid, "another request changed this upload at the same time")
                    .with_status(416)
                    .into())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Completes an upload as the blob `digest`: checks the bytes against it, then stores them under the
    /// blob's key (unless the registry has the blob already) and records the blob. The upload goes either way.
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN`, `DIGEST_INVALID` when the bytes have another digest (nothing is stored).
    pub async fn complete(
        &self,
        registry: &Registry,
        repository: &str,
        id: &str,
        digest: &Digest,
    ) -> OciResult<BlobRecord> {
        let (upload, _) = self.upload(registry, repository, id).await?;
        let blobs = self.packages.blobs(&registry.organization, &upload.storage).await?;
        let mut hasher = Sha256::new();
        let mut bytes = chained(Arc::clone(&blobs), upload.chunks.clone());
        while let Some(chunk) =
            bytes.try_next().await.map_err(|error| blob_error(crate::ports::blob::BlobError::backend(error)))?
        {
            hasher.update(&chunk);
        }
        let actual = Digest::from_hex(&hex::encode(hasher.finalize()));
        if actual != *digest {
            self.discard(&upload).await;
            return refuse(Code::DigestInvalid, format!("the uploaded bytes have digest {actual}, not {digest}"));
        }
        let blob = match self.blob(registry, digest).await? {
            Some(blob) => {
                self.touch(registry, digest).await?;
                blob
            }
            None => {
                let key = blob_key(registry, digest)?;
                let size = blobs
                    .put_stream(&key, chained(Arc::clone(&blobs), upload.chunks.clone()))
                    .await
                    .map_err(blob_error)?;
                let now = Utc::now();
                let blob = BlobRecord {
                    digest: digest.to_string(),
                    size,
                    storage: upload.storage.clone(),
                    key: key.to_string(),
                    created_at: now,
                    idle_since: None,
                };
                self.record_new_blob(registry, &blob, &blobs, &key).await?
            }
        };
        self.discard(&upload).await;
        Ok(blob)
    }

    /// Cancels an upload: its chunks and its record go.
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN`.
    pub async fn cancel(&self, registry: &Registry, repository: &str, id: &str) -> OciResult<()> {
        let (upload, _) = self.upload(registry, repository, id).await?;
        self.discard(&upload).await;
        Ok(())
    }

    async fn discard(&self, upload: &Upload) {
        if let Err(error) = self.try_discard(upload).await {
            tracing::warn!(error = %error, "could not remove upload {}", upload.id);
        }
    }

    /// Removes an upload's chunks (a chunk that cannot be removed is logged), then its records.
    async fn try_discard(&self, upload: &Upload) -> Result<(), StoreError> {
        if let Ok(blobs) = self.packages.blobs(&upload.organization, &upload.storage).await {
            for chunk in &upload.chunks {
                if let Ok(key) = StorageKey::parse(&chunk.key)
                    && let Err(error) = blobs.delete(&key).await
                {
                    tracing::warn!(error = %error, "could not remove upload chunk {}", chunk.key);
                }
            }
        }
        let (pk, sk) = keys::oci_upload(&upload.registry_id, &upload.id);
        let (expiry_pk, expiry_sk) = keys::oci_upload_expiry(upload.expires_at.timestamp(), &upload.id);
        let ops =
            vec![WriteOp::delete(pk, sk, Condition::Always), WriteOp::delete(expiry_pk, expiry_sk, Condition::Always)];
        self.store.write(ops).await
    }

    /// Removes the uploads left unfinished past their expiry at `now`, with their chunks; returns how many.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut swept = 0;
        loop {
            let expired: Vec<Upload> =
                expired(&*self.store, keys::OCI_UPLOAD_EXPIRY_PARTITION, now, |upload: &Upload| upload.expires_at)
                    .await?;
            if expired.is_empty() {
                return Ok(swept);
            }
            for stale in expired {
                // The expiry entry is a copy from the start; the upload's record has its chunks.
                let (pk, sk) = keys::oci_upload(&stale.registry_id, &stale.id);
                let current = self.store.get(&pk, &sk).await?.map(|item| item.to_value::<Upload>()).transpose()?;
                self.try_discard(&current.unwrap_or(stale)).await?;
                swept += 1;
            }
        }
    }
}
