//! `/v1/organizations/{org}/tokens`: who am I, and (for admin tokens) issue, list and revoke tokens.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::access::managed_registry;
use super::context::Caller;
use super::described::{BodyErrors, Org, PageQuery, ReadErrors, RegistryPath, TokenPath};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::pagination::{Links, PageRequest, base_url};
use crate::domain::names::{Description, OrgSlug};
use crate::domain::oidc::Policy;
use crate::domain::registry::Registry;
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

/// A token as the API shows it: never its hash, and its secret only in the answer that created it (a
/// registry token's also when it is read).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TokenView)]
pub(crate) struct TokenView<'a> {
    id: &'a str,
    description: &'a str,
    scopes: &'a [Scope],
    /// May manage tokens, teams, storage and read the audit log.
    admin: bool,
    /// The team member it was issued to: their teams' grants bound its package access.
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// The id of the token that issued it, or `bootstrap`.
    created_by: &'a str,
    /// The secret to authenticate with; `pky_…` (organization) or `pkr_…` (registry).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

fn view<'a>(token: &'a Token, secret: Option<&'a str>) -> TokenView<'a> {
    TokenView {
        id: &token.id,
        description: token.description.as_str(),
        scopes: &token.scopes,
        admin: token.admin,
        member: token.member.as_deref(),
        created_at: token.created_at,
        created_by: &token.created_by,
        token: secret,
    }
}

/// The token a request authenticated with, and its organization.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CurrentToken)]
pub(crate) struct CurrentToken<'a> {
    #[schema(value_type = String)]
    organization: OrgSlug,
    token: TokenView<'a>,
}

/// One page of an organization's tokens.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TokenPage)]
pub(crate) struct TokenPage<'a> {
    tokens: Vec<TokenView<'a>>,
    links: Links,
}

/// A registry's tokens (a registry has few).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RegistryTokenList)]
pub(crate) struct RegistryTokenList<'a> {
    tokens: Vec<TokenView<'a>>,
}

#[utoipa::path(get, path = "/v1/organizations/{org}/tokens/current", tag = "tokens", params(Org),
    responses((status = 200, description = "The token this request carries (any token)", body = CurrentToken),
        ReadErrors))]
pub(crate) async fn get_current_token(caller: Caller, Path(org): Path<String>) -> ApiResult<Response> {
    let org = caller.organization_of(&org)?;
    Ok(Json(CurrentToken { organization: org, token: view(&caller.token, None) }).into_response())
}

#[utoipa::path(post, path = "/v1/organizations/{org}/tokens", tag = "tokens", params(Org), request_body = NewToken,
    responses((status = 201, description = "Issued; `token` is the secret, shown this once", body = TokenView),
        ReadErrors, BodyErrors))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(new): ApiJson<NewToken>,
) -> ApiResult<Response> {
    caller.require_admin(&org)?;
    let issued = state.tokens.issue(&caller.acting(), &caller.token, new).await?;
    Ok((StatusCode::CREATED, Json(view(&issued.token, Some(&issued.secret)))).into_response())
}

#[utoipa::path(get, path = "/v1/organizations/{org}/tokens", tag = "tokens", params(Org, PageQuery),
    responses((status = 200, description = "The organization's tokens (admin only), never their secrets",
        body = TokenPage), ReadErrors))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let org = caller.require_admin(&org)?;
    let page = PageRequest::from_query(&query)?;
    let (tokens, next) = state.tokens.list(&org, page.after.clone(), page.per_page).await?;
    let base = base_url(state.config.public_url.as_deref(), &headers);
    let next = page.next_link(&base, &format!("/v1/organizations/{org}/tokens"), next.as_deref());
    let tokens = tokens.iter().map(|token| view(token, None)).collect();
    Ok(Json(TokenPage { tokens, links: Links { next } }).into_response())
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/tokens/{id}", tag = "tokens", params(Org, TokenPath),
    responses((status = 204, description = "Revoked: from this answer on it authenticates nowhere (on AWS the answer waits 5 s for running functions to forget it)"), ReadErrors))]
pub(crate) async fn delete_token(
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

/// A registry token's description, to create it or change it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistryTokenBody {
    #[schema(value_type = String, max_length = 1000)]
    description: Description,
}

