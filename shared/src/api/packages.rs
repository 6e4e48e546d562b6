//! `/v1/organizations/{org}/registries/{registry}/packages`: publish (direct and presigned), list, get,
//! download (a redirect to a presigned URL), copy to another registry, delete. An `oci` registry's images
//! answer here too (see [`super::oci_packages`]).

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::described::{
    BodyErrors, Conflict, Invalid, Org, PackagePath, PageQuery, ReadErrors, RegistryPath, TooLarge, Unavailable,
    UploadPath,
};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::oci_packages;
use super::pagination::{PageRequest, base_url};
use super::spool::{SpoolError, Spooled, spool};
use crate::domain::audit::Actor;
use crate::domain::error::Error;
use crate::domain::names::Ecosystem;
use crate::domain::package::{DistTags, Package, PackageFile, parse_file_name, validate_name, validate_version};
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::{debian, npm, rpm};
use crate::ports::blob::CompletedPart;
use crate::service::publish::{Received, ReceivedFile};
use crate::service::uploads::{PartBatch, UploadInstructions, UploadRequest};

pub fn routes(state: AppState) -> Router {
    let base = "/v1/organizations/{org}/registries/{registry}";
    Router::new()
        .route(
            &format!("{base}/packages"),
            get(list_packages).post(create_package).layer(super::streamed_body_limit(&state.config)),
        )
        .route(&format!("{base}/packages/{{id}}"), get(get_package).delete(delete_package))
        .route(&format!("{base}/packages/{{id}}/download"), get(download_package).head(head_package))
        .route(&format!("{base}/packages/{{id}}/copy"), post(copy_package))
        .route(&format!("{base}/uploads"), post(create_upload))
        .route(&format!("{base}/uploads/{{id}}/parts"), get(upload_parts))
        .route(&format!("{base}/uploads/{{id}}/complete"), post(complete_upload))
        .route("/files/{org}/{registry}/{filename}", get(download_file).head(head_file))
        .with_state(state)
}

fn invalid(field: &str, error: crate::domain::names::InvalidValue) -> ApiError {
    Error::invalid(field, error).into()
}

