//! A Cargo sparse registry at `/cargo/{org}/{registry}/`: `index/config.json`, index files with ETag and
//! Last-Modified, the publish API, yank and unyank, owners, search, and downloads that redirect to
//! presigned URLs. Errors use cargo's `{"errors": [{"detail": "..."}]}`, which cargo prints.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::AppState;
use super::access::registry_for;
use super::context::Caller;
use super::error::{ApiError, current_request_id, reshape, shaped};
use super::packages::redirect_to;
use super::pagination::base_url;
use super::spool::spool_part;
use crate::domain::error::Error;
use crate::domain::names::Ecosystem;
use crate::domain::package::{DistTags, Package, validate_version};
use crate::domain::registry::Registry;
use crate::domain::token::Scope;
use crate::ecosystems::cargo::{
    IndexDependency, ReadPublishError, check_crate_file_in, index_path, read_publish, validate_crate_name,
};
use crate::ecosystems::index::CARGO_LINE;
use crate::service::publish::{Received, ReceivedFile};

pub fn routes(state: AppState) -> Router {
    let base = "/cargo/{org}/{registry}";
    Router::new()
        .route(&format!("{base}/index/config.json"), get(get_config))
        .route(&format!("{base}/index/{{*path}}"), get(get_index_file))
        .route(&format!("{base}/api/v1/crates/new"), put(publish_crate))
        .route(&format!("{base}/api/v1/crates"), get(search_crates))
        .route(&format!("{base}/api/v1/crates/{{name}}/{{version}}/download"), get(download_crate))
        .route(&format!("{base}/api/v1/crates/{{name}}/{{version}}/yank"), delete(yank_crate))
        .route(&format!("{base}/api/v1/crates/{{name}}/{{version}}/unyank"), put(unyank_crate))
        .route(
            &format!("{base}/api/v1/crates/{{name}}/owners"),
            get(list_owners).put(change_owners).delete(change_owners),
        )
        .layer(axum::middleware::from_fn(reshape::<CargoError>))
        .with_state(state)
}

/// An error in cargo's shape.
pub struct CargoError(ApiError);

impl<E: Into<ApiError>> From<E> for CargoError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for CargoError {
    fn into_response(self) -> Response {
        let ApiError { status, message, .. } = self.0;
        let body = json!({"errors": [{"detail": message}], "request_id": current_request_id()});
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Cargo"));
        }
        shaped(response)
    }
}

type CargoResult<T = Response> = Result<T, CargoError>;

fn detail(status: StatusCode, message: impl Into<String>) -> CargoError {
    CargoError(ApiError::new(status, "cargo", message))
}

async fn cargo_registry(
    state: &AppState,
    caller: Option<&Caller>,
    org: &str,
    registry: &str,
    scope: Scope,
) -> CargoResult<Registry> {
    let registry = registry_for(state, caller, org, registry, scope).await?;
    if registry.ecosystem != Ecosystem::Cargo {
        return Err(detail(
            StatusCode::NOT_FOUND,
            format!("registry {} holds {} packages, not crates", registry.slug, registry.ecosystem),
        ));
    }
    Ok(registry)
}

fn api_base(state: &AppState, headers: &HeaderMap, org: &str, registry: &Registry) -> String {
    format!("{}/cargo/{org}/{}", base_url(state.config.public_url.as_deref(), headers), registry.slug)
}

