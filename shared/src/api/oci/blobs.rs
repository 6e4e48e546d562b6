//! Blobs and their uploads: `HEAD`/`GET /blobs/<digest>` (a redirect to a presigned URL), and
//! `/blobs/uploads/`: start (or monolithic with `?digest=`, or mount with `?mount=`), `PATCH` chunks,
//! `PUT ?digest=` to complete, `GET` status, `DELETE` to cancel.

use std::collections::HashMap;

use axum::body::{Body, HttpBody};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{OciResult, Repo, empty, refused, stream};
use crate::api::AppState;
use crate::domain::names::Ecosystem;
use crate::domain::token::Scope;
use crate::ecosystems::oci::{Code, Digest, split_name};
use crate::service::oci::BlobRecord;
use crate::service::oci::uploads::Upload;

/// The smallest chunk clients are asked to send (except the last), so an upload is not thousands of objects.
const CHUNK_MIN_LENGTH: u64 = 1024 * 1024;

pub(super) async fn get_blob(state: &AppState, repo: &Repo, digest: &str, head: bool) -> OciResult {
    let digest = Digest::parse(digest)?;
    let blob = state
        .oci
        .blob(&repo.registry, &digest)
        .await?
        .ok_or_else(|| refused(Code::BlobUnknown, format!("blob {digest} is not in this registry")))?;
    if head {
        // A client checking the blob exists is about to push a manifest that uses it.
        if blob.idle_since.is_some() {
            state.oci.touch(&repo.registry, &digest).await?;
        }
        let mut response = empty(StatusCode::OK, &[("docker-content-digest", blob.digest.clone())]);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        return Ok(response);
    }
    let url = state.oci.blob_url(&repo.registry, &blob).await?;
    Ok(empty(
        StatusCode::TEMPORARY_REDIRECT,
        &[("location", url), ("docker-content-digest", blob.digest), ("cache-control", "no-store".into())],
    ))
}

/// The headers that describe an upload in progress.
fn upload_status(status: StatusCode, repo: &Repo, upload: &Upload) -> Response {
    let range = if upload.size == 0 { "0-0".to_owned() } else { format!("0-{}", upload.size - 1) };
    empty(
        status,
        &[
            ("location", format!("{}/blobs/uploads/{}", repo.base, upload.id)),
            ("range", range),
            ("docker-upload-uuid", upload.id.clone()),
            ("oci-chunk-min-length", CHUNK_MIN_LENGTH.to_string()),
        ],
    )
}

fn created(repo: &Repo, digest: &str) -> Response {
    empty(
        StatusCode::CREATED,
        &[("location", format!("{}/blobs/{digest}", repo.base)), ("docker-content-digest", digest.to_owned())],
    )
}

fn limit(state: &AppState) -> u64 {
    state.config.max_body_bytes as u64
}

/// `POST /blobs/uploads/`: mounts a blob the registry has (`?mount=`), takes a whole blob (`?digest=`), or
/// starts an upload.
pub(super) async fn post_upload(
    state: &AppState,
    repo: &Repo,
    query: &HashMap<String, String>,
    body: Body,
) -> OciResult {
    if let Some(mount) = query.get("mount") {
        let digest = Digest::parse(mount)?;
        if let Some(blob) = mount_blob(state, repo, &digest, query.get("from")).await? {
            return Ok(created(repo, &blob.digest));
        }
    }
    let upload = state.oci.start_upload(&repo.registry, &repo.name).await?;
    match query.get("digest") {
        Some(digest) => {
            let digest = Digest::parse(digest)?;
            state.oci.append(&repo.registry, &repo.name, &upload.id, None, stream(body), limit(state)).await?;
            let blob = state.oci.complete(&repo.registry, &repo.name, &upload.id, &digest).await?;
            Ok(created(repo, &blob.digest))
        }
        None => Ok(upload_status(StatusCode::ACCEPTED, repo, &upload)),
    }
}

/// A cross-repository mount: the registry's blobs serve every repository of it, and `from=` may name a
/// repository of another OCI registry of the organization the caller may read, whose blob is then copied
/// server-side. `None` (the client uploads instead, as the spec has it) when there is nothing to mount.
async fn mount_blob(
    state: &AppState,
    repo: &Repo,
    digest: &Digest,
    from: Option<&String>,
) -> OciResult<Option<BlobRecord>> {
    if let Some(blob) = state.oci.blob(&repo.registry, digest).await? {
        state.oci.touch(&repo.registry, digest).await?;
        return Ok(Some(blob));
    }
    let Some((org, registry, name)) = from.and_then(|from| split_name(from)) else {
        return Ok(None);
    };
    if org != repo.registry.organization.as_str() || registry == repo.registry.slug.as_str() {
        return Ok(None);
    }
    // A source the caller may not read, or that is not an OCI registry, mounts nothing (and says nothing).
    let Ok(source) = repo.asking.registry(state, (org, registry, name), Scope::ReadPackages).await else {
        return Ok(None);
    };
    if source.ecosystem != Ecosystem::Oci {
        return Ok(None);
    }
    let Some(blob) = state.oci.blob(&source, digest).await? else { return Ok(None) };
    Ok(Some(state.oci.copy_blob(&source, &blob, &repo.registry).await?))
}

/// `DELETE /blobs/<digest>`: a blob no manifest of the registry uses.
pub(super) async fn delete_blob(state: &AppState, repo: &Repo, digest: &str) -> OciResult {
    let digest = Digest::parse(digest)?;
    state.oci.delete_blob(&repo.acting()?, &repo.registry, &repo.name, &digest).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The start of a `Content-Range: <start>-<end>` (some clients write `bytes <start>-<end>/<total>`).
fn range_start(headers: &HeaderMap) -> OciResult<Option<u64>> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim_start_matches("bytes").trim();
    text.split('-')
        .next()
        .and_then(|start| start.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| refused(Code::BlobUploadInvalid, format!("Content-Range {text:?} is not <start>-<end>")))
}

pub(super) async fn patch_upload(
    state: &AppState,
    repo: &Repo,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> OciResult {
    let start = range_start(headers)?;
    let upload = state.oci.append(&repo.registry, &repo.name, id, start, stream(body), limit(state)).await?;
    Ok(upload_status(StatusCode::ACCEPTED, repo, &upload))
}

/// `PUT /blobs/uploads/<id>?digest=`: completes the upload, with the body as its last chunk.
pub(super) async fn put_upload(
    state: &AppState,
    repo: &Repo,
    id: &str,
    query: &HashMap<String, String>,
    body: Body,
) -> OciResult {
    let digest = query
        .get("digest")
        .ok_or_else(|| refused(Code::DigestInvalid, "completing an upload needs ?digest="))
        .and_then(|digest| Ok(Digest::parse(digest)?))?;
    if !body.is_end_stream() {
        state.oci.append(&repo.registry, &repo.name, id, None, stream(body), limit(state)).await?;
    }
    let blob = state.oci.complete(&repo.registry, &repo.name, id, &digest).await?;
    Ok(created(repo, &blob.digest))
}

pub(super) async fn get_upload(state: &AppState, repo: &Repo, id: &str) -> OciResult {
    let (upload, _) = state.oci.upload(&repo.registry, &repo.name, id).await?;
    Ok(upload_status(StatusCode::NO_CONTENT, repo, &upload))
}

pub(super) async fn delete_upload(state: &AppState, repo: &Repo, id: &str) -> OciResult {
    state.oci.cancel(&repo.registry, &repo.name, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