/// The schema of what [`package_view`] answers.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: package_view builds the JSON")]
pub(crate) struct PackageView {
    id: String,
    name: String,
    version: String,
    /// The registry's slug.
    registry: String,
    ecosystem: Ecosystem,
    /// The bytes of all its files.
    size: u64,
    files: Vec<PackageFileView>,
    created_at: chrono::DateTime<chrono::Utc>,
    creator: Actor,
    url: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: package_view builds the JSON")]
pub(crate) struct PackageFileView {
    filename: String,
    size: u64,
    sha256: String,
    sha512: String,
    /// `hosted`, or `link:<id>`.
    storage: String,
    /// Redirects to a short-lived URL of the bytes.
    download_url: String,
}

/// A package of any registry: an `oci` registry's are images.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "only described: the handlers build the JSON")]
pub(crate) enum AnyPackage {
    Package(PackageView),
    Image(oci_packages::ImageView),
}

/// One page of a registry's packages.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: list_packages builds the JSON")]
pub(crate) struct PackagePage {
    packages: Vec<AnyPackage>,
    links: super::pagination::Links,
}

/// A package as the API shows it.
pub fn package_view(base: &str, org: &str, registry: &Registry, package: &Package) -> Value {
    let url = format!("{base}/v1/organizations/{org}/registries/{}/packages/{}", registry.slug, package.id);
    let files: Vec<_> = package
        .files
        .iter()
        .map(|file| {
            json!({"filename": file.filename, "size": file.size, "sha256": file.digests.sha256, "sha512": file.digests.sha512,
                   "storage": file.storage.to_string(), "download_url": format!("{url}/download?file={}", file.filename)})
        })
        .collect();
    json!({
        "id": package.id, "name": package.name, "version": package.version, "registry": registry.slug,
        "ecosystem": registry.ecosystem, "size": package.size(), "files": files, "created_at": package.created_at,
        "creator": package.creator, "url": url,
    })
}

/// The name and version a published file stands for, by the registry's ecosystem: npm reads its tarball's
/// package.json (from the spooled file, bounded), generic files their name.
async fn identify(
    registry: &Registry,
    filename: &str,
    spooled: &Spooled,
    name: Option<String>,
    version: Option<String>,
) -> ApiResult<(String, String, Value)> {
    let (name, version, metadata) = match registry.ecosystem {
        Ecosystem::Files => {
            let (parsed_name, parsed_version) = match (name, version) {
                (Some(name), Some(version)) => (name, version),
                _ => parse_file_name(filename).map_err(|e| invalid("file", e))?,
            };
            (parsed_name, parsed_version, Value::Null)
        }
        Ecosystem::Npm => {
            let manifest =
                spooled.read_with(|input| npm::read_manifest_in(input).map_err(|e| invalid("file", e))).await?;
            let name = manifest["name"].as_str().unwrap_or_default().to_owned();
            let version = manifest["version"].as_str().unwrap_or_default().to_owned();
            (name, version, manifest)
        }
        Ecosystem::Debian => {
            let control = spooled.read_with(|input| debian::read_deb(input).map_err(|e| invalid("file", e))).await?;
            return Ok((control.package.clone(), control.packyard_version(), json!({ "deb": control })));
        }
        Ecosystem::Rpm => {
            let header = spooled.read_with(|input| rpm::read_rpm(input).map_err(|e| invalid("file", e))).await?;
            rpm::check_file_name(filename, &header).map_err(|e| invalid("file", e))?;
            return Ok((
                header.name.clone(),
                header.packyard_version(),
                rpm::record(&header).map_err(|e| invalid("file", e))?,
            ));
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "use_the_ecosystem_client",
                format!("publish {other} packages with their own client; see the README"),
            ));
        }
    };
    validate_name(registry.ecosystem, &name).map_err(|e| invalid("name", e))?;
    let version = validate_version(&version).map_err(|e| invalid("version", e))?;
    Ok((name, version, metadata))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "direct uploads are limited to {limit} bytes; use a presigned upload (POST .../uploads) for larger files"
        ),
    )
}

/// The form `POST .../packages` reads.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: create_package reads the form field by field")]
pub(crate) struct PackageForm {
    /// The file, with its file name (`{name}-{version}.{ext}` for generic files); an npm tarball or a `.deb`
    /// is read for its name and version.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Generic files: the name, when the file name does not carry it.
    #[schema(example = "hello", pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length = 214)]
    name: Option<String>,
    /// Generic files: a semantic version.
    #[schema(example = "1.0.0", pattern = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")]
    version: Option<String>,
}

/// `POST .../packages`: one file in a multipart form, spooled as it streams (the deployment's body limit
/// applies, `413` past it), identified, then published.
#[utoipa::path(post, path = "/v1/organizations/{org}/registries/{registry}/packages", tag = "packages",
    params(Org, RegistryPath), request_body(content = PackageForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Published (generic files, npm and Debian registries; other \
        ecosystems publish with their own client)", body = PackageView,
        links(("get" = (operation_id = "get_package", parameters(("org" = "$request.path.org"),
                ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))),
            ("download" = (operation_id = "download_package", parameters(("org" = "$request.path.org"),
                ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))),
            ("delete" = (operation_id = "delete_package", parameters(("org" = "$request.path.org"),
                ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))))),
        ReadErrors, Conflict, TooLarge, Invalid, Unavailable))]
