//! `/v1/organizations/{org}/registries`: create, list, get, update (rename, make public) and delete.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::access::{managed_registry, registry_creator, registry_settings, visible_registries};
use super::context::Caller;
use super::described::{BodyErrors, Conflict, IfMatch, Org, PageQuery, PreconditionFailed, ReadErrors, RegistryPath};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::pagination::{Links, PageRequest, base_url};
use crate::domain::names::RegistrySlug;
use crate::domain::registry::{NewRegistry, Registry, RegistryPatch};
use crate::domain::token::Scope;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/organizations/{org}/registries", get(list_registries).post(create_registry))
        .route(
            "/v1/organizations/{org}/registries/{registry}",
            get(get_registry).patch(update_registry).delete(delete_registry),
        )
        .with_state(state.clone())
        .merge(super::signing_keys::routes(state))
        .merge(super::openapi::routes())
}

/// A registry as the API shows it: the record plus where to reach it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RegistryView)]
pub(crate) struct RegistryView<'a> {
    #[serde(flatten)]
    registry: &'a Registry,
    url: String,
    /// Present only on the answer to a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    renamed_from: Option<&'a RegistrySlug>,
}

/// One page of registries.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RegistryPage)]
pub(crate) struct RegistryPage<'a> {
    registries: Vec<RegistryView<'a>>,
    links: Links,
}

fn registry_url(base: &str, registry: &Registry) -> String {
    format!("{base}/v1/organizations/{}/registries/{}", registry.organization, registry.slug)
}

fn respond(
    status: StatusCode,
    base: &str,
    registry: &Registry,
    version: u64,
    renamed_from: Option<&RegistrySlug>,
) -> Response {
    let url = registry_url(base, registry);
    let mut response = (status, Json(RegistryView { registry, url: url.clone(), renamed_from })).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        headers.insert(header::ETAG, etag);
    }
    if (status == StatusCode::CREATED || renamed_from.is_some())
        && let Ok(location) = HeaderValue::from_str(&url)
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// The version an `If-Match` header pins, if it is sent.
fn if_match(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/").trim_matches('"').parse().map(Some).map_err(|_| {
        ApiError::bad_request("invalid_if_match", "If-Match must be an ETag this API returned, such as \"3\"")
    })
}

#[utoipa::path(post, path = "/v1/organizations/{org}/registries", tag = "registries", params(Org),
    request_body = NewRegistry,
    responses((status = 201, description = "Created", body = RegistryView,
        headers(("ETag" = String, description = "The registry's version, for If-Match"),
            ("Location" = String, description = "The registry's URL")),
        links(("get" = (operation_id = "get_registry", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))),
            ("update" = (operation_id = "update_registry", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))),
            ("delete" = (operation_id = "delete_registry", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))),
            ("packages" = (operation_id = "list_packages", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))),
            ("publish" = (operation_id = "create_package", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))),
            ("tokens" = (operation_id = "create_registry_token", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))),
            ("oidc_policy" = (operation_id = "get_oidc_policy", parameters(("org" = "$request.path.org"), ("registry" = "$response.body#/slug")))))),
        ReadErrors, BodyErrors, Conflict))]
pub(crate) async fn create_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewRegistry>,
) -> ApiResult<Response> {
    let org = registry_creator(&caller, &org)?;
    if let Some(storage) = &new.storage {
        state.storage_links.require_usable(&org, storage, "storage").await?;
    }
    let registry = state.registries.create(&caller.acting(), &org, new).await?;
    tracing::info!(registry.slug = %registry.slug, organization = %org, "created registry {org}/{}", registry.slug);
    Ok(respond(StatusCode::CREATED, &base_url(state.config.public_url.as_deref(), &headers), &registry, 1, None))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries", tag = "registries", params(Org, PageQuery),
    responses((status = 200, description = "The registries the caller can see", body = RegistryPage), ReadErrors))]
pub(crate) async fn list_registries(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let org = caller.require(&org, Scope::ReadRegistries)?;
    let page = PageRequest::from_query(&query)?;
    let (registries, next) = state.registries.list(&org, page.after.clone(), page.per_page).await?;
    let registries = visible_registries(&state, &caller, &org, registries).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let views: Vec<_> = registries
        .iter()
        .map(|registry| RegistryView { registry, url: registry_url(&base, registry), renamed_from: None })
        .collect();
    let next = page.next_link(&base, &format!("/v1/organizations/{org}/registries"), next.as_deref());
    Ok(Json(RegistryPage { registries: views, links: Links { next } }).into_response())
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}", tag = "registries",
    params(Org, RegistryPath), responses((status = 200, description = "The registry", body = RegistryView,
        headers(("ETag" = String, description = "The registry's version, for If-Match"))), ReadErrors))]
pub(crate) async fn get_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (registry, version) = registry_settings(&state, &caller, &org, &registry).await?;
    Ok(respond(StatusCode::OK, &base_url(state.config.public_url.as_deref(), &headers), &registry, version, None))
}

#[utoipa::path(patch, path = "/v1/organizations/{org}/registries/{registry}", tag = "registries",
    params(Org, RegistryPath, IfMatch), request_body = RegistryPatch,
    responses((status = 200, description = "Updated (renamed: `renamed_from` and `Location` say so)", body = RegistryView,
        headers(("ETag" = String, description = "The registry's version, for If-Match"))), ReadErrors, BodyErrors,
        Conflict, PreconditionFailed))]
pub(crate) async fn update_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<RegistryPatch>,
) -> ApiResult<Response> {
    let Registry { organization: org, slug, .. } =
        managed_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    if let Some(Some(storage)) = &patch.storage {
        state.storage_links.require_usable(&org, storage, "storage").await?;
    }
    let updated = state.registries.update(&caller.acting(), &org, &slug, patch, if_match(&headers)?).await?;
    let (_, version) = state.registries.get(&org, &updated.registry.slug).await?;
    if let Some(old) = &updated.renamed_from {
        tracing::info!(organization = %org, registry.slug = %updated.registry.slug, "renamed registry {org}/{old} to {}", updated.registry.slug);
    }
    let base = base_url(state.config.public_url.as_deref(), &headers);
    Ok(respond(StatusCode::OK, &base, &updated.registry, version, updated.renamed_from.as_ref()))
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/registries/{registry}", tag = "registries",
    params(Org, RegistryPath, IfMatch), responses((status = 204, description = "Deleted; its packages are queued for removal"),
        ReadErrors, Conflict, PreconditionFailed))]
pub(crate) async fn delete_registry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let Registry { organization: org, slug, .. } =
        managed_registry(&state, &caller, &org, &registry, Scope::DeleteRegistries).await?;
    state.registries.delete(&caller.acting(), &org, &slug, if_match(&headers)?).await?;
    tracing::info!(organization = %org, registry.slug = %slug, "deleted registry {org}/{slug}; its packages are queued for removal");
    Ok(StatusCode::NO_CONTENT)
}
