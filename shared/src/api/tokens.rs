//! `/v1/organizations/{org}/tokens`: who am I, and (for admin tokens) issue, list and revoke tokens.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::context::Caller;
use super::error::ApiResult;
use super::json::ApiJson;
use super::pagination::{PageRequest, base_url};
use crate::domain::token::Token;
use crate::service::tokens::NewToken;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/organizations/{org}/tokens", get(list_tokens).post(create_token))
        .route("/v1/organizations/{org}/tokens/current", get(get_current_token))
        .route("/v1/organizations/{org}/tokens/{id}", delete(delete_token))
        .with_state(state)
}

/// A token as the API shows it: never its hash, and its secret only in the answer that created it.
#[derive(Serialize)]
struct TokenView<'a> {
    id: &'a str,
    description: &'a str,
    scopes: Vec<&'static str>,
    admin: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    created_by: &'a str,
}

fn view(token: &Token) -> TokenView<'_> {
    TokenView {
        id: &token.id,
        description: token.description.as_str(),
        scopes: token.scopes.iter().map(|scope| scope.as_str()).collect(),
        admin: token.admin,
        created_at: token.created_at,
        created_by: &token.created_by,
    }
}

async fn get_current_token(caller: Caller, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let org = caller.organization_of(&org)?;
    Ok(Json(json!({"organization": org, "token": view(&caller.token)})))
}

async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(new): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_admin(&org)?;
    let issued = state.tokens.issue(&caller.acting(), &caller.token, new).await?;
    let mut body = serde_json::to_value(view(&issued.token)).unwrap_or_default();
    body["token"] = json!(issued.secret);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let org = caller.require_admin(&org)?;
    let page = PageRequest::from_query(&query)?;
    let (tokens, next) = state.tokens.list(&org, page.after.clone(), page.per_page).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let next = page.next_link(&base, &format!("/v1/organizations/{org}/tokens"), next.as_deref());
    Ok(Json(json!({"tokens": tokens.iter().map(view).collect::<Vec<_>>(), "links": {"next": next}})))
}

async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = caller.require_admin(&org)?;
    state.tokens.revoke(&caller.acting(), &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