pub(crate) async fn create_package(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let registry = registry_for(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    let mut form = form.map_err(|rejection| {
        ApiError::bad_request(
            "invalid_form",
            format!("send the package as multipart/form-data with a file field: {}", rejection.body_text()),
        )
    })?;
    let limit = state.config.max_body_bytes as u64;
    let form_error = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            ApiError::bad_request("invalid_form", error.body_text())
        }
    };
    let (mut file, mut name, mut version): (Option<(String, Spooled)>, Option<String>, Option<String>) =
        (None, None, None);
    while let Some(field) = form.next_field().await.map_err(form_error)? {
        match field.name() {
            Some("file") => {
                let filename = field.file_name().map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request("invalid_form", "the file field needs a filename").with_field("file")
                })?;
                let spooled = spool(field, limit, &state.config.spool_dir).await.map_err(|error| match error {
                    SpoolError::TooLarge { .. } => too_large(limit),
                    other => other.into(),
                })?;
                file = Some((filename, spooled));
            }
            Some("name") => name = Some(field.text().await.map_err(form_error)?),
            Some("version") => version = Some(field.text().await.map_err(form_error)?),
            other => {
                return Err(ApiError::bad_request(
                    "invalid_form",
                    format!(
                        "unknown form field {:?}; send file, and optionally name and version",
                        other.unwrap_or_default()
                    ),
                ));
            }
        }
    }
    let (filename, spooled) = file.ok_or_else(|| {
        ApiError::bad_request("invalid_form", "send the package as a multipart form field named file")
            .with_field("file")
    })?;
    let (name, version, metadata) = identify(&registry, &filename, &spooled, name, version).await?;
    let tags = if registry.ecosystem == Ecosystem::Npm {
        DistTags::from([("latest".to_owned(), version.clone())])
    } else {
        DistTags::new()
    };
    // A .deb is stored under the name its control file gives it, whatever the upload was called.
    let filename =
        match metadata.get("deb").and_then(|deb| serde_json::from_value::<debian::DebControl>(deb.clone()).ok()) {
            Some(control) => control.file_name(),
            None => filename,
        };
    // An .rpm's name was checked against its header; it is stored without the characters keys do not take.
    let filename = match metadata.get("rpm").and_then(|h| serde_json::from_value::<rpm::RpmHeader>(h.clone()).ok()) {
        Some(header) => header.file_name(),
        None => filename,
    };
    let received = Received {
        name,
        version,
        files: vec![ReceivedFile {
            filename,
            path: spooled.path().to_owned(),
            size: spooled.size,
            digests: spooled.digests.clone(),
        }],
        metadata,
        tags,
    };
    let package = state.packages.publish_received(&caller.acting(), &registry, received).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    Ok((StatusCode::CREATED, Json(package_view(&base, &org, &registry, &package))).into_response())
}

/// `?name=`: one package's versions (in an `oci` registry, one repository's images).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only described: list_packages reads the query")]
pub(crate) struct PackageQuery {
    name: Option<String>,
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/packages", tag = "packages",
    params(Org, RegistryPath, PackageQuery, PageQuery), security((), ("bearer" = []), ("basic" = [])),
    responses((status = 200, description = "Packages by name, then version (public registries need no token)",
        body = PackagePage), ReadErrors, Invalid))]
pub(crate) async fn list_packages(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let registry = registry_for(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    if registry.ecosystem == Ecosystem::Oci {
        return oci_packages::list(&state, &org, &registry, &query, &headers).await;
    }
    let page = PageRequest::from_query(&query)?;
    let name = query.get("name").map(String::as_str);
    let (packages, next) = state.packages.list(&registry, name, page.after.clone(), page.per_page).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let path = format!("/v1/organizations/{org}/registries/{}/packages", registry.slug);
    let mut next = page.next_link(&base, &path, next.as_deref());
    if let (Some(link), Some(name)) = (next.as_mut(), name) {
        link.push_str(&format!("&name={}", url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()));
    }
    let views: Vec<_> = packages.iter().map(|package| package_view(&base, &org, &registry, package)).collect();
    Ok(Json(json!({"packages": views, "links": {"next": next}})))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/packages/{id}", tag = "packages",
    params(Org, RegistryPath, PackagePath), security((), ("bearer" = []), ("basic" = [])),
    responses((status = 200, description = "The package, or the image", body = AnyPackage), ReadErrors))]
pub(crate) async fn get_package(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let registry = registry_for(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    if registry.ecosystem == Ecosystem::Oci {
        return oci_packages::get(&state, &org, &registry, &id, &headers).await;
    }
    let package = state.packages.get(&registry, &id).await?;
    Ok(Json(package_view(&base_url(state.config.public_url.as_deref(), &headers), &org, &registry, &package)))
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/registries/{registry}/packages/{id}", tag = "packages",
    params(Org, RegistryPath, PackagePath), responses((status = 204, description = "Deleted (an image: its tag, or a manifest and its \
        tags)"), ReadErrors, Conflict))]
