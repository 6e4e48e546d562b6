//! `GET /v1/organizations/{org}/audit-events`: the organization's audit log, newest first.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::context::Caller;
use super::error::ApiResult;
use super::pagination::{PageRequest, base_url};

pub fn routes(state: AppState) -> Router {
    Router::new().route("/v1/organizations/{org}/audit-events", get(list_audit_events)).with_state(state)
}

async fn list_audit_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let page = PageRequest::from_query(&query)?;
    let (events, next) = state.audit_log.list(&org, page.after.clone(), page.per_page).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let next = page.next_link(&base, &format!("/v1/organizations/{org}/audit-events"), next.as_deref());
    Ok(Json(json!({"audit_events": events, "links": {"next": next}})))
}
