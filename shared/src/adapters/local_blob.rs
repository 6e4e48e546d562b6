//! The local-disk blob store, the dev server's default: files under a directory, and signed URLs in the
//! spirit of S3's presigned ones (method, key, expiry and upload part bound by an HMAC) that the dev server
//! itself verifies and serves under `/_blobs/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;
use crate::api::spool::TempFile;
use futures_util::StreamExt;

use crate::ports::blob::{BlobError, BlobMeta, BlobStore, ByteStream, CHECKSUM_HEADER, CompletedPart, StorageKey};

type HmacSha256 = Hmac<Sha256>;

/// [`BlobStore`] on a local directory.
#[derive(Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
    base_url: String,
    signing_key: Arc<[u8; 32]>,
}

fn io(error: std::io::Error) -> BlobError {
    BlobError::backend(error)
}

impl LocalBlobStore {
    /// Opens the store in `root`, whose signed URLs start with `base_url` (where [`Self::router`] is served).
    /// The signing key is created on first use and kept in `root/signing.key`, so URLs survive restarts.
    ///
    /// # Errors
    /// When the directory or the key cannot be created or read.
    pub fn open(root: &Path, base_url: &str) -> Result<Self, BlobError> {
        for dir in ["objects", "multipart", "tmp"] {
            std::fs::create_dir_all(root.join(dir)).map_err(io)?;
        }
        let key_path = root.join("signing.key");
        let signing_key = match std::fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => bytes.try_into().unwrap_or([0; 32]),
            _ => {
                let mut key = [0_u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(&key_path, &key).map_err(io)?;
                key
            }
        };
        Ok(Self {
            root: root.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            signing_key: Arc::new(signing_key),
        })
    }

    fn object_path(&self, key: &StorageKey) -> PathBuf {
        self.root.join("objects").join(key.as_str())
    }

    fn upload_dir(&self, upload_id: &str) -> Result<PathBuf, BlobError> {
        if upload_id.len() != 26 || ulid::Ulid::from_string(upload_id).is_err() {
            return Err(BlobError::InvalidUpload(format!("unknown upload {upload_id:?}")));
        }
        Ok(self.root.join("multipart").join(upload_id))
    }

    /// Writes through a temporary file and a rename, so readers never see half an object.
    async fn write_atomically(&self, target: &Path, body: &[u8]) -> Result<(), BlobError> {
        let temporary = self.root.join("tmp").join(ulid::Ulid::new().to_string());
        tokio::fs::write(&temporary, body).await.map_err(io)?;
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        tokio::fs::rename(&temporary, target).await.map_err(io)
    }