pub(crate) async fn delete_package(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let registry = registry_for(&state, Some(&caller), &org, &registry, Scope::DeletePackages).await?;
    if registry.ecosystem == Ecosystem::Oci {
        return oci_packages::delete(&state, &caller, &registry, &id).await;
    }
    let package = state.packages.get(&registry, &id).await?;
    state.packages.delete(&caller.acting(), &registry, &package).await?;
    tracing::info!(registry.slug = %registry.slug, package.name = %package.name, "deleted {}@{}", package.name, package.version);
    Ok(StatusCode::NO_CONTENT)
}

fn pick_file<'a>(package: &'a Package, query: &HashMap<String, String>) -> ApiResult<&'a PackageFile> {
    match query.get("file") {
        Some(filename) => package
            .file(filename)
            .ok_or_else(|| ApiError::not_found(format!("{}@{} has no file {filename}", package.name, package.version))),
        None => package.files.first().ok_or_else(|| ApiError::not_found("the package has no files")),
    }
}

/// A `302` to a short-lived presigned URL; never logged, never cached.
pub async fn redirect_to(state: &AppState, registry: &Registry, file: &PackageFile) -> ApiResult<Response> {
    let url = state.packages.download_url(&registry.organization, file).await?;
    let mut response = Redirect::to(&url).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A download as every protocol answers it: for `HEAD` what it would be, from metadata; otherwise a `302` to
/// a presigned URL (see [`redirect_to`]).
///
/// # Errors
/// When the URL cannot be signed.
pub async fn download(
    state: &AppState,
    registry: &Registry,
    file: &PackageFile,
    method: &Method,
) -> ApiResult<Response> {
    if method == Method::HEAD { Ok(describe(file)) } else { redirect_to(state, registry, file).await }
}

/// The answer to `HEAD`: what a download would be, from metadata, without touching storage.
pub fn describe(file: &PackageFile) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", file.digests.sha256)) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(digest) = HeaderValue::from_str(&file.digests.sha256) {
        headers.insert("x-checksum-sha256", digest);
    }
    response
}

/// The registry and the file a package URL names (`?file=` picks one of several).
async fn file_by_id(
    state: &AppState,
    caller: Option<&Caller>,
    (org, registry, id): (&str, &str, &str),
    query: &HashMap<String, String>,
) -> ApiResult<(Registry, PackageFile)> {
    let registry = registry_for(state, caller, org, registry, Scope::ReadPackages).await?;
    if registry.ecosystem == Ecosystem::Oci {
        return Err(oci_packages::pull_instead(org, &registry, id));
    }
    let package = state.packages.get_to_download(&registry, id, query.get("file").map(String::as_str)).await?;
    let file = pick_file(&package, query)?.clone();
    Ok((registry, file))
}

/// `?file=`: which of a package's files (the first if absent).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only described: the handlers read the query")]
pub(crate) struct FileQuery {
    file: Option<String>,
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/packages/{id}/download",
    tag = "packages", params(Org, RegistryPath, PackagePath, FileQuery), security((), ("bearer" = []), ("basic" = [])),
    responses((status = 302, description = "To a short-lived URL of the bytes; never cached",
        headers(("Location" = String, description = "The presigned URL"))), ReadErrors, Invalid, Unavailable))]
pub(crate) async fn download_package(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (registry, file) = file_by_id(&state, caller.as_ref(), (&org, &registry, &id), &query).await?;
    redirect_to(&state, &registry, &file).await
}

#[utoipa::path(head, path = "/v1/organizations/{org}/registries/{registry}/packages/{id}/download",
    tag = "packages", params(Org, RegistryPath, PackagePath, FileQuery), security((), ("bearer" = []), ("basic" = [])),
    responses((status = 200, description = "What a download would be, without the bytes",
        headers(("Content-Length" = u64), ("ETag" = String, description = "The file's SHA-256, quoted"),
            ("x-checksum-sha256" = String))), ReadErrors, Invalid))]
