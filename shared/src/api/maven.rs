//! Maven repositories at `/maven/{org}/{registry}/`, in the Maven 2 layout `mvn deploy` and Gradle write and
//! read: `PUT` of artifact files (streamed to storage), checksum files checked against what was stored, and
//! `maven-metadata.xml` accepted but never kept: Packyard renders it from the stored versions and builds.
//! `GET` of a file redirects to a presigned URL; checksums and metadata answer from the records; `HEAD`
//! describes without touching storage. A release's files are written once; a SNAPSHOT takes new builds.
//!
//! Errors are Packyard's JSON envelope, with the message as the status line's reason too (Maven prints
//! that, not the body); a 401 carries a Basic challenge so Maven sends its `settings.xml` credentials.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::{DateTime, Utc};
use md5::Digest;
use serde_json::{Value, json};

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::error::{ApiError, basic_challenge, reason_phrase, reshape, shaped};
use super::packages::{describe, redirect_to};
use super::spool::{Spooled, spool};
use crate::domain::error::Error;
use crate::domain::names::Ecosystem;
use crate::domain::package::{Digests, Package, PackageFile};
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::maven::{
    Checksum, Coordinates, FileName, METADATA, POM_LIMIT, SNAPSHOT, Target, artifact_metadata, check_pom, file_name,
    is_snapshot, package_name, parse_path, snapshot_builds, snapshot_metadata,
};
use crate::service::publish::ReceivedFile;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/maven/{org}/{registry}/{*path}", any(maven).layer(super::streamed_body_limit(&state.config)))
        .layer(axum::middleware::from_fn(reshape::<MavenError>))
        .with_state(state)
}

/// Packyard's JSON error, with its message as the reason phrase and a Basic challenge on 401.
pub struct MavenError(ApiError);

impl<E: Into<ApiError>> From<E> for MavenError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for MavenError {
    fn into_response(self) -> Response {
        let message = self.0.message.clone();
        let mut response = self.0.into_response();
        reason_phrase(&mut response, &message);
        basic_challenge(&mut response);
        shaped(response)
    }
}

type MavenResult<T = Response> = Result<T, MavenError>;

fn bad(status: StatusCode, code: &'static str, message: impl Into<String>) -> MavenError {
    MavenError(ApiError::new(status, code, message))
}

/// The largest checksum or client-written `maven-metadata.xml` body read.
const SMALL_BODY_LIMIT: usize = 1024 * 1024;

async fn maven(
    State(state): State<AppState>,
    Path((org, registry, path)): Path<(String, String, String)>,
    parts: Parts,
    body: Body,
) -> MavenResult {
    let method = parts.method.clone();
    let scope = match method {
        Method::GET | Method::HEAD => Scope::ReadPackages,
        Method::PUT => Scope::WritePackages,
        other => {
            return Err(bad(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{other} is not supported here; delete versions through the packages API"),
            ));
        }
    };
    let caller = Caller::optional(&parts, &state).await?;
    let registry = registry_for(&state, caller.as_ref(), &org, &registry, scope).await?;
    if registry.ecosystem != Ecosystem::Maven {
        return Err(bad(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("registry {} holds {} packages, not Maven artifacts", registry.slug, registry.ecosystem),
        ));
    }
    let path = parse_path(&path).map_err(|e| match method {
        Method::PUT => bad(StatusCode::BAD_REQUEST, "invalid_path", e.0),
        _ => bad(StatusCode::NOT_FOUND, "not_found", e.0),
    })?;
    let request = Request { state: &state, registry: &registry };
    match (method, path.target, path.checksum) {
        (Method::PUT, Target::File(coordinates), None) => {
            let acting = caller
                .as_ref()
                .map(Caller::acting)
                .ok_or_else(|| Error::Unauthenticated("deploying needs a token".into()))?;
            request.put_file(&acting, coordinates, body).await
        }
        (Method::PUT, Target::File(coordinates), Some(kind)) => request.put_checksum(&coordinates, kind, body).await,
        // The client's metadata is read and dropped: what is served is rendered from what is stored.
        (Method::PUT, Target::Metadata(_), _) => {
            axum::body::to_bytes(body, SMALL_BODY_LIMIT)
                .await
                .map_err(|_| bad(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "maven-metadata.xml is too large"))?;
            Ok(StatusCode::CREATED.into_response())
        }
        (method, Target::File(coordinates), checksum) => {
            request.get_file(&coordinates, checksum, method == Method::HEAD).await
        }
        (_, Target::Metadata(folders), checksum) => request.get_metadata(&folders, checksum).await,
    }
}

/// What the handlers share.
struct Request<'a> {
    state: &'a AppState,
    registry: &'a Registry,
}

/// A hex digest as a checksum file holds it (some clients append the file name after a space).
fn checksum_response(hex: &str) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], hex.to_owned()).into_response()
}

fn digest_of(file: &PackageFile, md5: Option<&str>, kind: Checksum) -> Option<String> {
    match kind {
        Checksum::Md5 => md5.map(str::to_owned),
        Checksum::Sha1 => Some(file.digests.sha1.clone()),
        Checksum::Sha256 => Some(file.digests.sha256.clone()),
        Checksum::Sha512 => Some(file.digests.sha512.clone()),
    }
}

