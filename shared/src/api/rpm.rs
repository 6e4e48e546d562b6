//! RPM (dnf/yum) registries at `/rpm/{org}/{registry}`, a repository's `baseurl`: the client configuration
//! (`packyard.repo`), the signing key (`gpgkey`), the signed index (`repodata/repomd.xml` and
//! `repodata/repomd.xml.asc`), the metadata it lists (`repodata/{sha256}-{primary,filelists,other}.xml.gz`)
//! and the packages (`Packages/{id}/{file}.rpm`, a redirect to a presigned URL). Publishing and deleting go
//! through the packages API, which reads each `.rpm`'s headers once and keeps the record with the version.
//!
//! The repodata is rendered from those records, never from the files. The first `repomd.xml` request after a
//! publish or a delete renders it anew, writes each metadata file under its SHA-256 (never overwritten nor
//! removed, so a client still reading an older `repomd.xml` finds every file it lists), signs the new
//! `repomd.xml` and only then replaces the registry's signed index, one object holding `repomd.xml` and its
//! signature together. An unchanged registry renders the same bytes and keeps its signature.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::packages::download;
use super::pagination::base_url;
use super::signed_repo::{get_stored, index_key, is_sha256, key_response, put_once, repo_registry, uncached};
use super::signing::registry_key;
use crate::domain::names::Ecosystem;
use crate::domain::registry::Registry;
use crate::ecosystems::rpm::RpmHeader;
use crate::ecosystems::rpm::repodata::{RepoEntry, render};
use crate::ports::blob::{BlobStore, StorageKey};

/// How many versions a page of the listing holds while the repodata is rendered.
const PAGE: usize = 1000;

pub fn routes(state: AppState) -> Router {
    let base = "/rpm/{org}/{registry}";
    Router::new()
        .route(&format!("{base}/gpgkey"), get(get_key))
        .route(&format!("{base}/packyard.repo"), get(get_repo_file))
        .route(&format!("{base}/repodata/{{file}}"), get(get_repodata))
        .route(&format!("{base}/Packages/{{id}}/{{file}}"), get(download_rpm))
        .with_state(state)
}

/// The registry, once the caller may read it, if it holds RPM packages.
async fn rpm_registry(state: &AppState, caller: Option<&Caller>, org: &str, registry: &str) -> ApiResult<Registry> {
    repo_registry(state, caller, (org, registry), Ecosystem::Rpm, "RPM packages").await
}

/// `GET gpgkey`: the registry's public key, armored, for the `.repo` file's `gpgkey`.
async fn get_key(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Response> {
    key_response(&state, &rpm_registry(&state, caller.as_ref(), &org, &registry).await?).await
}

/// `GET packyard.repo`: the repository section for `/etc/yum.repos.d/`, with `repo_gpgcheck` on; a private
/// registry's credentials are left for the user to fill in (never echoed back).
async fn get_repo_file(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let registry = rpm_registry(&state, caller.as_ref(), &org, &registry).await?;
    let base = format!("{}/rpm/{org}/{}", base_url(state.config.public_url.as_deref(), &headers), registry.slug);
    let credentials = if registry.public {
        ""
    } else {
        "# A token that may read this registry (any username; the token is the password):\nusername=token\npassword=<YOUR PACKYARD TOKEN>\n"
    };
    let text = format!(
        "[packyard-{org}-{slug}]\nname=Packyard {org}/{slug}\nbaseurl={base}\nenabled=1\n\
         # The repository metadata is signed with the registry's key; packages keep their builders' signatures.\n\
         repo_gpgcheck=1\ngpgcheck=0\ngpgkey={base}/gpgkey\n{credentials}",
        slug = registry.slug
    );
    Ok(uncached(text, "text/plain; charset=utf-8"))
}

/// The header records of every version in the registry, with where dnf finds each file.
async fn repo_entries(state: &AppState, registry: &Registry) -> ApiResult<Vec<RepoEntry>> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = state.packages.list(registry, None, after, PAGE).await?;
        for package in page {
            let (Ok(header), Some(file)) =
                (serde_json::from_value::<RpmHeader>(package.metadata["rpm"].clone()), package.files.first())
            else {
                continue;
            };
            entries.push(RepoEntry {
                location: format!("Packages/{}/{}", package.id, file.filename),
                sha256: file.digests.sha256.clone(),
                size: file.size,
                time: u64::try_from(package.created_at.timestamp()).unwrap_or_default(),
                header,
            });
        }
        match next {
            Some(next) => after = Some(next),
            None => return Ok(entries),
        }
    }
}

/// The registry's current signed index: `repomd.xml` and its armored detached signature, in one object so
/// the two always change together.
#[derive(Serialize, Deserialize)]
struct SignedIndex {
    /// What it was rendered from (see [`crate::ecosystems::rpm::repodata::Rendered`]): the same fingerprint
    /// needs neither compressing nor signing again.
    fingerprint: String,
    repomd: String,
    signature: String,
    /// The fingerprints of the keys that made `signature`: after a key rotation (or when the old key's
    /// overlap ends) the same repomd.xml is signed again by the keys signing then.
    #[serde(default)]
    signed_by: Vec<String>,
}