#[utoipa::path(post, path = "/v1/organizations/{org}/registries/{registry}/tokens", tag = "registry-tokens",
    params(Org, RegistryPath), request_body = RegistryTokenBody,
    responses((status = 201, description = "Created; `token` is its secret", body = TokenView,
        links(("get" = (operation_id = "get_registry_token",
            parameters(("org" = "$request.path.org"), ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))),
        ("update" = (operation_id = "update_registry_token",
            parameters(("org" = "$request.path.org"), ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))),
        ("delete" = (operation_id = "delete_registry_token",
            parameters(("org" = "$request.path.org"), ("registry" = "$request.path.registry"), ("id" = "$response.body#/id")))))),
        ReadErrors, BodyErrors))]
pub(crate) async fn create_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    ApiJson(body): ApiJson<RegistryTokenBody>,
) -> ApiResult<Response> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let (token, secret) = state.registry_tokens.create(&caller.acting(), &registry, body.description).await?;
    Ok((StatusCode::CREATED, Json(view(&token, Some(secret.expose())))).into_response())
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/tokens", tag = "registry-tokens",
    params(Org, RegistryPath), responses((status = 200, description = "The private registry's tokens, without secrets",
        body = RegistryTokenList), ReadErrors))]
pub(crate) async fn list_registry_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Response> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::ReadRegistries).await?;
    let tokens = state.registry_tokens.list(&registry).await?;
    let tokens = tokens.iter().map(|token| view(token, None)).collect();
    Ok(Json(RegistryTokenList { tokens }).into_response())
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/tokens/{id}", tag = "registry-tokens",
    params(Org, RegistryPath, TokenPath), responses((status = 200, description = "The token with its secret (needs \
        `write_registries`)", body = TokenView), ReadErrors))]
pub(crate) async fn get_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    // Showing the secret again is as sensitive as issuing it.
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let (token, secret) = state.registry_tokens.get(&registry, &id).await?;
    Ok(Json(view(&token, Some(secret.expose()))).into_response())
}

#[utoipa::path(patch, path = "/v1/organizations/{org}/registries/{registry}/tokens/{id}", tag = "registry-tokens",
    params(Org, RegistryPath, TokenPath), request_body = RegistryTokenBody,
    responses((status = 200, description = "Described anew", body = TokenView), ReadErrors, BodyErrors))]
pub(crate) async fn update_registry_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry, id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<RegistryTokenBody>,
) -> ApiResult<Response> {
    let registry = private_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let token = state.registry_tokens.describe(&caller.acting(), &registry, &id, body.description).await?;
    Ok(Json(view(&token, None)).into_response())
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/registries/{registry}/tokens/{id}", tag = "registry-tokens",
    params(Org, RegistryPath, TokenPath), responses((status = 204, description = "Deleted: from this answer on it authenticates nowhere (on AWS the answer waits 5 s for running functions to forget it)"), ReadErrors))]
pub(crate) async fn delete_registry_token(
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

/// A registry's OIDC policy: the statements it was read into, the document as written, and the audience a
/// job's token must carry.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OidcPolicyView {
    /// Who may publish or read: `{iss, scopes, claims}` each (see the README's OIDC section).
    #[schema(value_type = Vec<Object>)]
    statements: Policy,
    /// The YAML or JSON as it was sent; `null` before a policy is set.
    source: Option<String>,
    audience: String,
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/oidc-policy", tag = "oidc",
    params(Org, RegistryPath), responses((status = 200, description = "The policy (empty until one is set)",
        body = OidcPolicyView), ReadErrors))]
pub(crate) async fn get_oidc_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Json<OidcPolicyView>> {
    let registry = managed_registry(&state, &caller, &org, &registry, Scope::ReadRegistries).await?;
    let (statements, source) = state.oidc.policy(&registry).await?;
    Ok(Json(OidcPolicyView { statements, source, audience: crate::service::oidc::audience(&registry) }))
}

#[utoipa::path(put, path = "/v1/organizations/{org}/registries/{registry}/oidc-policy", tag = "oidc",
    params(Org, RegistryPath),
    request_body(content((String = "application/yaml"), (Object = "application/json")),
        description = "The policy, YAML or JSON: a list of statements, each `{iss, scopes, claims}`"),
    responses((status = 200, description = "Replaced", body = OidcPolicyView), ReadErrors, BodyErrors))]
pub(crate) async fn put_oidc_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<OidcPolicyView>> {
    let registry = managed_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let source = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("invalid_body", "the policy must be UTF-8 YAML or JSON"))?;
    let statements = state.oidc.set_policy(&caller.acting(), &registry, source).await?;
    let audience = crate::service::oidc::audience(&registry);
    Ok(Json(OidcPolicyView { statements, source: Some(source.to_owned()), audience }))
}
