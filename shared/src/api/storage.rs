//! `/v1/organizations/{org}/storage`: the organization's default storage for new files, `"hosted"` or
//! `{"link": "<id>"}` (an active link), shown with its location (`s3://bucket/path/`). Served by the
//! `storage-links` route group.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::context::Caller;
use super::described::{BodyErrors, Org, ReadErrors, Unavailable};
use super::error::ApiResult;
use super::json::ApiJson;
use crate::domain::names::OrgSlug;
use crate::domain::storage::{StorageRef, StorageSettings};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/organizations/{org}/storage", get(get_storage).put(put_storage))
}

/// A new default storage for the organization's new files.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageChange {
    default: StorageRef,
}

/// The organization's default storage and where it is.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StorageView {
    default: StorageRef,
    /// `s3://bucket/path/`, or Packyard's own storage.
    location: String,
}

async fn respond(state: &AppState, org: &OrgSlug, settings: &StorageSettings) -> ApiResult<Json<StorageView>> {
    let location = state.storage_links.describe(org, &settings.default).await?;
    Ok(Json(StorageView { default: settings.default.clone(), location }))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/storage", tag = "storage", params(Org),
    responses((status = 200, description = "The default storage (admin only)", body = StorageView), ReadErrors))]
pub(crate) async fn get_storage(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<StorageView>> {
    let org = caller.require_admin(&org)?;
    let (settings, _) = state.storage_links.settings(&org).await?;
    respond(&state, &org, &settings).await
}

#[utoipa::path(put, path = "/v1/organizations/{org}/storage", tag = "storage", params(Org),
    request_body = StorageChange,
    responses((status = 200, description = "Changed (admin only; a link must be active)", body = StorageView),
        ReadErrors, BodyErrors, Unavailable))]
pub(crate) async fn put_storage(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(change): ApiJson<StorageChange>,
) -> ApiResult<Json<StorageView>> {
    let org = caller.require_admin(&org)?;
    let settings = state.storage_links.set_default(&caller.acting(), &org, change.default).await?;
    tracing::info!(organization = %org, "default storage of {org} is now {:?}", settings.default);
    respond(&state, &org, &settings).await
}