pub(crate) async fn head_package(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    Ok(describe(&file_by_id(&state, caller.as_ref(), (&org, &registry, &id), &query).await?.1))
}

/// The file a generic-files URL names, `{name}-{version}.{ext}`.
async fn file_by_name(
    state: &AppState,
    caller: Option<&Caller>,
    org: &str,
    registry: &str,
    filename: &str,
) -> ApiResult<(Registry, PackageFile)> {
    let registry = registry_for(state, caller, org, registry, Scope::ReadPackages).await?;
    let not_found = || ApiError::not_found(format!("no file {filename} in registry {org}/{}", registry.slug));
    let (name, version) = parse_file_name(filename).map_err(|_| not_found())?;
    let package = state.packages.get_version(&registry, &name, &version).await?.ok_or_else(not_found)?;
    let file = package.file(filename).cloned().ok_or_else(not_found)?;
    Ok((registry, file))
}

async fn download_file(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, filename)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (registry, file) = file_by_name(&state, caller.as_ref(), &org, &registry, &filename).await?;
    redirect_to(&state, &registry, &file).await
}

async fn head_file(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, filename)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    Ok(describe(&file_by_name(&state, caller.as_ref(), &org, &registry, &filename).await?.1))
}

/// Where a package is copied to.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CopyRequest {
    /// The slug of a registry of the same ecosystem in the same organization.
    destination: String,
}

#[utoipa::path(post, path = "/v1/organizations/{org}/registries/{registry}/packages/{id}/copy", tag = "packages",
    params(Org, RegistryPath, PackagePath), request_body = CopyRequest,
    responses((status = 201, description = "The copy, in the destination", body = AnyPackage), ReadErrors,
        BodyErrors, Conflict))]
pub(crate) async fn copy_package(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CopyRequest>,
) -> ApiResult<Response> {
    let source = registry_for(&state, Some(&caller), &org, &registry, Scope::ReadPackages).await?;
    let destination = registry_for(&state, Some(&caller), &org, &request.destination, Scope::WritePackages).await?;
    if destination.ecosystem != source.ecosystem {
        return Err(Error::Invalid {
            field: Some("destination".into()),
            message: format!(
                "registry {} holds {} packages, not {}",
                destination.slug, destination.ecosystem, source.ecosystem
            ),
        }
        .into());
    }
    if source.ecosystem == Ecosystem::Oci {
        return oci_packages::copy(&state, &caller, &org, (&source, &destination), &id, &headers).await;
    }
    let package = state.packages.get(&source, &id).await?;
    let copied = state.packages.copy(&caller.acting(), &source, &destination, package).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    Ok((StatusCode::CREATED, Json(package_view(&base, &org, &destination, &copied))).into_response())
}

/// A presigned upload to start: the file's name, size and digest, which the bytes must match.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUpload {
    /// `{name}-{version}.{ext}`, unless `name` and `version` are given.
    filename: String,
    size: u64,
    /// Hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    sha256: String,
    #[serde(default)]
    #[schema(example = "hello", pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length = 214)]
    name: Option<String>,
    #[serde(default)]
    #[schema(example = "1.0.0", pattern = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")]
    version: Option<String>,
    /// Parts even for a file one PUT could take (parallel transfers); by default one PUT up to 5 GiB.
    #[serde(default)]
    parts: bool,
}

/// What [`create_upload`] answers: where to `PUT` the bytes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: create_upload builds the JSON")]
pub(crate) struct UploadView {
    #[serde(flatten)]
    instructions: UploadInstructions,
    /// Where the part URLs past those signed here are signed, for a file of many parts.
    more_parts: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{org}/registries/{registry}/uploads", tag = "uploads",
    params(Org, RegistryPath), request_body = NewUpload,
    responses((status = 201, description = "Started (generic files only): `PUT` the bytes, then complete it",
        body = UploadView,
        links(("parts" = (operation_id = "upload_parts", parameters(("org" = "$request.path.org"),
                ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))),
            ("complete" = (operation_id = "complete_upload", parameters(("org" = "$request.path.org"),
                ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))))),
        ReadErrors, BodyErrors, Conflict, Unavailable))]