/// Where the registry's signed index, and each metadata file by its digest, are kept.
const INDEX_PREFIX: &str = "rpm-index";

fn signed_index_key(registry: &Registry) -> ApiResult<StorageKey> {
    index_key(INDEX_PREFIX, registry, "repomd.json")
}

/// The signed index last stored in `blobs`, the registry's storage.
async fn stored_index(blobs: &dyn BlobStore, registry: &Registry) -> ApiResult<Option<SignedIndex>> {
    let stored = get_stored(blobs, &signed_index_key(registry)?).await?;
    Ok(stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// The signed index for the registry as it is now: rendered from the records, and if that differs from
/// the stored one, its files written, signed and stored in its place.
async fn current_index(state: &AppState, registry: &Registry, blobs: &dyn BlobStore) -> ApiResult<SignedIndex> {
    let rendered = render(repo_entries(state, registry).await?);
    let key = registry_key(state, registry).await?;
    let signed_by = key.fingerprints();
    let stored = stored_index(blobs, registry).await?.filter(|stored| stored.fingerprint == rendered.fingerprint);
    let (fingerprint, repomd) = match stored {
        Some(stored) if stored.signed_by == signed_by => return Ok(stored),
        // The same repodata, whose files are stored already; only the keys signing it changed.
        Some(stored) => (stored.fingerprint, stored.repomd),
        None => {
            let fingerprint = rendered.fingerprint.clone();
            let rendered = rendered.pack();
            // Every file first, under its digest, so the new repomd.xml never names one that is not there.
            for file in &rendered.files {
                let key = index_key(INDEX_PREFIX, registry, &file.sha256)?;
                put_once(blobs, &key, Bytes::from(file.gz.clone())).await?;
            }
            (fingerprint, rendered.repomd)
        }
    };
    let signature = key.detached(repomd.as_bytes()).map_err(|error| ApiError::internal(&error))?;
    let index = SignedIndex { fingerprint, repomd, signature, signed_by };
    let json = serde_json::to_vec(&index).map_err(|error| ApiError::internal(&error))?;
    blobs.put(&signed_index_key(registry)?, Bytes::from(json)).await.map_err(|error| ApiError::internal(&error))?;
    tracing::info!(registry.slug = %registry.slug, "rendered the RPM repodata of {}", registry.slug);
    Ok(index)
}

/// `GET repodata/{file}`: `repomd.xml` (rendered anew when the registry changed), `repomd.xml.asc` (the
/// signature of the `repomd.xml` last served), or a metadata file by the digest in its name.
async fn get_repodata(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, file)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let registry = rpm_registry(&state, caller.as_ref(), &org, &registry).await?;
    let (_, blobs) = state.packages.storage_for(&registry).await?;
    match file.as_str() {
        "repomd.xml" => Ok(uncached(current_index(&state, &registry, &*blobs).await?.repomd, "application/xml")),
        "repomd.xml.asc" => {
            let index = match stored_index(&*blobs, &registry).await? {
                Some(index) => index,
                None => current_index(&state, &registry, &*blobs).await?,
            };
            Ok(uncached(index.signature, "application/pgp-signature"))
        }
        _ => metadata_file(&*blobs, &registry, &file).await,
    }
}

/// `{sha256}-{primary,filelists,other}.xml.gz`, by its digest.
async fn metadata_file(blobs: &dyn BlobStore, registry: &Registry, file: &str) -> ApiResult<Response> {
    let missing = || ApiError::not_found(format!("no repodata file {file}"));
    let (digest, kind) = file.split_once('-').ok_or_else(missing)?;
    let known = ["primary.xml.gz", "filelists.xml.gz", "other.xml.gz"].contains(&kind);
    if !known || !is_sha256(digest) {
        return Err(missing());
    }
    let key = index_key(INDEX_PREFIX, registry, &digest.to_ascii_lowercase())?;
    let bytes = get_stored(blobs, &key).await?.ok_or_else(missing)?;
    Ok(uncached(bytes, "application/gzip"))
}

/// `GET Packages/{id}/{file}`: a redirect to a short-lived presigned URL; `HEAD` answers from metadata.
async fn download_rpm(
    State(state): State<AppState>,
    caller: Option<Caller>,
    method: Method,
    Path((org, registry, id, file)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let registry = rpm_registry(&state, caller.as_ref(), &org, &registry).await?;
    let package = state.packages.get(&registry, &id).await?;
    let stored = package
        .file(&file)
        .ok_or_else(|| ApiError::not_found(format!("{} {} has no file {file}", package.name, package.version)))?;
    download(&state, &registry, stored, &method).await
}