async fn get_config(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
) -> CargoResult<Json<Value>> {
    let registry = cargo_registry(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    let api = api_base(&state, &headers, &org, &registry);
    Ok(Json(json!({"dl": format!("{api}/api/v1/crates"), "api": api, "auth-required": !registry.public})))
}

fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

async fn get_index_file(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, path)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> CargoResult {
    let registry = cargo_registry(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    let name = path.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    let not_found = || detail(StatusCode::NOT_FOUND, format!("no crate at {path}"));
    if validate_crate_name(&name).is_err() || index_path(&name) != path {
        return Err(not_found());
    }
    // The lines are joined from the versions' index entries, one query a thousand versions, none decoded. The
    // file is held whole (unlike a packument) because its ETag is its hash; at 5,000 versions it is ~1.5 MB.
    let mut page = state.packages.first_index_page(&registry, &name).await?;
    if page.entries.is_empty() {
        return Err(not_found());
    }
    let (mut body, mut modified) = (Vec::new(), None);
    loop {
        for entry in &page.entries {
            entry.write(CARGO_LINE, "", &mut body);
            modified = modified.max(Some(entry.published));
        }
        match page.next.take() {
            Some(cursor) => page = state.packages.index_page(&registry, &name, cursor).await?,
            None => break,
        }
    }
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let modified = modified.unwrap_or_else(Utc::now);
    let unchanged = match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').any(|tag| tag.trim() == etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|since| DateTime::parse_from_rfc2822(since).ok())
            .is_some_and(|since| modified.timestamp() <= since.timestamp()),
    };
    let mut response = if unchanged { StatusCode::NOT_MODIFIED.into_response() } else { body.into_response() };
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    for (name, value) in [(header::ETAG, etag), (header::LAST_MODIFIED, http_date(modified))] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response_headers.insert(name, value);
        }
    }
    Ok(response)
}

/// `cargo publish`: the body is spooled, its metadata read and its `.crate` copied into a spool of its own
/// (hashed on the way), the `.crate` checked against the metadata, then published like any version.
async fn publish_crate(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    body: Body,
) -> CargoResult<Json<Value>> {
    let registry = cargo_registry(&state, Some(&caller), &org, &registry, Scope::WritePackages).await?;
    let invalid = |message: String| detail(StatusCode::BAD_REQUEST, message);
    let limit = state.config.max_body_bytes as u64;
    let (metadata, crate_file) = spool_part(body, limit, &state.config.spool_dir, |input, crate_file| {
        read_publish(input, crate_file).map_err(|error| match error {
            ReadPublishError::Invalid(error) => ApiError::bad_request("invalid_publish", error.0),
            ReadPublishError::Io(error) => ApiError::internal(&error),
        })
    })
    .await
    .map_err(CargoError)?;
    validate_crate_name(&metadata.name).map_err(|e| invalid(e.0))?;
    let version = validate_version(&metadata.vers).map_err(|e| invalid(e.0))?;
    let (name, vers) = (metadata.name.clone(), metadata.vers.clone());
    crate_file
        .read_with(move |input| {
            check_crate_file_in(input, &name, &vers).map_err(|e| ApiError::bad_request("invalid_crate", e.0))
        })
        .await
        .map_err(CargoError)?;
    // Crate names are unique regardless of case, so versions are keyed by the lowercase name.
    let key = metadata.name.to_ascii_lowercase();
    if let Some(existing) = state.packages.versions(&registry, &key).await?.first()
        && existing.metadata["name"].as_str() != Some(metadata.name.as_str())
    {
        return Err(invalid(format!("crate {} is already published as {}", metadata.name, existing.metadata["name"])));
    }
    let deps: Vec<IndexDependency> = metadata.deps.into_iter().map(IndexDependency::from).collect();
    let (features, features2): (serde_json::Map<_, _>, serde_json::Map<_, _>) =
        metadata.features.into_iter().partition(|(_, values)| {
            !values.as_array().is_some_and(|values| {
                values.iter().any(|v| v.as_str().is_some_and(|v| v.starts_with("dep:") || v.contains("?/")))
            })
        });
    let mut line = json!({"name": metadata.name, "deps": deps, "features": features, "links": metadata.links, "description": metadata.description});
    if !features2.is_empty() {
        line["features2"] = Value::Object(features2);
        line["v"] = json!(2);
    }
    if let Some(rust_version) = metadata.rust_version {
        line["rust_version"] = json!(rust_version);
    }
    let received = Received {
        name: key.clone(),
        version: version.clone(),
        files: vec![ReceivedFile {
            filename: format!("{key}-{version}.crate"),
            path: crate_file.path().to_owned(),
            size: crate_file.size,
            digests: crate_file.digests.clone(),
        }],
        metadata: line,
        tags: DistTags::new(),
    };
    match state.packages.publish_received(&caller.acting(), &registry, received).await {
        Ok(_) => {}
        Err(Error::Conflict(message)) if message.contains("immutable") => {
            return Err(invalid(format!("crate version `{}@{version}` is already uploaded", metadata.name)));
        }
        Err(Error::Conflict(message)) => return Err(invalid(message)),
        Err(error) => return Err(error.into()),
    }
    Ok(Json(json!({"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}})))
}

async fn version_of(state: &AppState, registry: &Registry, name: &str, version: &str) -> CargoResult<Package> {
    let key = name.to_ascii_lowercase();
    state.packages.get_version(registry, &key, version).await?.ok_or_else(|| {
        detail(StatusCode::NOT_FOUND, format!("crate `{name}` has no version {version} in this registry"))
    })
}

async fn download_crate(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, name, version)): Path<(String, String, String, String)>,
) -> CargoResult {
    let registry = cargo_registry(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    let not_found =
        || detail(StatusCode::NOT_FOUND, format!("crate `{name}` has no version {version} in this registry"));
    let key = name.to_ascii_lowercase();
    let package = state.packages.version_to_download(&registry, (&key, &version), None).await?.ok_or_else(not_found)?;
    let file = package.files.first().ok_or_else(|| detail(StatusCode::NOT_FOUND, "no .crate stored"))?;
    Ok(redirect_to(&state, &registry, file).await?)
}

async fn set_yank(
    state: &AppState,
    caller: &Caller,
    org: &str,
    registry: &str,
    name: &str,
    version: &str,
    yank: bool,
) -> CargoResult<Json<Value>> {
    let registry = cargo_registry(state, Some(caller), org, registry, Scope::WritePackages).await?;
    let package = version_of(state, &registry, name, version).await?;
    let reason = yank.then_some("");
    state.packages.set_yanked(&caller.acting(), &registry, &package.name, &package.version, reason).await?;
    Ok(Json(json!({"ok": true})))
}

async fn yank_crate(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, name, version)): Path<(String, String, String, String)>,
) -> CargoResult<Json<Value>> {
    set_yank(&state, &caller, &org, &registry, &name, &version, true).await
}

async fn unyank_crate(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, name, version)): Path<(String, String, String, String)>,
) -> CargoResult<Json<Value>> {
    set_yank(&state, &caller, &org, &registry, &name, &version, false).await
}

