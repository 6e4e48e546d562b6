//! The S3 blob store: objects under an optional prefix of one bucket; presigned SigV4 URLs for transfers.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as S3CompletedPart, Tag, Tagging};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::ports::blob::{BlobError, BlobMeta, BlobStore, ByteStream, CHECKSUM_HEADER, CompletedPart, StorageKey};

/// The part size of a streamed upload: above S3's 5 MiB minimum, small enough that a 256 MB function
/// holds one part comfortably; 5 GiB takes 640 parts, well within S3's 10,000.
pub const STREAM_PART_SIZE: usize = 8 * 1024 * 1024;

/// The largest object one `CopyObject` copies.
const COPY_OBJECT_MAX: u64 = 5 * 1024 * 1024 * 1024;

/// Reads from `body` into `buffer` until it holds at least `size` bytes or the body ends.
async fn fill(body: &mut ByteStream, buffer: &mut BytesMut, size: usize) -> Result<(), BlobError> {
    while buffer.len() < size {
        match body.next().await {
            Some(chunk) => buffer.extend_from_slice(&chunk.map_err(BlobError::backend)?),
            None => break,
        }
    }
    Ok(())
}

/// [`BlobStore`] on an S3 bucket (AWS, or an S3-compatible endpoint configured on the client).
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
    /// Whether [`BlobStore::retire`] tags instead of deleting (a customer's bucket).
    tag_retired: bool,
}

/// The tag a retired object carries, for the bucket owner's lifecycle rule.
pub const RETIRED_TAG: (&str, &str) = ("packyard-deleted", "true");

impl S3BlobStore {
    /// Objects go to `bucket` under `prefix` (leading and trailing slashes are normalised away).
    pub fn new(client: Client, bucket: impl Into<String>, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        Self { client, bucket: bucket.into(), prefix, tag_retired: false }
    }

    /// The same store, but retiring an object tags it [`RETIRED_TAG`] and leaves it to the bucket's owner.
    #[must_use]
    pub fn tagging_retired(mut self) -> Self {
        self.tag_retired = true;
        self
    }

    fn object(&self, key: &StorageKey) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl S3BlobStore {
    /// An `UploadPart` of part `number` of upload `upload_id` of `key`, for sending or presigning.
    fn upload_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: i32,
    ) -> aws_sdk_s3::operation::upload_part::builders::UploadPartFluentBuilder {
        self.client.upload_part().bucket(&self.bucket).key(self.object(key)).upload_id(upload_id).part_number(number)
    }

    /// A `GetObject` of `key`, its absence as [`BlobError::NotFound`].
    async fn fetch(&self, key: &StorageKey) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, BlobError> {
        match self.client.get_object().bucket(&self.bucket).key(self.object(key)).send().await {
            Ok(output) => Ok(output),
            Err(error) => {
                let error = error.into_service_error();
                Err(if error.is_no_such_key() {
                    BlobError::NotFound(key.to_string())
                } else {
                    BlobError::backend(error)
                })
            }
        }
    }

    /// Sends `body`, which starts with `buffer`, as the parts of multipart upload `upload_id`, and
    /// completes it. Returns the size.
    async fn upload_parts(
        &self,
        key: &StorageKey,
        upload_id: &str,
        body: &mut ByteStream,
        mut buffer: BytesMut,
    ) -> Result<u64, BlobError> {
        let mut parts = Vec::new();
        let mut size = 0;
        loop {
            fill(body, &mut buffer, STREAM_PART_SIZE).await?;
            if buffer.is_empty() {
                break;
            }
            let part = buffer.split_to(buffer.len().min(STREAM_PART_SIZE)).freeze();
            size += part.len() as u64;
            let number = i32::try_from(parts.len() + 1).map_err(BlobError::backend)?;
            let output =
                self.upload_part(key, upload_id, number).body(S3Body::from(part)).send().await.map_err(service)?;
            let etag = output.e_tag.unwrap_or_default();
            parts.push(CompletedPart { number: number.unsigned_abs(), etag });
        }
        self.complete_multipart(key, upload_id, &parts).await?;
        Ok(size)
    }
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::expires_in(ttl).map_err(BlobError::backend)
}

fn service<E, R>(error: aws_sdk_s3::error::SdkError<E, R>) -> BlobError
where
    aws_sdk_s3::error::SdkError<E, R>: std::error::Error + Send + Sync + 'static,
{
    BlobError::backend(error)
}

#[async_trait]
impl BlobStore for S3BlobStore {
    /// One `PutObject` when the body fits in a part; otherwise a multipart upload of
    /// [`STREAM_PART_SIZE`] parts, aborted when the body or a part fails.
    async fn put_stream(&self, key: &StorageKey, mut body: ByteStream) -> Result<u64, BlobError> {
        let mut buffer = BytesMut::new();
        fill(&mut body, &mut buffer, STREAM_PART_SIZE + 1).await?;
        if buffer.len() <= STREAM_PART_SIZE {
            let size = buffer.len() as u64;
            self.put(key, buffer.freeze()).await?;
            return Ok(size);
        }
        let upload_id = self.start_multipart(key).await?;
        let uploaded = self.upload_parts(key, &upload_id, &mut body, buffer).await;
        if uploaded.is_err() {
            let _ = self.abort_multipart(key, &upload_id).await;
        }
        uploaded
    }

