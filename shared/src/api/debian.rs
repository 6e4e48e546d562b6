//! Debian (apt) registries at `/deb/{org}/{registry}`, the root of `deb [signed-by=...] URL any main`:
//! the signing key (`gpgkey`), the signed suite (`dists/any/InRelease`, `Release`, `Release.gpg`), the
//! indexes (`dists/any/main/binary-{arch}/Packages`, `.gz`, `by-hash/SHA256/{digest}`) and the pool
//! (`pool/main/{name}/{version}/{file}.deb`, a redirect to a presigned URL). Publishing and deleting go
//! through the packages API, which reads each `.deb`'s control file once and keeps it with the version.
//!
//! The suite is stored, not rendered per request (see [`crate::service::debian_suite`]): a publish or a
//! delete regenerates it from the control records, writing every index under its SHA-256 before the Release
//! that lists it, and the Release tells apt to fetch by hash, so a client that read one Release always gets
//! exactly the indexes it lists, even while a publish or a delete changes the registry. Each request signs
//! the stored Release with the keys that sign at that moment (two during a key rotation's overlap).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::packages::download;
use super::signed_repo::{get_stored, is_sha256, key_response, repo_registry, uncached};
use super::signing::registry_key;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::domain::storage::StorageRef;
use crate::service::debian_suite::by_hash_key;

/// The one suite and component Packyard serves: `deb URL any main`.
const SUITE: &str = "any";

pub fn routes(state: AppState) -> Router {
    let base = "/deb/{org}/{registry}";
    Router::new()
        .route(&format!("{base}/gpgkey"), get(get_key))
        .route(&format!("{base}/dists/{{suite}}/{{file}}"), get(get_release))
        .route(&format!("{base}/dists/{{suite}}/main/{{binary}}/{{file}}"), get(get_index))
        .route(&format!("{base}/dists/{{suite}}/main/{{binary}}/by-hash/SHA256/{{digest}}"), get(get_by_hash))
        .route(&format!("{base}/pool/main/{{name}}/{{version}}/{{file}}"), get(download_deb))
        .with_state(state)
}

/// The registry, once the caller may read it, if it holds Debian packages.
async fn deb_registry(state: &AppState, caller: Option<&Caller>, org: &str, registry: &str) -> ApiResult<Registry> {
    repo_registry(state, caller, (org, registry), Ecosystem::Debian, "Debian packages").await
}

fn check_suite(suite: &str) -> ApiResult<()> {
    if suite == SUITE {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no suite {suite}; Packyard serves one suite: `deb URL any main`")))
    }
}

/// `GET gpgkey`: the registry's public key, armored, for `/etc/apt/keyrings/{registry}.asc`.
async fn get_key(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Response> {
    key_response(&state, &deb_registry(&state, caller.as_ref(), &org, &registry).await?).await
}

/// `GET dists/any/{InRelease, Release, Release.gpg}`: the suite, signed with the registry's key.
async fn get_release(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, suite, file)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    check_suite(&suite)?;
    if !["InRelease", "Release", "Release.gpg"].contains(&file.as_str()) {
        return Err(ApiError::not_found(format!("no file {file} in dists/{suite}")));
    }
    let registry = deb_registry(&state, caller.as_ref(), &org, &registry).await?;
    let key = registry_key(&state, &registry).await?;
    let suite = state.packages.debian_suite(&registry).await?;
    let signed = match file.as_str() {
        "InRelease" => key.clearsign(&suite.release),
        "Release.gpg" => key.detached(suite.release.as_bytes()),
        _ => Ok(suite.release),
    };
    Ok(uncached(signed.map_err(|error| ApiError::internal(&error))?, "text/plain; charset=utf-8"))
}

/// `GET dists/any/main/binary-{arch}/Packages[.gz, .xz]`: the index the current Release lists (apt
/// prefers `by-hash`).
async fn get_index(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, suite, binary, file)): Path<(String, String, String, String, String)>,
) -> ApiResult<Response> {
    check_suite(&suite)?;
    let registry = deb_registry(&state, caller.as_ref(), &org, &registry).await?;
    let path = format!("main/{binary}/{file}");
    let stored = state.packages.debian_suite(&registry).await?;
    let sha256 =
        stored.files.get(&path).ok_or_else(|| ApiError::not_found(format!("no index {path} in dists/{suite}")))?;
    stored_index(&state, &registry, &stored.storage, sha256)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("the index {path} is being regenerated; read InRelease again")))
}

/// An index by its digest, from the storage the suite keeps its indexes in.
async fn stored_index(
    state: &AppState,
    registry: &Registry,
    storage: &StorageRef,
    sha256: &str,
) -> ApiResult<Option<Response>> {
    let blobs = state.packages.blobs(&registry.organization, storage).await?;
    let stored = get_stored(&*blobs, &by_hash_key(&registry.id, sha256)?).await?;
    Ok(stored.map(|bytes| uncached(bytes, "application/octet-stream")))
}

/// `GET dists/any/main/binary-{arch}/by-hash/SHA256/{digest}`: an index a Release listed, by its digest,
/// kept for a day after the last Release that listed it was replaced.
async fn get_by_hash(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, suite, _binary, digest)): Path<(String, String, String, String, String)>,
) -> ApiResult<Response> {
    check_suite(&suite)?;
    let registry = deb_registry(&state, caller.as_ref(), &org, &registry).await?;
    let missing = || ApiError::not_found(format!("no index with SHA-256 {digest}"));
    if !is_sha256(&digest) {
        return Err(missing());
    }
    let storage = match state.packages.stored_suite(&registry).await? {
        Some((suite, _)) => suite.storage,
        None => return Err(missing()),
    };
    stored_index(&state, &registry, &storage, &digest.to_ascii_lowercase()).await?.ok_or_else(missing)
}

/// `GET pool/main/{name}/{version}/{file}`: a redirect to a short-lived presigned URL; `HEAD` answers
/// from metadata.
async fn download_deb(
    State(state): State<AppState>,
    caller: Option<Caller>,
    method: Method,
    Path((org, registry, name, version, file)): Path<(String, String, String, String, String)>,
) -> ApiResult<Response> {
    let registry = deb_registry(&state, caller.as_ref(), &org, &registry).await?;
    let package = state
        .packages
        .get_version(&registry, &name, &version)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no {name} {version} in this registry")))?;
    let stored =
        package.file(&file).ok_or_else(|| ApiError::not_found(format!("{name} {version} has no file {file}")))?;
    download(&state, &registry, stored, &method).await
}
