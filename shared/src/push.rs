//! `packyard push`: publishes a file to a files registry through the presigned upload flow (a `.deb` goes to
//! its Debian registry through the packages API instead, see [`package_file`]). The file is
//! hashed, an upload is started, the bytes go straight to storage (one PUT, or parts in parallel, each read
//! from the file at its offset and retried on its own), and the upload is completed. Memory stays flat for
//! any size: no part is ever held whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use progress::{Phase, Progress};

pub use journal::Journal;

pub mod journal;
mod package_file;
mod progress;

/// What to push, and where.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The server's base URL, e.g. `https://packages.example.com`.
    pub url: String,
    pub token: String,
    pub org: String,
    pub registry: String,
    pub file: PathBuf,
    /// Both or neither: without them the server reads the name and version out of the filename.
    pub name: Option<String>,
    pub version: Option<String>,
    /// How many parts are in flight at once.
    pub parallel: usize,
    /// Ask for parts even when one PUT could take the file.
    pub parts: bool,
    /// Whether to draw a progress line on stderr (the CLI draws one when stderr is a terminal).
    pub progress: bool,
}

/// Why a push failed; its `Display` never includes a token or a presigned URL.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot read {path}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The server or the storage answered with an error status.
    #[error("{what}: {status}: {message}")]
    Refused { what: String, status: u16, message: String },
    /// The request never got an answer. The presigned URL is left out, so it never reaches a log.
    #[error("{what}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the server's answer was not understood: {0}")]
    Protocol(String),
    /// The file is not the package its name says it is; nothing was sent.
    #[error("{path} cannot be pushed: {reason}")]
    NotAPackage { path: String, reason: String },
}

impl PushError {
    /// Whether sending the same request again may succeed.
    fn is_transient(&self) -> bool {
        match self {
            Self::Refused { status, .. } => *status >= 500 || *status == 429,
            Self::Http { .. } => true,
            Self::File { .. } | Self::Protocol(_) | Self::NotAPackage { .. } => false,
        }
    }

    fn http(what: impl Into<String>, source: reqwest::Error) -> Self {
        Self::Http { what: what.into(), source: source.without_url() }
    }
}

/// How many times one part is sent before the push gives up.
const ATTEMPTS: u32 = 5;
/// How much of the file one read takes; each part streams in chunks of this size.
const CHUNK: usize = 256 * 1024;

#[derive(Deserialize)]
struct Started {
    id: String,
    #[serde(default)]
    url: Option<String>,
    /// What the single PUT must send: the SHA-256 it is bound to.
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    /// The first batch of part URLs, for an upload in parts.
    #[serde(flatten)]
    batch: PartBatch,
}

/// Signed part URLs, as the start of an upload and `GET .../parts?first=N` answer them.
#[derive(Deserialize)]
struct PartBatch {
    #[serde(default)]
    parts: Vec<PartUrl>,
    #[serde(default)]
    part_size: Option<u64>,
    #[serde(default)]
    part_count: Option<u32>,
    #[serde(default)]
    more_parts: Option<String>,
}

#[derive(Deserialize)]
struct PartUrl {
    number: u32,
    url: String,
}

/// Pushes `options.file` and answers the published package as the server describes it.
///
/// A rerun after an interruption starts a new upload and sends every part again; the abandoned upload is
/// swept by the server's housekeeping when it expires.
///
/// # Errors
/// When the file cannot be read, the server refuses (a bad token, an existing version, a digest mismatch),
/// or a part still fails after [`ATTEMPTS`] tries.
pub async fn push(options: &PushOptions) -> Result<Value, PushError> {
    let path = &options.file;
    let file_error = |source| PushError::File { path: path.display().to_string(), source };
    let metadata = tokio::fs::metadata(path).await.map_err(file_error)?;
    if !metadata.is_file() {
        return Err(file_error(std::io::Error::other("not a regular file")));
    }
    let size = metadata.len();
    let filename = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| file_error(std::io::Error::other("the file name is not UTF-8")))?
        .to_owned();

    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("packyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| PushError::http("cannot build an HTTP client", error))?;
    let api = Api { client: &client, token: &options.token };
    if package_file::kind(&filename).is_some() {
        return package_file::push(options, &api, &filename, size).await;
    }

    let progress = Progress::start(&filename, size, options.progress);
    progress.phase(Phase::Hashing);
    let mut clock = std::time::Instant::now();
    let sha256 = hash_file(path, &progress).await.map_err(file_error)?;
    lap(&mut clock, "hash");
    let uploads = format!(
        "{}/v1/organizations/{}/registries/{}/uploads",
        options.url.trim_end_matches('/'),
        options.org,
        options.registry
    );
    let mut request = json!({"filename": filename, "size": size, "sha256": sha256, "parts": options.parts});
    if let (Some(name), Some(version)) = (&options.name, &options.version) {
        request["name"] = json!(name);
        request["version"] = json!(version);
    }
    // A push in parts that was interrupted left a journal: the same push continues its upload.
    let journal_path = journal::state_dir().map(|dir| journal::path_for(&dir, &uploads, &sha256, size));
    let (started, journal) = match resume(&api, &uploads, journal_path.as_deref()).await {
        Some(resumed) => resumed,
        None => {
            let started: Started = api.call(api.client.post(&uploads).json(&request), "starting the upload").await?;
            let journal = Journal { id: started.id.clone(), done: Default::default() };
            (started, journal)
        }
    };

    lap(&mut clock, "start");
    progress.phase(Phase::Uploading);
    let sender = Sender { client: &client, path, size, progress: &progress };
    let completion = match &started.url {
        Some(url) => {
            sender.put_with_retries(url, &started.headers, 0, size, "uploading").await?;
            json!({})
        }
        None => {
            let journal = Journaled { journal: std::sync::Mutex::new(journal), path: journal_path.clone() };
            json!({ "parts": upload_parts(&api, &sender, &started, &journal, options.parallel.max(1)).await? })
        }
    };
    lap(&mut clock, "send");
    progress.phase(Phase::Completing);
    let url = format!("{uploads}/{}/complete", started.id);
    let published = api.call(api.client.post(url).json(&completion), "completing the upload").await;
    // Completed or refused for good: either way the upload is over, and so is its journal.
    if !published.as_ref().is_err_and(PushError::is_transient)
        && let Some(path) = &journal_path
    {
        let _ = std::fs::remove_file(path);
    }
    progress.finish();
    lap(&mut clock, "complete");
    published
}

