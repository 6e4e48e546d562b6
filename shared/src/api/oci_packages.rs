//! The REST packages API of an `oci` registry: its images as packages, named by repository and tag (or
//! digest, for a manifest no tag points at), with the id [`ImageRef::id`] spells (`team~app:v1`). Listing,
//! showing, deleting (the same use cases as `DELETE /v2/.../manifests/...`) and copying to another `oci`
//! registry; the bytes are pulled through `/v2`, never downloaded here.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::pagination::{PageRequest, base_url};
use crate::domain::error::Error;
use crate::domain::registry::Registry;
use crate::ecosystems::oci::{ImageRef, Reference, check_repository};
use crate::service::oci::Failure;
use crate::service::oci::listing::Image;

/// A refusal of the OCI use cases in the management API's envelope, with the status OCI would answer.
fn api_error(failure: Failure) -> ApiError {
    match failure {
        Failure::Failed(error) => error.into(),
        Failure::Refused(refusal) => {
            let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
            let code = match status {
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::CONFLICT => "conflict",
                StatusCode::UNAUTHORIZED => "unauthenticated",
                StatusCode::FORBIDDEN => "forbidden",
                _ => "invalid",
            };
            ApiError::new(status, code, refusal.message)
        }
    }
}

/// The image a package id names; `404` for an id that could not name one.
fn image_ref(registry: &Registry, id: &str) -> ApiResult<ImageRef> {
    ImageRef::parse_id(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no image {id} in registry {}; OCI package ids look like team~app:v1 (repository with ~ for /, then :tag or @digest)",
            registry.slug
        ))
    })
}

/// The schema of what [`view`] answers.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: view builds the JSON")]
pub(crate) struct ImageView {
    /// `team~app:v1`: the repository with `~` for `/`, then `:tag` or `@digest`.
    id: String,
    /// The repository.
    name: String,
    /// The tag, or the digest of an untagged manifest.
    version: String,
    registry: String,
    ecosystem: crate::domain::names::Ecosystem,
    tag: Option<String>,
    digest: String,
    media_type: String,
    /// The manifest with everything it references.
    size: u64,
    manifest_size: u64,
    #[schema(value_type = Vec<Object>)]
    platforms: Vec<serde_json::Value>,
    artifact_type: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    url: String,
    /// What `docker pull` takes.
    image: String,
}

/// An image as the API shows it: `size` is the manifest with all it references (see
/// [`crate::service::oci::listing`]), `image` what `docker pull` takes.
fn view(base: &str, org: &str, registry: &Registry, image: &Image) -> ApiResult<Value> {
    let id = image.image_ref().map_err(api_error)?.id();
    let url = format!("{base}/v1/organizations/{org}/registries/{}/packages/{id}", registry.slug);
    let manifest = &image.manifest;
    let host = base.split_once("://").map_or(base, |(_, host)| host);
    let reference = match &image.tag {
        Some(tag) => format!(":{tag}"),
        None => format!("@{}", manifest.digest),
    };
    Ok(json!({
        "id": id, "name": image.repository, "version": image.tag.as_deref().unwrap_or(&manifest.digest),
        "registry": registry.slug, "ecosystem": registry.ecosystem, "tag": image.tag, "digest": manifest.digest,
        "media_type": manifest.media_type, "size": manifest.total_size.unwrap_or(manifest.size),
        "manifest_size": manifest.size, "platforms": manifest.platforms, "artifact_type": manifest.artifact_type,
        "created_at": manifest.created_at, "url": url,
        "image": format!("{host}/{org}/{}/{}{reference}", registry.slug, image.repository),
    }))
}

