//! Request bodies on their way in: a body (or one field of a form) is spooled to a temporary file while
//! its size is counted against the deployment's limit and its digests are computed, so that no body is held
//! in memory, an oversized one is refused before anything is stored, and an ecosystem can read what it
//! needs (a manifest inside an archive) from the file before the bytes go to storage.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::error::ApiError;
use crate::domain::package::{DigestHasher, Digests};
use crate::ports::blob::{ByteStream, file_stream};

/// A temporary file, removed when dropped unless [`TempFile::keep`] took it, so a request that fails
/// or is dropped mid-await (a client that went away) leaves nothing behind.
#[derive(Debug)]
pub struct TempFile(Option<PathBuf>);

impl TempFile {
    /// A new, unique path in `dir` (created if missing).
    ///
    /// # Errors
    /// When `dir` cannot be created.
    pub fn new_in(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self(Some(dir.join(ulid::Ulid::new().to_string()))))
    }

    pub fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or_else(|| Path::new(""))
    }

    /// Gives up the removal: the file now belongs to whoever moved it into place.
    pub fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// How old a spooled file must be before [`remove_stale`] takes it: far longer than any request lasts, so
/// only what a killed process left behind goes.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes the files in `dir` last written more than `older_than` ago: the spools of a process that was
/// killed before it could remove them (a request's own spool is removed when the request ends). Returns how
/// many it removed.
pub fn remove_stale(dir: &Path, older_than: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let stale = |entry: &std::fs::DirEntry| {
        entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|meta| meta.modified().ok())
            .is_some_and(|modified| modified.elapsed().is_ok_and(|age| age > older_than))
    };
    entries.flatten().filter(stale).filter(|entry| std::fs::remove_file(entry.path()).is_ok()).count()
}

/// A body spooled to a temporary file, with its size and digests. The file goes when this is dropped.
#[derive(Debug)]
pub struct Spooled {
    file: TempFile,
    pub size: u64,
    pub digests: Digests,
}

impl Spooled {
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The spooled bytes as a stream, for the blob store.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub async fn stream(&self) -> std::io::Result<ByteStream> {
        file_stream(self.path()).await
    }

    /// The spooled bytes, whole: only for bodies known to be small (a JSON document).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub async fn read_all(&self) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path()).await
    }
}

/// Why a body could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the body is larger than the {limit} bytes accepted here")]
    TooLarge { limit: u64 },
    /// The body broke off: the client went away or sent something unreadable.
    #[error("the body could not be read: {0}")]
    Body(#[source] std::io::Error),
    #[error("the body could not be written to a temporary file")]
    Disk(#[source] std::io::Error),
}

/// Spools `body` to a temporary file in `dir`, refusing it as soon as it passes `limit` bytes.
///
/// # Errors
/// [`SpoolError::TooLarge`] past the limit (nothing is kept), [`SpoolError::Body`] when the body breaks
/// off, [`SpoolError::Disk`] when the file cannot be written.
pub async fn spool<S, E>(body: S, limit: u64, dir: &Path) -> Result<Spooled, SpoolError>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let file = TempFile::new_in(dir).map_err(SpoolError::Disk)?;
    let mut out = tokio::fs::File::create(file.path()).await.map_err(SpoolError::Disk)?;
    let mut hasher = DigestHasher::default();
    let mut size: u64 = 0;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| SpoolError::Body(std::io::Error::other(error)))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(SpoolError::TooLarge { limit });
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(SpoolError::Disk)?;
    }
    out.flush().await.map_err(SpoolError::Disk)?;
    Ok(Spooled { file, size, digests: hasher.finish() })
}

/// A spool written from blocking code (a task that unpacks a body into one of its parts), hashing and
/// counting what passes, and refusing to grow past its limit.
pub struct SpoolWriter {
    file: TempFile,
    out: std::io::BufWriter<std::fs::File>,
    hasher: DigestHasher,
    size: u64,
    limit: u64,
}

impl SpoolWriter {
    /// A new spool in `dir`.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn create(dir: &Path, limit: u64) -> std::io::Result<Self> {
        let file = TempFile::new_in(dir)?;
        let out = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(file.path())?);
        Ok(Self { file, out, hasher: DigestHasher::default(), size: 0, limit })
    }

    /// The spooled bytes, flushed.
    ///
    /// # Errors
    /// When the file cannot be flushed.
    pub fn finish(mut self) -> std::io::Result<Spooled> {
        use std::io::Write;
        self.out.flush()?;
        Ok(Spooled { file: self.file, size: self.size, digests: self.hasher.finish() })
    }
}