/// The upload a journal at `path` names, when the server still has it: its part URLs signed again, and
/// the parts already sent. A journal whose upload expired is removed.
async fn resume(api: &Api<'_>, uploads: &str, path: Option<&Path>) -> Option<(Started, Journal)> {
    let path = path?;
    let journal = Journal::load(path)?;
    let url = format!("{uploads}/{}/parts?first=1", journal.id);
    match api.call::<PartBatch>(api.client.get(url), "resuming the upload").await {
        Ok(batch) => {
            tracing::info!(
                upload = %journal.id,
                "resuming upload {}: {} of {} parts already sent",
                journal.id,
                journal.done.len(),
                batch.part_count.unwrap_or_default()
            );
            let started = Started { id: journal.id.clone(), url: None, headers: Default::default(), batch };
            Some((started, journal))
        }
        Err(error) => {
            tracing::info!("the interrupted upload {} cannot be continued ({error}); starting again", journal.id);
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// A journal and where it is kept; each part sent is written down at once.
struct Journaled {
    journal: std::sync::Mutex<Journal>,
    path: Option<PathBuf>,
}

impl Journaled {
    fn sent(&self, number: u32) -> Option<String> {
        self.journal.lock().ok()?.done.get(&number).cloned()
    }

    fn record(&self, number: u32, etag: &str) {
        let Ok(mut journal) = self.journal.lock() else { return };
        journal.done.insert(number, etag.to_owned());
        if let Some(path) = &self.path
            && let Err(error) = journal.save(path)
        {
            tracing::warn!(
                "cannot keep the push's journal at {} ({error}); an interrupted push will start over",
                path.display()
            );
        }
    }
}

/// Logs how long a step of the push took (at debug level: `RUST_LOG=packyard=debug`; scripts/bench-push
/// reads these lines) and starts timing the next.
fn lap(clock: &mut std::time::Instant, step: &str) {
    tracing::debug!(
        step,
        seconds = clock.elapsed().as_secs_f64(),
        "push timing: {step} {:.2} s",
        clock.elapsed().as_secs_f64()
    );
    *clock = std::time::Instant::now();
}

/// The file's SHA-256, read in chunks off the async runtime.
async fn hash_file(path: &Path, progress: &Progress) -> std::io::Result<String> {
    let path = path.to_owned();
    let done = Arc::clone(&progress.done);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; 1024 * 1024];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            done.fetch_add(read as u64, Ordering::Relaxed);
        }
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Sends every part, `parallel` at a time, fetching the next batch of signed URLs as each runs out, and
/// answers the parts' numbers and ETags in order, as the completion wants them.
async fn upload_parts(
    api: &Api<'_>,
    sender: &Sender<'_>,
    started: &Started,
    journal: &Journaled,
    parallel: usize,
) -> Result<Vec<Value>, PushError> {
    let (Some(part_size), Some(part_count)) = (started.batch.part_size, started.batch.part_count) else {
        return Err(PushError::Protocol("a multipart upload came without part_size and part_count".into()));
    };
    if part_size == 0 || u64::from(part_count) != sender.size.div_ceil(part_size) {
        return Err(PushError::Protocol(format!("{part_count} parts of {part_size} bytes do not fit the file")));
    }
    let mut done: Vec<(u32, String)> = Vec::with_capacity(part_count as usize);
    let mut batch: Vec<(u32, String)> =
        started.batch.parts.iter().map(|part| (part.number, part.url.clone())).collect();
    let mut next = started.batch.more_parts.clone();
    loop {
        let sent: Vec<(u32, String)> = stream::iter(batch)
            .map(|(number, url)| async move {
                if number == 0 || number > part_count {
                    return Err(PushError::Protocol(format!("part {number} of {part_count}")));
                }
                let offset = u64::from(number - 1) * part_size;
                let length = part_size.min(sender.size - offset);
                if let Some(etag) = journal.sent(number) {
                    sender.progress.done.fetch_add(length, Ordering::Relaxed);
                    return Ok((number, etag));
                }
                let etag = sender
                    .put_with_retries(&url, &Default::default(), offset, length, &format!("uploading part {number}"))
                    .await?;
                journal.record(number, &etag);
                Ok((number, etag))
            })
            .buffer_unordered(parallel)
            .try_collect()
            .await?;
        done.extend(sent);
        let Some(url) = next else { break };
        let page: PartBatch = api.call(api.client.get(url), "fetching the next part URLs").await?;
        batch = page.parts.into_iter().map(|part| (part.number, part.url)).collect();
        next = page.more_parts;
    }
    done.sort_unstable_by_key(|(number, _)| *number);
    done.dedup_by_key(|(number, _)| *number);
    if done.len() != part_count as usize {
        return Err(PushError::Protocol(format!("{} of {part_count} parts were signed", done.len())));
    }
    Ok(done.into_iter().map(|(number, etag)| json!({"number": number, "etag": etag})).collect())
}

/// Calls the Packyard API with the token.
struct Api<'a> {
    client: &'a reqwest::Client,
    token: &'a str,
}

impl Api<'_> {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<T, PushError> {
        let response = request.bearer_auth(self.token).send().await.map_err(|error| PushError::http(what, error))?;
        let response = check(response, what).await?;
        let bytes = response.bytes().await.map_err(|error| PushError::http(what, error))?;
        serde_json::from_slice(&bytes).map_err(|error| PushError::Protocol(format!("{what}: {error}")))
    }
}