    /// The HMAC of a signed request: method, key, expiry, upload part and, for a PUT bound to a SHA-256, the
    /// checksum its [`CHECKSUM_HEADER`] must carry (empty otherwise), as S3 signs that header.
    fn signature(
        &self,
        method: &Method,
        key: &StorageKey,
        expires: u64,
        part: Option<(&str, u32)>,
        checksum: &str,
    ) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.signing_key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        let (upload_id, number) = part.unwrap_or_default();
        mac.update(format!("{method}\n{key}\n{expires}\n{upload_id}\n{number}\n{checksum}").as_bytes());
        mac
    }

    fn sign(
        &self,
        method: &Method,
        key: &StorageKey,
        ttl: Duration,
        part: Option<(&str, u32)>,
        checksum: Option<&str>,
    ) -> String {
        let expires = unix_now().saturating_add(ttl.as_secs().max(1));
        let mac = self.signature(method, key, expires, part, checksum.unwrap_or_default());
        let signature = hex::encode(mac.finalize().into_bytes());
        let mut url = format!("{}/_blobs/{key}?expires={expires}&signature={signature}", self.base_url);
        if let Some((upload_id, number)) = part {
            url.push_str(&format!("&uploadId={upload_id}&partNumber={number}"));
        }
        url
    }

    /// Checks a signed request: unexpired, and signed for this method, key and part.
    fn verify(&self, method: &Method, key: &StorageKey, params: &SignedParams, checksum: &str) -> Result<(), ApiError> {
        let forbidden = |message: &str| ApiError::new(StatusCode::FORBIDDEN, "signature_rejected", message);
        if params.expires < unix_now() {
            return Err(forbidden("this signed URL has expired; ask Packyard for a new one"));
        }
        let signature = hex::decode(&params.signature).map_err(|_| forbidden("the signature is malformed"))?;
        let part = params.upload_id.as_deref().zip(params.part_number);
        self.signature(method, key, params.expires, part, checksum)
            .verify_slice(&signature)
            .map_err(|_| forbidden("the signature does not match this URL; it may have been altered"))
    }

    /// The routes that serve this store's signed URLs; the dev server mounts them.
    pub fn router(self) -> Router {
        Router::new()
            .route("/_blobs/{*key}", get(get_signed).put(put_signed))
            // Presigned uploads are how large files arrive, so the API's body limit does not apply.
            .layer(DefaultBodyLimit::disable())
            .with_state(self)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

#[derive(Deserialize)]
struct SignedParams {
    expires: u64,
    signature: String,
    #[serde(rename = "uploadId")]
    upload_id: Option<String>,
    #[serde(rename = "partNumber")]
    part_number: Option<u32>,
}

fn parse_key(key: &str) -> Result<StorageKey, ApiError> {
    StorageKey::parse(key).map_err(|_| ApiError::not_found("no such object"))
}

fn blob_error(error: BlobError) -> ApiError {
    match error {
        BlobError::NotFound(_) => ApiError::not_found("no such object"),
        BlobError::InvalidKey(message) | BlobError::InvalidUpload(message) => {
            ApiError::bad_request("invalid_upload", message)
        }
        BlobError::Backend(error) => ApiError::internal(error.as_ref()),
    }
}

async fn get_signed(
    State(store): State<LocalBlobStore>,
    UrlPath(key): UrlPath<String>,
    Query(params): Query<SignedParams>,
) -> Result<Response, ApiError> {
    let key = parse_key(&key)?;
    // A HEAD is signed as the GET it stands for, as with S3.
    store.verify(&Method::GET, &key, &params, "")?;
    let file = match tokio::fs::File::open(store.object_path(&key)).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("no such object"));
        }
        Err(error) => return Err(ApiError::internal(&error)),
    };
    let size = file.metadata().await.map_err(|error| ApiError::internal(&error))?.len();
    // Streamed from the file, so a download of any size holds only a buffer in memory.
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, STREAM_BUFFER));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}

