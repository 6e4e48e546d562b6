//! Files whose registry reads the package out of the file itself (an `.rpm`'s header names it, its version
//! and its architecture) go through the packages API's form in one streamed request rather than the
//! presigned upload flow, whose completion only knows a files registry's name-version file names.

use std::time::Duration;

use serde_json::Value;

use super::{PushError, PushOptions, check};

/// Whether `filename` is published through the form.
pub fn publishes(filename: &str) -> bool {
    filename.ends_with(".rpm")
}

/// Streams `options.file` (`size` bytes) as the form's `file` field and answers the published package.
///
/// # Errors
/// When the file cannot be opened or the server refuses it (not an RPM, a misnamed file, an existing
/// version, a file over the direct upload limit).
pub async fn publish(options: &PushOptions, filename: &str, size: u64) -> Result<Value, PushError> {
    let what = "publishing the package";
    let file = tokio::fs::File::open(&options.file)
        .await
        .map_err(|source| PushError::File { path: options.file.display().to_string(), source })?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
    let part = reqwest::multipart::Part::stream_with_length(body, size).file_name(filename.to_owned());
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("packyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| PushError::http("cannot build an HTTP client", error))?;
    let url = format!(
        "{}/v1/organizations/{}/registries/{}/packages",
        options.url.trim_end_matches('/'),
        options.org,
        options.registry
    );
    let response = client
        .post(url)
        .bearer_auth(&options.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .map_err(|error| PushError::http(what, error))?;
    let bytes = check(response, what).await?.bytes().await.map_err(|error| PushError::http(what, error))?;
    serde_json::from_slice(&bytes).map_err(|error| PushError::Protocol(format!("{what}: {error}")))
}