impl std::io::Write for SpoolWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.size + bytes.len() as u64 > self.limit {
            return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "the part is larger than allowed"));
        }
        let written = self.out.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl From<SpoolError> for ApiError {
    fn from(error: SpoolError) -> Self {
        use axum::http::StatusCode;
        match error {
            SpoolError::TooLarge { limit } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is larger than the {limit} bytes this deployment accepts"),
            ),
            SpoolError::Body(error) => {
                Self::bad_request("upload_interrupted", format!("the request body could not be read: {error}"))
            }
            SpoolError::Disk(error) => Self::internal(&error),
        }
    }
}

/// What reads a spooled body again: buffered, and seekable (a zip is read from its end).
pub type SpoolReader = std::io::BufReader<std::fs::File>;

impl Spooled {
    /// Runs `read` on the spooled bytes off the async threads: an ecosystem's look inside an archive.
    ///
    /// # Errors
    /// What `read` answers; a file that cannot be opened or a panic is an internal error.
    pub async fn read_with<T: Send + 'static>(
        &self,
        read: impl FnOnce(SpoolReader) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let path = self.path().to_owned();
        blocking(move || {
            read(std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path).map_err(internal)?))
        })
        .await
    }
}

/// Spools `body`, then reads it again off the async threads while `extract` copies the one part the client
/// framed inside it into a spool of its own, hashed and counted like any: npm's tarball out of its JSON
/// document, cargo's `.crate` out of its length prefixes. The whole body's spool goes once `extract` is done.
/// Returns what `extract` read besides the part, and the part.
///
/// # Errors
/// The body's [`SpoolError`] as its 4xx, what `extract` answers, and internal errors for the disk.
pub async fn spool_part<T: Send + 'static>(
    body: axum::body::Body,
    limit: u64,
    dir: &Path,
    extract: impl FnOnce(SpoolReader, &mut SpoolWriter) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, Spooled), ApiError> {
    let whole = spool(body.into_data_stream(), limit, dir).await?;
    let dir = dir.to_owned();
    whole
        .read_with(move |input| {
            let mut part = SpoolWriter::create(&dir, limit).map_err(internal)?;
            let read = extract(input, &mut part)?;
            Ok((read, part.finish().map_err(internal)?))
        })
        .await
}

/// A failure of the disk under a spool, answered as Packyard's own.
fn internal(error: std::io::Error) -> ApiError {
    ApiError::internal(&error)
}

/// Runs blocking work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| ApiError::internal(&error))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: Vec<Result<&'static [u8], std::io::Error>>) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::iter(parts.into_iter().map(|part| part.map(Bytes::from_static)))
    }

    #[tokio::test]
    async fn a_body_is_spooled_with_its_size_and_digests_and_removed_when_dropped() {
        let dir = std::env::temp_dir().join(format!("spool-test-{}", ulid::Ulid::new()));
        let spooled = spool(chunks(vec![Ok(b"hello "), Ok(b"world")]), 11, &dir).await.unwrap();
        assert_eq!((spooled.size, spooled.digests.clone()), (11, Digests::of(b"hello world")));
        assert_eq!(spooled.read_all().await.unwrap(), b"hello world");
        let path = spooled.path().to_owned();
        drop(spooled);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn only_files_older_than_the_limit_are_swept() {
        let dir = std::env::temp_dir().join(format!("spool-test-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fresh"), b"x").unwrap();
        assert_eq!(remove_stale(&dir, STALE_AFTER), 0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(remove_stale(&dir, std::time::Duration::from_millis(10)), 1);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn an_oversized_or_broken_body_leaves_no_file() {
        let dir = std::env::temp_dir().join(format!("spool-test-{}", ulid::Ulid::new()));
        let too_large = spool(chunks(vec![Ok(b"hello "), Ok(b"world")]), 10, &dir).await.unwrap_err();
        assert!(matches!(too_large, SpoolError::TooLarge { limit: 10 }));
        let broken = spool(chunks(vec![Ok(b"hello"), Err(std::io::Error::other("gone"))]), 100, &dir).await;
        assert!(matches!(broken, Err(SpoolError::Body(_))));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