fn file_md5<'p>(package: &'p Package, filename: &str) -> Option<&'p str> {
    package.metadata["files"][filename]["md5"].as_str()
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(md5::Md5::digest(bytes))
}

/// When a version's files were last added: the newest `uploaded_at`, else its creation.
fn updated_at(package: &Package) -> DateTime<Utc> {
    package.metadata["files"]
        .as_object()
        .into_iter()
        .flat_map(|files| files.values())
        .filter_map(|file| file["uploaded_at"].as_str()?.parse::<DateTime<Utc>>().ok())
        .max()
        .unwrap_or(package.created_at)
}

fn xml_response(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml"), (header::CACHE_CONTROL, "no-cache")], xml).into_response()
}

impl Request<'_> {
    fn not_found(&self, what: &str) -> MavenError {
        bad(StatusCode::NOT_FOUND, "not_found", format!("{what} is not in registry {}", self.registry.slug))
    }

    async fn version(&self, coordinates: &Coordinates) -> MavenResult<Option<Package>> {
        Ok(self.state.packages.get_version(self.registry, &coordinates.name(), &coordinates.version).await?)
    }

    /// `PUT` of an artifact file: spooled while hashed (MD5 too, for `.md5` requests), then added to its
    /// version. A release's file name is written once; a second deploy of it is refused with 409.
    async fn put_file(&self, acting: &crate::service::Acting, coordinates: Coordinates, body: Body) -> MavenResult {
        let config = &self.state.config;
        let spooled = spool(body.into_data_stream(), config.max_body_bytes as u64, &config.spool_dir)
            .await
            .map_err(ApiError::from)?;
        if file_name(&coordinates).is_ok_and(|name| name.extension == "pom" && name.classifier.is_none()) {
            check_deployed_pom(&spooled, &coordinates).await?;
        }
        let md5 = md5_of(&spooled).await?;
        let received = ReceivedFile {
            filename: coordinates.filename.clone(),
            path: spooled.path().to_owned(),
            size: spooled.size,
            digests: spooled.digests.clone(),
        };
        let (name, filename) = (coordinates.name(), coordinates.filename.clone());
        let shown = json!({"group_id": coordinates.group_id, "artifact_id": coordinates.artifact_id});
        let uploaded_at = Utc::now();
        let update = move |metadata: &mut Value| {
            if !metadata.is_object() {
                *metadata = shown.clone();
            }
            metadata["files"][&filename] = json!({"md5": md5, "uploaded_at": uploaded_at});
        };
        self.state
            .packages
            .add_received_file(acting, self.registry, (&name, &coordinates.version), &received, update)
            .await
            .map_err(|error| match error {
                Error::Conflict(_) if !is_snapshot(&coordinates.version) => bad(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "{} was deployed to registry {} before; release versions are immutable, deploy a new version",
                        coordinates.filename, self.registry.slug
                    ),
                ),
                other => other.into(),
            })?;
        tracing::info!(
            registry.slug = %self.registry.slug, package.name = %name,
            "deployed {} to {name}:{}", coordinates.filename, coordinates.version
        );
        Ok(StatusCode::CREATED.into_response())
    }

    /// `PUT` of a checksum file: checked against the stored file's digest, then dropped (checksums are
    /// served from the records).
    async fn put_checksum(&self, coordinates: &Coordinates, kind: Checksum, body: Body) -> MavenResult {
        let body = axum::body::to_bytes(body, SMALL_BODY_LIMIT)
            .await
            .map_err(|_| bad(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "a checksum file is one digest"))?;
        let sent = String::from_utf8_lossy(&body).split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        let package = self.version(coordinates).await?;
        let file = package.as_ref().and_then(|package| package.file(&coordinates.filename));
        let (Some(package), Some(file)) = (&package, file) else {
            return Err(self.not_found(&format!("{}; deploy it before its checksum", coordinates.filename)));
        };
        let stored = digest_of(file, file_md5(package, &file.filename), kind).unwrap_or_default();
        if sent != stored {
            return Err(bad(
                StatusCode::BAD_REQUEST,
                "checksum_mismatch",
                format!(
                    "{} was stored with {} {stored}, but the checksum file says {sent:?}",
                    coordinates.filename,
                    kind.name()
                ),
            ));
        }
        Ok(StatusCode::CREATED.into_response())
    }

    /// `GET`/`HEAD` of a file or its checksum. A bare `-SNAPSHOT` file name means the newest build's file.
    async fn get_file(&self, coordinates: &Coordinates, checksum: Option<Checksum>, head: bool) -> MavenResult {
        let package = self.version(coordinates).await?.ok_or_else(|| self.not_found(&coordinates.filename))?;
        let file = match package.file(&coordinates.filename) {
            Some(file) => file,
            None => newest_snapshot_file(&package, coordinates).ok_or_else(|| self.not_found(&coordinates.filename))?,
        };
        match checksum {
            Some(kind) => digest_of(file, file_md5(&package, &file.filename), kind)
                .map(|hex| checksum_response(&hex))
                .ok_or_else(|| self.not_found(&format!("the {} of {}", kind.name(), coordinates.filename))),
            None if head => Ok(describe(file)),
            None => Ok(redirect_to(self.state, self.registry, file).await?),
        }
    }

    /// `GET`/`HEAD` of a `maven-metadata.xml` (or its checksum): a SNAPSHOT version's when the folder is
    /// one that is stored, else the artifact's of that folder.
    async fn get_metadata(&self, folders: &[String], checksum: Option<Checksum>) -> MavenResult {
        let xml = match self.snapshot_metadata(folders).await? {
            Some(xml) => xml,
            None => self.artifact_metadata(folders).await?,
        };
        match checksum {
            None => Ok(xml_response(xml)),
            Some(kind) => {
                let digests = Digests::of(xml.as_bytes());
                let hex = match kind {
                    Checksum::Md5 => md5_hex(xml.as_bytes()),
                    Checksum::Sha1 => digests.sha1,
                    Checksum::Sha256 => digests.sha256,
                    Checksum::Sha512 => digests.sha512,
                };
                Ok(checksum_response(&hex))
            }
        }
    }

    async fn snapshot_metadata(&self, folders: &[String]) -> MavenResult<Option<String>> {
        let [group @ .., artifact_id, version] = folders else { return Ok(None) };
        if group.is_empty() || !is_snapshot(version) {
            return Ok(None);
        }
        let coordinates = Coordinates {
            group_id: group.join("."),
            artifact_id: artifact_id.clone(),
            version: version.clone(),
            filename: String::new(),
        };
        let Some(package) = self.version(&coordinates).await? else { return Ok(None) };
        let files = file_names(&package, &coordinates);
        Ok(Some(snapshot_metadata(&coordinates, &files, updated_at(&package))))
    }

    async fn artifact_metadata(&self, folders: &[String]) -> MavenResult<String> {
        let not_found = || self.not_found(&format!("{}/{METADATA}", folders.join("/")));
        let [group @ .., artifact_id] = folders else { return Err(not_found()) };
        if group.is_empty() {
            return Err(not_found());
        }
        let group_id = group.join(".");
        let versions = self.state.packages.versions(self.registry, &package_name(&group_id, artifact_id)).await?;
        let updated = versions.iter().map(updated_at).max().ok_or_else(not_found)?;
        let names: Vec<String> = versions.into_iter().map(|package| package.version).collect();
        Ok(artifact_metadata(&group_id, artifact_id, &names, updated))
    }
}

