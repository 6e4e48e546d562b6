//! `packyard push` of a file that names its own package and version (a `.deb`): read and checked on this
//! machine first, so a file that is not what its name claims never leaves it, then sent to the packages API
//! as a multipart form streamed from disk, where the server reads it again and publishes it. The direct
//! route takes bodies up to the deployment's limit (6 MB in AWS, where a Lambda's payload ends).

use std::path::Path;

use serde_json::Value;

use super::{Api, PushError, PushOptions};
use crate::ecosystems::debian;

/// What a file that describes itself is, by its name's ending: `None` for any other file.
pub(super) fn kind(filename: &str) -> Option<&'static str> {
    filename.to_ascii_lowercase().ends_with(".deb").then_some("deb")
}

/// The package and version the file says it is, read from its control file (bounded, as the server does).
async fn describe(path: &Path) -> Result<(String, String), PushError> {
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&owned)?;
        Ok::<_, std::io::Error>(debian::read_deb(std::io::BufReader::new(file)))
    })
    .await
    .map_err(|error| PushError::File { path: path.display().to_string(), source: std::io::Error::other(error) })?
    .map_err(|source| PushError::File { path: path.display().to_string(), source })?;
    let control = read.map_err(|error| PushError::NotAPackage { path: path.display().to_string(), reason: error.0 })?;
    Ok((control.package, control.version))
}

/// Publishes `options.file`, which [`kind`] recognised, and answers the package as the server describes it.
///
/// # Errors
/// When the file is not a valid package, `--name`/`--version` were given (the file names itself), or the
/// server refuses it.
pub(super) async fn push(options: &PushOptions, api: &Api<'_>, filename: &str, size: u64) -> Result<Value, PushError> {
    if options.name.is_some() || options.version.is_some() {
        return Err(PushError::NotAPackage {
            path: options.file.display().to_string(),
            reason: "a .deb names its package and version in its control file; drop --name and --version".into(),
        });
    }
    let (package, version) = describe(&options.file).await?;
    tracing::info!("pushing {package} {version} ({filename}, {size} bytes)");
    let file = tokio::fs::File::open(&options.file)
        .await
        .map_err(|source| PushError::File { path: options.file.display().to_string(), source })?;
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, super::CHUNK));
    let part = reqwest::multipart::Part::stream_with_length(body, size).file_name(filename.to_owned());
    let url = format!(
        "{}/v1/organizations/{}/registries/{}/packages",
        options.url.trim_end_matches('/'),
        options.org,
        options.registry
    );
    let form = reqwest::multipart::Form::new().part("file", part);
    api.call(api.client.post(url).multipart(form), "publishing the package").await
}
