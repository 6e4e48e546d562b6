//! `GET /v1/organizations/{org}/audit-events`: the organization's audit log, newest first.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::context::Caller;
use super::described::{Org, PageQuery, ReadErrors};
use super::error::ApiResult;
use super::pagination::{Links, PageRequest, base_url};
use crate::domain::audit::AuditEvent;

pub fn routes(state: AppState) -> Router {
    Router::new().route("/v1/organizations/{org}/audit-events", get(list_audit_events)).with_state(state)
}

/// One page of the audit log, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AuditEventPage {
    audit_events: Vec<AuditEvent>,
    links: Links,
}

#[utoipa::path(get, path = "/v1/organizations/{org}/audit-events", tag = "audit-events", params(Org, PageQuery),
    responses((status = 200, description = "The audit log (admin only)", body = AuditEventPage), ReadErrors))]
pub(crate) async fn list_audit_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<AuditEventPage>> {
    let org = caller.require_admin(&org)?;
    let page = PageRequest::from_query(&query)?;
    let (events, next) = state.audit_log.list(&org, page.after.clone(), page.per_page).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let next = page.next_link(&base, &format!("/v1/organizations/{org}/audit-events"), next.as_deref());
    Ok(Json(AuditEventPage { audit_events: events, links: Links { next } }))
}
