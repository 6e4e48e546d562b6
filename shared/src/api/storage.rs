//! `/v1/organizations/{org}/storage`: the organization's default storage for new files, `"hosted"` or
//! `{"link": "<id>"}` (an active link), shown with its location (`s3://bucket/path/`). Served by the
//! `storage-links` route group.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::context::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use crate::domain::names::OrgSlug;
use crate::domain::storage::{StorageRef, StorageSettings};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/organizations/{org}/storage", get(get_storage).put(put_storage))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageChange {
    default: StorageRef,
}

async fn respond(state: &AppState, org: &OrgSlug, settings: &StorageSettings) -> ApiResult<Json<Value>> {
    let location = state.storage_links.describe(org, &settings.default).await?;
    Ok(Json(json!({"default": settings.default, "location": location})))
}

async fn get_storage(State(state): State<AppState>, caller: Caller, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let (settings, _) = state.storage_links.settings(&org).await?;
    respond(&state, &org, &settings).await
}

async fn put_storage(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(change): ApiJson<StorageChange>,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let settings = state.storage_links.set_default(&caller.acting(), &org, change.default).await?;
    tracing::info!(organization = %org, "default storage of {org} is now {:?}", settings.default);
    respond(&state, &org, &settings).await
}