    async fn put(&self, key: &StorageKey, body: Bytes) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object(key))
            .body(S3Body::from(body))
            .send()
            .await
            .map_err(service)?;
        Ok(())
    }

    async fn get(&self, key: &StorageKey) -> Result<Bytes, BlobError> {
        let output = self.fetch(key).await?;
        Ok(output.body.collect().await.map_err(BlobError::backend)?.into_bytes())
    }

    async fn get_stream(&self, key: &StorageKey) -> Result<ByteStream, BlobError> {
        let output = self.fetch(key).await?;
        let reader = output.body.into_async_read();
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024)))
    }

    async fn copy_within(&self, from: &StorageKey, to: &StorageKey) -> Result<Option<u64>, BlobError> {
        let size = match self.head(from).await? {
            Some(meta) if meta.size <= COPY_OBJECT_MAX => meta.size,
            Some(_) => return Ok(None),
            None => return Err(BlobError::NotFound(from.to_string())),
        };
        // Keys are built from validated segments (letters, digits, `.`, `_`, `-`, `+`, `@`), so only `+` and
        // `@` need escaping in the copy source.
        let source = format!("{}/{}", self.bucket, self.object(from).replace('+', "%2B").replace('@', "%40"));
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(self.object(to))
            .copy_source(source)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(service)?;
        Ok(Some(size))
    }

    async fn head(&self, key: &StorageKey) -> Result<Option<BlobMeta>, BlobError> {
        let request = self.client.head_object().bucket(&self.bucket).key(self.object(key));
        match request.checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled).send().await {
            Ok(output) => Ok(Some(BlobMeta {
                size: output.content_length.unwrap_or_default().max(0).unsigned_abs(),
                sha256: output.checksum_sha256,
            })),
            Err(error) => {
                let error = error.into_service_error();
                if error.is_not_found() { Ok(None) } else { Err(BlobError::backend(error)) }
            }
        }
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), BlobError> {
        self.client.delete_object().bucket(&self.bucket).key(self.object(key)).send().await.map_err(service)?;
        Ok(())
    }

    async fn retire(&self, key: &StorageKey) -> Result<(), BlobError> {
        if !self.tag_retired {
            return self.delete(key).await;
        }
        let (name, value) = RETIRED_TAG;
        let tag = Tag::builder().key(name).value(value).build().map_err(BlobError::backend)?;
        let tagging = Tagging::builder().tag_set(tag).build().map_err(BlobError::backend)?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(self.object(key))
            .tagging(tagging)
            .send()
            .await
            .map_err(service)?;
        Ok(())
    }

    async fn presign_get(&self, key: &StorageKey, ttl: Duration) -> Result<String, BlobError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object(key))
            .presigned(presigning(ttl)?)
            .await
            .map_err(service)?;
        Ok(request.uri().to_owned())
    }

    async fn presign_put(&self, key: &StorageKey, ttl: Duration, sha256: Option<&str>) -> Result<String, BlobError> {
        let operation = self.client.put_object().bucket(&self.bucket).key(self.object(key));
        let request = match sha256 {
            // The SDK drops `checksum_sha256` when presigning (aws-sdk-rust#1103), so the header is added
            // before signing: it becomes a signed header, and S3 verifies the body against it.
            Some(sha256) => {
                let value = http::HeaderValue::from_str(sha256).map_err(BlobError::backend)?;
                operation
                    .customize()
                    .mutate_request(move |request| {
                        request.headers_mut().insert(CHECKSUM_HEADER, value.clone());
                    })
                    .presigned(presigning(ttl)?)
                    .await
            }
            None => operation.presigned(presigning(ttl)?).await,
        };
        Ok(request.map_err(service)?.uri().to_owned())
    }

    async fn start_multipart(&self, key: &StorageKey) -> Result<String, BlobError> {
        let output = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(self.object(key))
            .send()
            .await
            .map_err(service)?;
        output.upload_id.ok_or_else(|| BlobError::InvalidUpload("S3 returned no upload id".into()))
    }

    async fn presign_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<String, BlobError> {
        let number = i32::try_from(number)
            .map_err(|_| BlobError::InvalidUpload(format!("part number {number} is too large")))?;
        let request = self.upload_part(key, upload_id, number).presigned(presigning(ttl)?).await.map_err(service)?;
        Ok(request.uri().to_owned())
    }

    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), BlobError> {
        let parts = parts
            .iter()
            .map(|part| {
                let number = i32::try_from(part.number).unwrap_or(i32::MAX);
                S3CompletedPart::builder().part_number(number).e_tag(&part.etag).build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(self.object(key))
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|error| {
                BlobError::InvalidUpload(format!("S3 refused to complete the upload: {}", error.into_service_error()))
            })?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), BlobError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.object(key))
            .upload_id(upload_id)
            .send()
            .await
            .map_err(service)?;
        Ok(())
    }
}