/// The signature and expiry are checked before a byte of the body is read, and the body is streamed to
/// disk, so neither an unsigned request nor a large upload can fill the server's memory.
async fn put_signed(
    State(store): State<LocalBlobStore>,
    UrlPath(key): UrlPath<String>,
    Query(params): Query<SignedParams>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let key = parse_key(&key)?;
    let checksum = headers.get(CHECKSUM_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
    store.verify(&Method::PUT, &key, &params, checksum)?;
    let expected = match checksum {
        "" => None,
        checksum => Some(decode_checksum(checksum).ok_or_else(|| {
            ApiError::bad_request("invalid_checksum", format!("{CHECKSUM_HEADER} is not a base64 SHA-256"))
        })?),
    };
    // A part goes to its upload's folder (its ETag recorded beside it), an object to its key (its checksum
    // recorded for HEAD).
    let part = match params.upload_id.as_deref().zip(params.part_number) {
        Some((upload_id, number)) => {
            let dir = store.upload_dir(upload_id).map_err(blob_error)?;
            if !tokio::fs::try_exists(&dir).await.unwrap_or(false) {
                return Err(ApiError::not_found(format!("no multipart upload {upload_id}")));
            }
            Some((dir, number))
        }
        None => None,
    };
    let target = match &part {
        Some((dir, number)) => dir.join(number.to_string()),
        None => store.object_path(&key),
    };
    let body: ByteStream = Box::pin(body.into_data_stream().map(|chunk| chunk.map_err(std::io::Error::other)));
    let (_, sha256) = store.write_stream(&target, body, expected).await.map_err(|error| match error {
        StreamError::Body(error) => {
            ApiError::bad_request("upload_interrupted", format!("the upload was interrupted: {error}"))
        }
        StreamError::Digest => ApiError::bad_request(
            "BadDigest",
            format!("the body does not match the {CHECKSUM_HEADER} this URL was signed for; nothing was stored"),
        ),
        StreamError::Blob(error) => blob_error(error),
    })?;
    let etag = format!("\"{sha256}\"");
    match &part {
        Some((dir, number)) => tokio::fs::write(dir.join(format!("{number}.etag")), &etag)
            .await
            .map_err(|error| ApiError::internal(&error))?,
        None => store.record_checksum(&key, &sha256).await.map_err(blob_error)?,
    }
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// How much of a streamed body is read or written at a time.
const STREAM_BUFFER: usize = 256 * 1024;

/// Why a streamed write failed: the body broke off (a client that went away), it was not the bytes its
/// checksum promised, or the disk failed.
enum StreamError {
    Body(std::io::Error),
    Digest,
    Blob(BlobError),
}

/// A base64 SHA-256 as 32 bytes.
fn decode_checksum(checksum: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(checksum).ok()?.try_into().ok()
}

impl LocalBlobStore {
    /// Streams `body` to a temporary file while hashing it, then renames it to `target` (only when its
    /// SHA-256 is `expected`, if given). Returns the size and the hex SHA-256 of the bytes.
    async fn write_stream(
        &self,
        target: &Path,
        mut stream: ByteStream,
        expected: Option<[u8; 32]>,
    ) -> Result<(u64, String), StreamError> {
        use tokio::io::AsyncWriteExt;
        let disk = |error: std::io::Error| StreamError::Blob(io(error));
        let temporary = TempFile::new_in(&self.root.join("tmp")).map_err(disk)?;
        let path = temporary.path().to_owned();
        let mut file = tokio::fs::File::create(&path).await.map_err(disk)?;
        let mut hasher = Sha256::new();
        let mut size = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(StreamError::Body)?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(disk)?;
        }
        file.flush().await.map_err(disk)?;
        drop(file);
        let digest: [u8; 32] = hasher.finalize().into();
        if expected.is_some_and(|expected| expected != digest) {
            return Err(StreamError::Digest);
        }
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(disk)?;
        }
        tokio::fs::rename(&path, target).await.map_err(disk)?;
        temporary.keep();
        Ok((size, hex::encode(digest)))
    }

    /// Where an object's SHA-256 is kept, beside (not among) the objects, for [`BlobStore::head`].
    fn checksum_path(&self, key: &StorageKey) -> PathBuf {
        self.root.join("checksums").join(key.as_str())
    }

    /// Keeps an object's SHA-256 (hex in, base64 kept, as S3 reports it).
    async fn record_checksum(&self, key: &StorageKey, sha256: &str) -> Result<(), BlobError> {
        use base64::Engine;
        let raw = hex::decode(sha256).map_err(BlobError::backend)?;
        self.write_atomically(
            &self.checksum_path(key),
            base64::engine::general_purpose::STANDARD.encode(raw).as_bytes(),
        )
        .await
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put_stream(&self, key: &StorageKey, body: ByteStream) -> Result<u64, BlobError> {
        match self.write_stream(&self.object_path(key), body, None).await {
            Ok((size, sha256)) => {
                self.record_checksum(key, &sha256).await?;
                Ok(size)
            }
            Err(StreamError::Body(error)) => Err(BlobError::backend(error)),
            Err(StreamError::Digest) => Err(BlobError::InvalidUpload("the body does not match its checksum".into())),
            Err(StreamError::Blob(error)) => Err(error),
        }
    }

    async fn get(&self, key: &StorageKey) -> Result<Bytes, BlobError> {
        match tokio::fs::read(self.object_path(key)).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound(key.to_string())),
            Err(error) => Err(io(error)),
        }
    }

    async fn get_stream(&self, key: &StorageKey) -> Result<ByteStream, BlobError> {
        match crate::ports::blob::file_stream(&self.object_path(key)).await {
            Ok(stream) => Ok(stream),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound(key.to_string())),
            Err(error) => Err(io(error)),
        }
    }

    async fn copy_within(&self, from: &StorageKey, to: &StorageKey) -> Result<Option<u64>, BlobError> {
        let body = self.get_stream(from).await?;
        self.put_stream(to, body).await.map(Some)
    }

    async fn head(&self, key: &StorageKey) -> Result<Option<BlobMeta>, BlobError> {
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(metadata) if metadata.is_file() => {
                let sha256 = tokio::fs::read_to_string(self.checksum_path(key)).await.ok();
                Ok(Some(BlobMeta { size: metadata.len(), sha256 }))
            }
            Ok(_) => Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io(error)),
        }
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), BlobError> {
        let _ = tokio::fs::remove_file(self.checksum_path(key)).await;
        match tokio::fs::remove_file(self.object_path(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io(error)),
            _ => Ok(()),
        }
    }

    async fn presign_get(&self, key: &StorageKey, ttl: Duration) -> Result<String, BlobError> {
        Ok(self.sign(&Method::GET, key, ttl, None, None))
    }

    async fn presign_put(&self, key: &StorageKey, ttl: Duration, sha256: Option<&str>) -> Result<String, BlobError> {
        Ok(self.sign(&Method::PUT, key, ttl, None, sha256))
    }

    async fn start_multipart(&self, key: &StorageKey) -> Result<String, BlobError> {
        let upload_id = ulid::Ulid::new().to_string();
        let dir = self.upload_dir(&upload_id)?;
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        tokio::fs::write(dir.join("key"), key.as_str()).await.map_err(io)?;
        Ok(upload_id)
    }

    async fn presign_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        ttl: Duration,
    ) -> Result<String, BlobError> {
        if !(1..=10_000).contains(&number) {
            return Err(BlobError::InvalidUpload(format!("part number {number} is outside 1..=10000")));
        }
        Ok(self.sign(&Method::PUT, key, ttl, Some((upload_id, number)), None))
    }

    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), BlobError> {
        let dir = self.upload_dir(upload_id)?;
        let unknown = || BlobError::InvalidUpload(format!("unknown upload {upload_id:?} for {key}"));
        let recorded = tokio::fs::read_to_string(dir.join("key")).await.map_err(|_| unknown())?;
        if recorded != key.as_str() || parts.is_empty() {
            return Err(unknown());
        }
        let mut previous = 0;
        let mut files = Vec::with_capacity(parts.len());
        for part in parts {
            if part.number <= previous {
                return Err(BlobError::InvalidUpload("parts must be listed in ascending order".into()));
            }
            previous = part.number;
            // Each part's ETag was recorded as it streamed in, so nothing is read twice to check it.
            let recorded = tokio::fs::read_to_string(dir.join(format!("{}.etag", part.number)))
                .await
                .map_err(|_| BlobError::InvalidUpload(format!("part {} was never uploaded", part.number)))?;
            if recorded != part.etag {
                return Err(BlobError::InvalidUpload(format!("part {} does not match its ETag", part.number)));
            }
            files.push(dir.join(part.number.to_string()));
        }
        // The parts stream, one after another, into the object: memory holds a buffer, not the file.
        let mut chained: Vec<ByteStream> = Vec::with_capacity(files.len());
        for file in &files {
            chained.push(crate::ports::blob::file_stream(file).await.map_err(io)?);
        }
        self.put_stream(key, Box::pin(futures_util::stream::iter(chained).flatten())).await?;
        tokio::fs::remove_dir_all(&dir).await.map_err(io)
    }

    async fn abort_multipart(&self, _key: &StorageKey, upload_id: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_dir_all(self.upload_dir(upload_id)?).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io(error)),
            _ => Ok(()),
        }
    }
}