pub(crate) async fn create_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<NewUpload>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let registry = registry_for(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    if registry.ecosystem != Ecosystem::Files {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "use_the_ecosystem_client",
            format!(
                "presigned uploads are for generic files; publish {} packages with their client",
                registry.ecosystem
            ),
        ));
    }
    let (name, version) = match (request.name, request.version) {
        (Some(name), Some(version)) => (name, version),
        _ => parse_file_name(&request.filename).map_err(|e| invalid("filename", e))?,
    };
    validate_name(registry.ecosystem, &name).map_err(|e| invalid("name", e))?;
    let version = validate_version(&version).map_err(|e| invalid("version", e))?;
    let upload = UploadRequest {
        name,
        version,
        filename: request.filename,
        size: request.size,
        sha256: request.sha256,
        parts: request.parts,
    };
    let instructions = state.uploads.start(&caller.acting(), &registry, upload).await?;
    let signed = u32::try_from(instructions.parts.len()).unwrap_or(u32::MAX);
    let more = instructions.part_count.filter(|count| *count > signed).map(|_| signed + 1);
    let mut body = serde_json::to_value(&instructions).unwrap_or_default();
    body["more_parts"] = json!(more.map(|first| parts_url(&state, &headers, &org, &registry, &instructions.id, first)));
    Ok((StatusCode::CREATED, Json(body)))
}

/// Where the part URLs from `first` on are signed.
fn parts_url(state: &AppState, headers: &HeaderMap, org: &str, registry: &Registry, id: &str, first: u32) -> String {
    let base = base_url(state.config.public_url.as_deref(), headers);
    format!("{base}/v1/organizations/{org}/registries/{}/uploads/{id}/parts?first={first}", registry.slug)
}

/// `?first=`: the first part number of the batch.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartsQuery {
    #[param(minimum = 1)]
    first: u32,
}

/// A batch of signed part URLs.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, reason = "only described: upload_parts builds the JSON")]
pub(crate) struct PartBatchView {
    #[serde(flatten)]
    batch: PartBatch,
    /// Where the next batch is signed, if there is one.
    more_parts: Option<String>,
}

/// `GET .../uploads/{id}/parts?first=N`: the next batch of signed part URLs of a large upload.
#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/uploads/{id}/parts", tag = "uploads",
    params(Org, RegistryPath, UploadPath, PartsQuery), responses((status = 200, description = "Part URLs from `first` on",
        body = PartBatchView), ReadErrors, Invalid, Unavailable))]
pub(crate) async fn upload_parts(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
    Query(query): Query<PartsQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let registry = registry_for(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    let batch = state.uploads.part_urls(&registry, &id, query.first).await?;
    let mut body = serde_json::to_value(&batch).unwrap_or_default();
    body["more_parts"] = json!(batch.next.map(|first| parts_url(&state, &headers, &org, &registry, &id, first)));
    Ok(Json(body))
}

/// The parts of a multipart upload with their `ETag`s; nothing (or `{}`) for a single `PUT`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteUpload {
    #[serde(default)]
    parts: Vec<PartDone>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartDone {
    number: u32,
    etag: String,
}

#[utoipa::path(post, path = "/v1/organizations/{org}/registries/{registry}/uploads/{id}/complete",
    tag = "uploads", params(Org, RegistryPath, UploadPath), request_body(content = Option<CompleteUpload>),
    responses((status = 201, description = "Checked against its size and SHA-256, and published",
        body = PackageView), ReadErrors, BodyErrors, Conflict, Unavailable))]
pub(crate) async fn complete_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let registry = registry_for(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    let request: CompleteUpload = if body.is_empty() { CompleteUpload::default() } else { super::json::parse(&body)? };
    let parts: Vec<_> =
        request.parts.into_iter().map(|part| CompletedPart { number: part.number, etag: part.etag }).collect();
    let package = state.uploads.complete(&caller.acting(), &registry, &id, &parts).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    Ok((StatusCode::CREATED, Json(package_view(&base, &org, &registry, &package))))
}
