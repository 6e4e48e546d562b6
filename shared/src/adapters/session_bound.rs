//! The blob store of an AWS storage link: S3 through the link's assumed-role session, with every presigned
//! URL's lifetime capped at what is left of the session that signs it.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::link_credentials::AssumedRole;
use super::s3::S3BlobStore;
use crate::ports::blob::{BlobError, BlobMeta, BlobStore, ByteStream, CompletedPart, StorageKey};

#[derive(Debug, thiserror::Error)]
#[error("cannot assume the storage link's role: {0}")]
struct SessionError(String);

/// [`BlobStore`] on a customer's bucket through an assumed role.
#[derive(Clone, Debug)]
pub struct SessionBoundBlobStore {
    inner: S3BlobStore,
    session: AssumedRole,
}

impl SessionBoundBlobStore {
    /// `inner` must sign with `session` (see `LinkClients::aws_s3`).
    pub fn new(inner: S3BlobStore, session: AssumedRole) -> Self {
        Self { inner, session }
    }

    /// How long a URL signed now may live: `ttl`, or less when the session ends sooner.
    async fn capped(&self, ttl: Duration) -> Result<Duration, BlobError> {
        let left = self.session.remaining().await.map_err(|failure| {
            BlobError::backend(SessionError(format!("{}: {}", failure.code.unwrap_or_default(), failure.detail)))
        })?;
        Ok(ttl.min(left))
    }

    /// What is left of the session the next request will sign with.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the role cannot be assumed.
    pub async fn session_remaining(&self) -> Result<Duration, BlobError> {
        self.capped(Duration::MAX).await
    }
}

#[async_trait]
impl BlobStore for SessionBoundBlobStore {
    async fn put_stream(&self, key: &StorageKey, body: ByteStream) -> Result<u64, BlobError> {
        self.inner.put_stream(key, body).await
    }

    async fn get(&self, key: &StorageKey) -> Result<Bytes, BlobError> {
        self.inner.get(key).await
    }

    async fn get_stream(&self, key: &StorageKey) -> Result<ByteStream, BlobError> {
        self.inner.get_stream(key).await
    }

    async fn copy_within(&self, from: &StorageKey, to: &StorageKey) -> Result<Option<u64>, BlobError> {
        self.inner.copy_within(from, to).await
    }

    async fn head(&self, key: &StorageKey) -> Result<Option<BlobMeta>, BlobError> {
        self.inner.head(key).await
    }

    async fn retire(&self, key: &StorageKey) -> Result<(), BlobError> {
        self.inner.retire(key).await
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), BlobError> {
        self.inner.delete(key).await
    }

    async fn presign_get(&self, key: &StorageKey, ttl: Duration) -> Result<String, BlobError> {
        let ttl = self.capped(ttl).await?;
        self.inner.presign_get(key, ttl).await
    }

    async fn presign_put(&self, key: &StorageKey, ttl: Duration, sha256: Option<&str>) -> Result<String, BlobError> {
        let ttl = self.capped(ttl).await?;
        self.inner.presign_put(key, ttl, sha256).await
    }

    async fn start_multipart(&self, key: &StorageKey) -> Result<String, BlobError> {
        self.inner.start_multipart(key).await
    }

    async fn presign_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<String, BlobError> {
        let ttl = self.capped(ttl).await?;
        self.inner.presign_part(key, upload_id, number, ttl).await
    }

    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), BlobError> {
        self.inner.complete_multipart(key, upload_id, parts).await
    }

    async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), BlobError> {
        self.inner.abort_multipart(key, upload_id).await
    }
}