/// Sends byte ranges of the file to presigned URLs (no token: the URL is the permission).
struct Sender<'a> {
    client: &'a reqwest::Client,
    path: &'a Path,
    size: u64,
    progress: &'a Progress,
}

impl Sender<'_> {
    /// PUTs `length` bytes from `offset`, again on a 5xx or a broken connection with a growing pause, and
    /// answers the ETag storage gave them.
    async fn put_with_retries(
        &self,
        url: &str,
        headers: &std::collections::BTreeMap<String, String>,
        offset: u64,
        length: u64,
        what: &str,
    ) -> Result<String, PushError> {
        let mut attempt = 1;
        loop {
            let sent = Arc::new(AtomicU64::new(0));
            match self.put(url, headers, offset, length, &sent, what).await {
                Ok(etag) => return Ok(etag),
                Err(error) if attempt < ATTEMPTS && error.is_transient() => {
                    self.progress.done.fetch_sub(sent.load(Ordering::Relaxed), Ordering::Relaxed);
                    let pause = Duration::from_millis(500 * 2_u64.pow(attempt - 1));
                    tracing::warn!(attempt, "{what} failed ({error}); trying again in {pause:?}");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn put(
        &self,
        url: &str,
        headers: &std::collections::BTreeMap<String, String>,
        offset: u64,
        length: u64,
        sent: &Arc<AtomicU64>,
        what: &str,
    ) -> Result<String, PushError> {
        let file_error = |source| PushError::File { path: self.path.display().to_string(), source };
        let mut file = tokio::fs::File::open(self.path).await.map_err(file_error)?;
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(file_error)?;
        let done = Arc::clone(&self.progress.done);
        let sent_here = Arc::clone(sent);
        let chunks = tokio_util::io::ReaderStream::with_capacity(file.take(length), CHUNK).inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                sent_here.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        });
        let mut request = self.client.put(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .map_err(|error| PushError::http(what, error))?;
        let response = check(response, what).await?;
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|value| value.to_str().ok());
        Ok(etag.unwrap_or_default().to_owned())
    }
}

/// The response when its status is a success; otherwise an error carrying the server's message on one
/// line (Packyard's JSON envelope, or the first line of whatever else answered, such as S3's XML).
async fn check(response: reqwest::Response, what: &str) -> Result<reqwest::Response, PushError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
        .or_else(|| xml_message(&text))
        .unwrap_or_else(|| text.lines().find(|line| !line.trim().is_empty()).unwrap_or("").chars().take(200).collect());
    let message = if message.is_empty() { status.canonical_reason().unwrap_or("").to_owned() } else { message };
    Err(PushError::Refused { what: what.to_owned(), status: status.as_u16(), message })
}

/// The `<Code>` and `<Message>` of an S3 error document.
fn xml_message(text: &str) -> Option<String> {
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].trim().to_owned())
    };
    match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (code, message) => code.or(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_error_document_reads_as_its_code_and_message() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert_eq!(xml_message(xml).as_deref(), Some("AccessDenied: Request has expired"));
        assert_eq!(xml_message("plain text"), None);
    }

    #[test]
    fn only_server_errors_throttling_and_broken_connections_are_retried() {
        let refused = |status| PushError::Refused { what: "x".into(), status, message: String::new() };
        assert!(refused(503).is_transient() && refused(429).is_transient());
        assert!(!refused(403).is_transient() && !refused(422).is_transient());
        assert!(!PushError::Protocol("x".into()).is_transient());
    }
}
