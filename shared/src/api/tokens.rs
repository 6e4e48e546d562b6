//! `/v1/organizations/{org}/tokens`: who am I, and (for admin tokens) issue, list and revoke tokens.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::access::managed_registry;
use super::context::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::pagination::{PageRequest, base_url};
use crate::domain::names::Description;
use crate::domain::registry::Registry;
use crate::domain::secret::SecretText;
use crate::domain::token::{Scope, Token};
use crate::service::tokens::NewToken;
use serde::Deserialize;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/organizations/{org}/tokens", get(list_tokens).post(create_token))
        .route("/v1/organizations/{org}/tokens/current", get(get_current_token))
        .route("/v1/organizations/{org}/tokens/{id}", delete(delete_token))
        .with_state(state.clone())
        .merge(registry_token_routes(state.clone()))
        .merge(super::teams::routes(state.clone()))
        .merge(oidc_policy_routes(state))
}

/// A token as the API shows it: never its hash, and its secret only in the answer that created it.
#[derive(Serialize)]
struct TokenView<'a> {
    id: &'a str,
    description: &'a str,
    scopes: Vec<&'static str>,
    admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
    created_at: chrono::DateTime<chrono::Utc>,
    created_by: &'a str,
}

fn view(token: &Token) -> TokenView<'_> {
    TokenView {
        id: &token.id,
        description: token.description.as_str(),
        scopes: token.scopes.iter().map(|scope| scope.as_str()).collect(),
        admin: token.admin,
        member: token.member.as_deref(),
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

/// Registry tokens: `/v1/organizations/{org}/registries/{registry}/tokens`, for private registries only.
pub fn registry_token_routes(state: AppState) -> Router {
    let base = "/v1/organizations/{org}/registries/{registry}/tokens";
    Router::new()
        .route(base, get(list_registry_tokens).post(create_registry_token))
        .route(
            &format!("{base}/{{id}}"),
            get(get_registry_token).patch(update_registry_token).delete(delete_registry_token),
        )
        .with_state(state)
}

/// The registry, for a caller that may manage it; 404 while it is public, when it has no tokens.
async fn private_registry(
    state: &AppState,
    caller: &Caller,
    org: &str,
    registry: &str,
    scope: Scope,
) -> ApiResult<Registry> {
    let found = managed_registry(state, caller, org, registry, scope).await?;
    if found.public {
        return Err(ApiError::not_found(format!("registry {org}/{registry} has no tokens while it is public")));
    }
    Ok(found)
}

fn registry_token_view(token: &Token, secret: Option<&SecretText>) -> Value {
    let mut view = serde_json::to_value(view(token)).unwrap_or_default();
    if let Some(secret) = secret {
        view["token"] = json!(secret.expose());
    }
    view
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryTokenBody {
    description: Description,
}

async fn create_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    ApiJson(body): ApiJson<RegistryTokenBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let (token, secret) = state.registry_tokens.create(&caller.acting(), &registry, body.description).await?;
    Ok((StatusCode::CREATED, Json(registry_token_view(&token, Some(&secret)))))
}

async fn list_registry_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::ReadRegistries).await?;
    let tokens = state.registry_tokens.list(&registry).await?;
    Ok(Json(json!({"tokens": tokens.iter().map(|token| registry_token_view(token, None)).collect::<Vec<_>>()})))
}

async fn get_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    // Showing the secret again is as sensitive as issuing it.
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let (token, secret) = state.registry_tokens.get(&registry, &id).await?;
    Ok(Json(registry_token_view(&token, Some(&secret))))
}

async fn update_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<RegistryTokenBody>,
) -> ApiResult<Json<Value>> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let token = state.registry_tokens.describe(&caller.acting(), &registry, &id, body.description).await?;
    Ok(Json(registry_token_view(&token, None)))
}

async fn delete_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    state.registry_tokens.delete(&caller.acting(), &registry, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A registry's OIDC policy: `GET`/`PUT /v1/organizations/{org}/registries/{registry}/oidc-policy`, the body
/// YAML or JSON.
pub fn oidc_policy_routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/organizations/{org}/registries/{registry}/oidc-policy", get(get_oidc_policy).put(put_oidc_policy))
        .with_state(state)
}

async fn get_oidc_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let registry = managed_registry(&state, &caller, &org, &registry, Scope::ReadRegistries).await?;
    let (policy, source) = state.oidc.policy(&registry).await?;
    let audience = crate::service::oidc::audience(&registry);
    Ok(Json(json!({"statements": policy, "source": source, "audience": audience})))
}

async fn put_oidc_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let registry = managed_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let source = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("invalid_body", "the policy must be UTF-8 YAML or JSON"))?;
    let policy = state.oidc.set_policy(&caller.acting(), &registry, source).await?;
    Ok(Json(json!({"statements": policy, "source": source})))
}