/// A version's files as file names, the ones that read as such.
fn file_names(package: &Package, coordinates: &Coordinates) -> Vec<FileName> {
    package
        .files
        .iter()
        .filter_map(|file| file_name(&Coordinates { filename: file.filename.clone(), ..coordinates.clone() }).ok())
        .collect()
}

/// For `greet-1.0-SNAPSHOT-sources.jar`, the newest build's file of that classifier and extension.
fn newest_snapshot_file<'p>(package: &'p Package, coordinates: &Coordinates) -> Option<&'p PackageFile> {
    let base = coordinates.version.strip_suffix(SNAPSHOT)?;
    let wanted = file_name(coordinates).ok().filter(|name| name.build.is_none())?;
    let files = file_names(package, coordinates);
    let (_, newest) = snapshot_builds(&files);
    let found = newest.into_iter().find(|f| f.classifier == wanted.classifier && f.extension == wanted.extension)?;
    let value = found.build.as_ref()?.value(base);
    let classifier = found.classifier.as_ref().map(|c| format!("-{c}")).unwrap_or_default();
    package.file(&format!("{}-{value}{classifier}.{}", coordinates.artifact_id, found.extension))
}

/// Refuses a pom that names other coordinates than its path, before anything is stored.
async fn check_deployed_pom(spooled: &Spooled, coordinates: &Coordinates) -> MavenResult<()> {
    let invalid = |message: String| ApiError::bad_request("invalid_pom", message);
    if spooled.size > POM_LIMIT {
        return Err(
            invalid(format!("{} is larger than the {POM_LIMIT} bytes a pom may be", coordinates.filename)).into()
        );
    }
    let coordinates = coordinates.clone();
    Ok(spooled
        .read_with(move |input| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(input, POM_LIMIT), &mut bytes)
                .map_err(|error| ApiError::internal(&error))?;
            check_pom(&String::from_utf8_lossy(&bytes), &coordinates).map_err(|e| invalid(e.0))
        })
        .await?)
}

/// The MD5 of a spooled body, read off the async threads.
async fn md5_of(spooled: &Spooled) -> MavenResult<String> {
    Ok(spooled
        .read_with(|mut input| {
            let mut hasher = md5::Md5::new();
            let mut buffer = vec![0; 256 * 1024];
            loop {
                match std::io::Read::read(&mut input, &mut buffer) {
                    Ok(0) => return Ok(hex::encode(hasher.finalize())),
                    Ok(read) => hasher.update(&buffer[..read]),
                    Err(error) => return Err(ApiError::internal(&error)),
                }
            }
        })
        .await?)
}