async fn list_owners(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry, name)): Path<(String, String, String)>,
) -> CargoResult<Json<Value>> {
    let registry = cargo_registry(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    if state.packages.versions(&registry, &name.to_ascii_lowercase()).await?.is_empty() {
        return Err(detail(StatusCode::NOT_FOUND, format!("crate `{name}` is not in this registry")));
    }
    Ok(Json(json!({"users": [{"id": 1, "login": format!("org:{org}"), "name": org}]})))
}

async fn change_owners(caller: Caller, Path((org, _, _)): Path<(String, String, String)>) -> CargoResult<Json<Value>> {
    caller.organization_of(&org)?;
    Err(detail(
        StatusCode::BAD_REQUEST,
        format!("crates here are owned by the organization {org}; grant access with Packyard tokens and teams instead"),
    ))
}

async fn search_crates(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path((org, registry)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> CargoResult<Json<Value>> {
    let registry = cargo_registry(&state, caller.as_ref(), &org, &registry, Scope::ReadPackages).await?;
    let text = query.get("q").map(|q| q.to_ascii_lowercase()).unwrap_or_default();
    let per_page = query.get("per_page").and_then(|n| n.parse().ok()).unwrap_or(10_usize).clamp(1, 100);
    // Every name's summary (one small record a crate), in name order.
    let found: Vec<_> = state
        .packages
        .all_names(&registry)
        .await?
        .into_iter()
        .filter(|summary| summary.name.to_ascii_lowercase().contains(&text))
        .collect();
    let crates: Vec<_> = found
        .iter()
        .take(per_page)
        .map(|summary| {
            let name = summary.spelled.as_deref().unwrap_or(&summary.name);
            json!({"name": name, "max_version": summary.latest, "description": summary.description})
        })
        .collect();
    Ok(Json(json!({"crates": crates, "meta": {"total": found.len()}})))
}
