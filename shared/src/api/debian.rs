//! Debian (apt) registries at `/deb/{org}/{registry}`, the root of `deb [signed-by=...] URL any main`:
//! the signing key (`gpgkey`), the signed suite (`dists/any/InRelease`, `Release`, `Release.gpg`), the
//! indexes (`dists/any/main/binary-{arch}/Packages`, `.gz`, `by-hash/SHA256/{digest}`) and the pool
//! (`pool/main/{name}/{version}/{file}.deb`, a redirect to a presigned URL). Publishing and deleting go
//! through the packages API, which reads each `.deb`'s control file once and keeps it with the version.
//!
//! Indexes are rendered from those control records whenever a Release is asked for, never from the files.
//! Every index a Release lists is first written to storage under its SHA-256, and the Release tells apt to
//! fetch by hash, so a client that read one Release always gets exactly the indexes it lists, even while a
//! publish or a delete changes the registry.

use std::collections::BTreeSet;
use std::io::Write as _;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use sha2::Digest as _;
use sha2::Sha256;

use super::AppState;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::packages::{describe, redirect_to};
use super::signed_repo::{get_stored, index_key, is_sha256, key_response, put_once, repo_registry, uncached};
use super::signing::registry_key;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::ecosystems::debian::{ARCHITECTURES, DebControl, IndexEntry, Listed, packages_file, release_file};
use crate::ports::blob::StorageKey;

/// The one suite and component Packyard serves: `deb URL any main`.
const SUITE: &str = "any";
/// How many versions a page of the listing holds while an index is rendered.
const PAGE: usize = 1000;

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

/// A rendered suite: the Release text and the index files it lists.
struct Suite {
    release: String,
    files: Vec<(Listed, Bytes)>,
}

/// The control records of every version in the registry, with where apt finds each file.
async fn index_entries(state: &AppState, registry: &Registry) -> ApiResult<Vec<IndexEntry>> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = state.packages.list(registry, None, after, PAGE).await?;
        for package in page {
            let (Ok(control), Some(file)) =
                (serde_json::from_value::<DebControl>(package.metadata["deb"].clone()), package.files.first())
            else {
                continue;
            };
            entries.push(IndexEntry {
                filename: format!("pool/main/{}/{}/{}", package.name, package.version, file.filename),
                size: file.size,
                sha256: file.digests.sha256.clone(),
                md5: None,
                control,
            });
        }
        match next {
            Some(next) => after = Some(next),
            None => return Ok(entries),
        }
    }
}

fn listed(path: String, bytes: &[u8]) -> Listed {
    Listed {
        path,
        size: bytes.len(),
        md5: hex::encode(<md5::Md5 as md5::Digest>::digest(bytes)),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

fn gzip(bytes: &[u8]) -> ApiResult<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).map_err(|error| ApiError::internal(&error))?;
    gz.finish().map_err(|error| ApiError::internal(&error))
}

/// Renders the suite from the control records: a Packages file (and its gzip) per architecture, packages
/// of architecture `all` in each.
async fn render_suite(state: &AppState, registry: &Registry) -> ApiResult<Suite> {
    let entries = index_entries(state, registry).await?;
    let mut architectures: BTreeSet<String> = ARCHITECTURES.iter().map(|a| (*a).to_owned()).collect();
    architectures.extend(entries.iter().map(|e| e.control.architecture.clone()).filter(|a| a != "all"));
    let mut files = Vec::new();
    for arch in &architectures {
        let chosen: Vec<&IndexEntry> =
            entries.iter().filter(|e| e.control.architecture == *arch || e.control.architecture == "all").collect();
        let packages = packages_file(&chosen).into_bytes();
        let gz = gzip(&packages)?;
        files.push((listed(format!("main/binary-{arch}/Packages.gz"), &gz), Bytes::from(gz)));
        files.push((listed(format!("main/binary-{arch}/Packages"), &packages), Bytes::from(packages)));
    }
    let architectures: Vec<String> = architectures.into_iter().collect();
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S UTC").to_string();
    let listing: Vec<&Listed> = files.iter().map(|(l, _)| l).collect();
    let release = release_file(&architectures, &date, &listing);
    Ok(Suite { release, files })
}

fn by_hash_key(registry: &Registry, sha256: &str) -> ApiResult<StorageKey> {
    index_key("debian-index", registry, sha256)
}

/// Writes each index the Release lists under its digest (once: the same bytes have the same key), so the
/// Release never names an index that cannot be fetched.
async fn store_by_hash(state: &AppState, registry: &Registry, suite: &Suite) -> ApiResult<()> {
    let mut written = BTreeSet::new();
    for (listed, bytes) in &suite.files {
        if written.insert(listed.sha256.clone()) {
            put_once(state, registry, &by_hash_key(registry, &listed.sha256)?, bytes.clone()).await?;
        }
    }
    Ok(())
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
    let rendered = render_suite(&state, &registry).await?;
    store_by_hash(&state, &registry, &rendered).await?;
    let signed = match file.as_str() {
        "InRelease" => key.clearsign(&rendered.release),
        "Release.gpg" => key.detached(rendered.release.as_bytes()),
        _ => Ok(rendered.release),
    };
    Ok(uncached(signed.map_err(|error| ApiError::internal(&error))?, "text/plain; charset=utf-8"))
}

/// `GET dists/any/main/binary-{arch}/Packages[.gz]`: the index as it is now (apt prefers `by-hash`).
async fn get_index(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, suite, binary, file)): Path<(String, String, String, String, String)>,
) -> ApiResult<Response> {
    check_suite(&suite)?;
    let registry = deb_registry(&state, caller.as_ref(), &org, &registry).await?;
    let path = format!("main/{binary}/{file}");
    let rendered = render_suite(&state, &registry).await?;
    let (_, bytes) = rendered
        .files
        .into_iter()
        .find(|(listed, _)| listed.path == path)
        .ok_or_else(|| ApiError::not_found(format!("no index {path} in dists/{suite}")))?;
    Ok(uncached(bytes, "application/octet-stream"))
}

/// `GET dists/any/main/binary-{arch}/by-hash/SHA256/{digest}`: an index a Release listed, by its digest.
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
    let key = by_hash_key(&registry, &digest.to_ascii_lowercase())?;
    let bytes = get_stored(&state, &registry, &key).await?.ok_or_else(missing)?;
    Ok(uncached(bytes, "application/octet-stream"))
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
    if method == Method::HEAD {
        return Ok(describe(stored));
    }
    redirect_to(&state, &registry, stored).await
}
