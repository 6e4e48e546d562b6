//! The blob port: where package bytes live, and presigned URLs that let clients move them directly.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

/// Bytes on their way to storage, a chunk at a time, so that no body is ever held whole.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A [`ByteStream`] of one chunk already in memory.
pub fn single_chunk(bytes: Bytes) -> ByteStream {
    Box::pin(futures_util::stream::once(async move { Ok(bytes) }))
}

/// A [`ByteStream`] that reads a file from its start, a buffer at a time.
///
/// # Errors
/// When the file cannot be opened.
pub async fn file_stream(path: &std::path::Path) -> std::io::Result<ByteStream> {
    let file = tokio::fs::File::open(path).await?;
    Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)))
}

/// A storage key built only from validated segments, so no request text can climb out of its prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    /// Joins segments with `/`. Each is 1-255 bytes of ASCII letters, digits, `.`, `_`, `-`, `+`, `@`, not
    /// `.` or `..`.
    ///
    /// # Errors
    /// Names the first segment that is not acceptable.
    pub fn new<S: AsRef<str>>(segments: &[S]) -> Result<Self, BlobError> {
        if segments.is_empty() {
            return Err(BlobError::InvalidKey("a storage key needs at least one segment".into()));
        }
        for segment in segments {
            let segment = segment.as_ref();
            let allowed = segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+@".contains(&b));
            if segment.is_empty() || segment.len() > 255 || !allowed || segment == "." || segment == ".." {
                return Err(BlobError::InvalidKey(format!("storage key segment {segment:?} is not allowed")));
            }
        }
        Ok(Self(segments.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("/")))
    }

    /// Parses a key that was formatted by [`StorageKey::new`], e.g. from a signed URL path.
    ///
    /// # Errors
    /// When any segment is not acceptable.
    pub fn parse(key: &str) -> Result<Self, BlobError> {
        Self::new(&key.split('/').collect::<Vec<_>>())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is known of a stored object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub size: u64,
    /// The object's SHA-256 as the store verified it on the way in (base64, S3's `x-amz-checksum-sha256`),
    /// when the store keeps one.
    pub sha256: Option<String>,
}

/// The header a presigned PUT bound to a SHA-256 must carry, with the base64 digest it was signed for:
/// the store refuses other bytes (S3 `BadDigest`) and any other value (the signature no longer matches).
pub const CHECKSUM_HEADER: &str = "x-amz-checksum-sha256";

/// A part of a multipart upload, as the client reports it after uploading through a presigned part URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub number: u32,
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0}")]
    InvalidKey(String),
    #[error("no object at {0}")]
    NotFound(String),
    /// A multipart upload that cannot be completed as asked (unknown id, missing or mismatched part).
    #[error("{0}")]
    InvalidUpload(String),
    /// The storage refused or failed; the cause chain says why.
    #[error("blob storage failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BlobError {
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// The blob port. Adapters: [`crate::adapters::s3::S3BlobStore`] and
/// [`crate::adapters::local_blob::LocalBlobStore`] (the dev server's default).
///
/// Writes are atomic: an object is either absent or complete.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the bytes of `body` at `key`, replacing what was there, and returns how many there were.
    /// Memory stays flat for any size: the object appears only once complete, and a body that fails
    /// midway leaves nothing behind (no object, no temporary file, no unfinished multipart upload).
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage or the body fails.
    async fn put_stream(&self, key: &StorageKey, body: ByteStream) -> Result<u64, BlobError>;

    /// Stores `body` at `key`, replacing what was there.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage fails.
    async fn put(&self, key: &StorageKey, body: Bytes) -> Result<(), BlobError> {
        self.put_stream(key, single_chunk(body)).await.map(drop)
    }

    /// The object's bytes.
    ///
    /// # Errors
    /// [`BlobError::NotFound`] when there is none.
    async fn get(&self, key: &StorageKey) -> Result<Bytes, BlobError>;

    /// The object's bytes as a stream, a buffer at a time, for objects of any size.
    ///
    /// # Errors
    /// [`BlobError::NotFound`] when there is none.
    async fn get_stream(&self, key: &StorageKey) -> Result<ByteStream, BlobError>;

    /// Copies the object at `from` to `to` within this store without its bytes leaving the store (S3's
    /// `CopyObject`), and returns its size; `None` when this store cannot (S3 copies at most 5 GiB in one
    /// request), and the caller streams it instead.
    ///
    /// # Errors
    /// [`BlobError::NotFound`] when there is no object at `from`.
    async fn copy_within(&self, from: &StorageKey, to: &StorageKey) -> Result<Option<u64>, BlobError>;

    /// The object's metadata, or `None` when there is none.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage fails.
    async fn head(&self, key: &StorageKey) -> Result<Option<BlobMeta>, BlobError>;

    /// Removes the object; removing a missing object succeeds.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage fails.
    async fn delete(&self, key: &StorageKey) -> Result<(), BlobError>;

    /// Takes a deleted package's file out of use. Stores that hand deletions to their owner's lifecycle
    /// rule (a customer's linked bucket) tag the object `packyard-deleted=true` and keep it; the others
    /// delete it.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage fails.
    async fn retire(&self, key: &StorageKey) -> Result<(), BlobError> {
        self.delete(key).await
    }

    /// A URL that lets anyone holding it GET the object until `ttl` passes.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when a URL cannot be signed.
    async fn presign_get(&self, key: &StorageKey, ttl: Duration) -> Result<String, BlobError>;

    /// A URL that lets anyone holding it PUT the object until `ttl` passes. With `sha256` (base64), the URL
    /// is bound to those bytes: the PUT must send [`CHECKSUM_HEADER`] with that value, and the store refuses
    /// a body whose SHA-256 differs, so nothing wrong is ever stored and nothing needs reading back.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when a URL cannot be signed.
    async fn presign_put(&self, key: &StorageKey, ttl: Duration, sha256: Option<&str>) -> Result<String, BlobError>;

    /// Starts a multipart upload and returns its id.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage fails.
    async fn start_multipart(&self, key: &StorageKey) -> Result<String, BlobError>;

    /// A URL to PUT part `number` (1-based) of a multipart upload; the response's `ETag` identifies the part.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when a URL cannot be signed.
    async fn presign_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<String, BlobError>;

    /// Assembles the parts, in order, into the object.
    ///
    /// # Errors
    /// [`BlobError::InvalidUpload`] for an unknown upload or a part that is missing or does not match.
    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), BlobError>;

    /// Abandons a multipart upload and frees its parts.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the storage fails.
    async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), BlobError>;
}
