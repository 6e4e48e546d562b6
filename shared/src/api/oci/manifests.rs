//! Manifests by tag or digest (push, pull, delete), the tag list and the referrers API.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::{OciResult, Repo, empty, refused};
use crate::api::AppState;
use crate::ecosystems::oci::{Code, Digest, MANIFEST_MAX_BYTES, OCI_INDEX, Reference, parse_manifest};

pub(super) async fn get_manifest(
    state: &AppState,
    repo: &Repo,
    reference: &str,
    headers: &HeaderMap,
    head: bool,
) -> OciResult {
    let unknown = || refused(Code::ManifestUnknown, format!("{} has no manifest {reference:?}", repo.name));
    // A reference that could never name a manifest names none: 404, as the spec's pull tests expect.
    let reference = Reference::parse(reference).map_err(|_| unknown())?;
    let manifest = state.oci.manifest(&repo.registry, &repo.name, &reference).await?.ok_or_else(unknown)?;
    if !accepts(headers, &manifest.media_type) {
        // Manifests are served as pushed, never converted; a client that cannot read this kind learns which it is.
        return Err(refused(
            Code::ManifestUnknown,
            format!(
                "{} is a {}, which the request's Accept header does not list",
                manifest.digest, manifest.media_type
            ),
        ));
    }
    let body =
        if head { Body::empty() } else { Body::from(state.oci.manifest_bytes(&repo.registry, &manifest).await?) };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, manifest.media_type.clone()),
        (header::ETAG, format!("\"{}\"", manifest.digest)),
        (header::HeaderName::from_static("docker-content-digest"), manifest.digest.clone()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(manifest.size));
    Ok(response)
}

/// Whether the `Accept` headers allow a media type: no header, a wildcard or the type itself.
fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    let mut listed = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| entry.split(';').next().unwrap_or_default().trim())
        .filter(|entry| !entry.is_empty())
        .peekable();
    listed.peek().is_none() || listed.any(|entry| entry == "*/*" || entry.eq_ignore_ascii_case(media_type))
}

pub(super) async fn put_manifest(
    state: &AppState,
    repo: &Repo,
    reference: &str,
    headers: &HeaderMap,
    body: Body,
) -> OciResult {
    let reference = Reference::parse(reference)?;
    let bytes = axum::body::to_bytes(body, MANIFEST_MAX_BYTES).await.map_err(|_| {
        crate::ecosystems::oci::Refusal::new(
            Code::SizeInvalid,
            format!("a manifest may be at most {MANIFEST_MAX_BYTES} bytes"),
        )
        .with_status(413)
    })?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let parsed = parse_manifest(content_type, &bytes)?;
    let manifest =
        state.oci.put_manifest(&repo.acting()?, &repo.registry, &repo.name, &reference, parsed, bytes).await?;
    let mut answer = vec![
        ("location", format!("{}/manifests/{}", repo.base, manifest.digest)),
        ("docker-content-digest", manifest.digest.clone()),
    ];
    if let Some(subject) = manifest.subject {
        answer.push(("oci-subject", subject));
    }
    Ok(empty(StatusCode::CREATED, &answer))
}

/// `DELETE /manifests/<digest>` removes the manifest and its tags; `DELETE /manifests/<tag>` only the tag.
pub(super) async fn delete_manifest(state: &AppState, repo: &Repo, reference: &str) -> OciResult {
    let acting = repo.acting()?;
    match Reference::parse(reference)? {
        Reference::Digest(digest) => state.oci.delete_manifest(&acting, &repo.registry, &repo.name, &digest).await?,
        Reference::Tag(tag) => state.oci.delete_tag(&acting, &repo.registry, &repo.name, &tag).await?,
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET /tags/list?n=&last=`: tags in lexical order, with a `Link` to the next page when there is one.
pub(super) async fn list_tags(state: &AppState, repo: &Repo, query: &HashMap<String, String>) -> OciResult {
    let limit = match query.get("n") {
        Some(n) => Some(n.parse::<usize>().map_err(|_| refused(Code::Unsupported, "n must be a number"))?),
        None => None,
    };
    let last = query.get("last").map(String::as_str);
    let (tags, more) = state.oci.tags(&repo.registry, &repo.name, last, limit).await?;
    let full_name = repo.base.trim_start_matches("/v2/").to_owned();
    let mut response = Json(json!({"name": full_name, "tags": tags})).into_response();
    if let (true, Some(last)) = (more, tags.last()) {
        let n = limit.unwrap_or(tags.len());
        let link = format!("<{}/tags/list?n={n}&last={last}>; rel=\"next\"", repo.base);
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// `GET /referrers/<digest>?artifactType=`: an image index of the manifests whose subject is the digest.
pub(super) async fn list_referrers(
    state: &AppState,
    repo: &Repo,
    digest: &str,
    query: &HashMap<String, String>,
) -> OciResult {
    let digest = Digest::parse(digest)?;
    let filter = query.get("artifactType");
    let manifests: Vec<_> = state
        .oci
        .referrers(&repo.registry, &repo.name, &digest)
        .await?
        .into_iter()
        .filter(|manifest| filter.is_none_or(|wanted| manifest.artifact_type.as_ref() == Some(wanted)))
        .map(|manifest| manifest.descriptor())
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, OCI_INDEX)], index.to_string()).into_response();
    if filter.is_some() {
        response.headers_mut().insert("oci-filters-applied", HeaderValue::from_static("artifactType"));
    }
    Ok(response)
}