/// `GET .../packages?name=&per_page=&cursor=`: images by repository, then tags by name, then untagged
/// manifests by digest; `name` is one repository.
pub(super) async fn list(
    state: &AppState,
    org: &str,
    registry: &Registry,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult<Json<Value>> {
    let page = PageRequest::from_query(query)?;
    let after = match page.after.as_deref() {
        Some(after) => Some(ImageRef::parse_id(after).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "the cursor is not one this API handed out; start from the first page",
            )
            .with_field("cursor")
        })?),
        None => None,
    };
    let name = query.get("name").map(String::as_str);
    if let Some(name) = name {
        check_repository(name)
            .map_err(|refusal| Error::Invalid { field: Some("name".into()), message: refusal.message })?;
    }
    let (images, next) = state.oci.images(registry, name, after.as_ref(), page.per_page).await.map_err(api_error)?;
    let base = base_url(state.config.public_url.as_deref(), headers);
    let path = format!("/v1/organizations/{org}/registries/{}/packages", registry.slug);
    let mut next = page.next_link(&base, &path, next.map(|next| next.id()).as_deref());
    if let (Some(link), Some(name)) = (next.as_mut(), name) {
        link.push_str(&format!("&name={}", url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()));
    }
    let views = images.iter().map(|image| view(&base, org, registry, image)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({"packages": views, "links": {"next": next}})))
}

/// The image an id names, or `404`.
async fn find(state: &AppState, registry: &Registry, id: &str) -> ApiResult<Image> {
    let image = image_ref(registry, id)?;
    state
        .oci
        .image(registry, &image)
        .await
        .map_err(api_error)?
        .ok_or_else(|| ApiError::not_found(format!("no image {id} in registry {}", registry.slug)))
}

/// `GET .../packages/{id}`.
pub(super) async fn get(
    state: &AppState,
    org: &str,
    registry: &Registry,
    id: &str,
    headers: &HeaderMap,
) -> ApiResult<Json<Value>> {
    let image = find(state, registry, id).await?;
    Ok(Json(view(&base_url(state.config.public_url.as_deref(), headers), org, registry, &image)?))
}

/// `DELETE .../packages/{id}`: a tag id removes the tag, a digest id the manifest and the tags on it, as
/// `DELETE /v2/.../manifests/<reference>` does.
pub(super) async fn delete(state: &AppState, caller: &Caller, registry: &Registry, id: &str) -> ApiResult<StatusCode> {
    let image = image_ref(registry, id)?;
    let (acting, repository) = (caller.acting(), image.repository.as_str());
    let deleted = match &image.reference {
        Reference::Tag(tag) => state.oci.delete_tag(&acting, registry, repository, tag).await,
        Reference::Digest(digest) => state.oci.delete_manifest(&acting, registry, repository, digest).await,
    };
    deleted.map_err(api_error)?;
    tracing::info!(registry.slug = %registry.slug, oci.repository = %repository, "deleted {id}");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../packages/{id}/copy`: the image, its blobs and (for an index) its manifests, into `destination`
/// under the same repository and tag; `201` with the copy.
pub(super) async fn copy(
    state: &AppState,
    caller: &Caller,
    org: &str,
    (source, destination): (&Registry, &Registry),
    id: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if source.id == destination.id {
        return Err(Error::Invalid {
            field: Some("destination".into()),
            message: format!("{id} is in registry {} already; name another registry", source.slug),
        }
        .into());
    }
    let image = image_ref(source, id)?;
    let copied = state.oci.copy(&caller.acting(), source, destination, &image).await.map_err(api_error)?;
    let base = base_url(state.config.public_url.as_deref(), headers);
    Ok((StatusCode::CREATED, Json(view(&base, org, destination, &copied)?)).into_response())
}

/// The answer to a download of an image: its bytes are pulled through the registry API, not here.
pub(super) fn pull_instead(org: &str, registry: &Registry, id: &str) -> ApiError {
    let reference = ImageRef::parse_id(id).map_or_else(
        || "<repository>/manifests/<tag>".to_owned(),
        |image| {
            let reference = match image.reference {
                Reference::Tag(tag) => tag,
                Reference::Digest(digest) => digest.to_string(),
            };
            format!("{}/manifests/{reference}", image.repository)
        },
    );
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "use_the_ecosystem_client",
        format!(
            "images are pulled through the OCI registry API (docker pull, skopeo copy): GET /v2/{org}/{}/{reference}",
            registry.slug
        ),
    )
}
