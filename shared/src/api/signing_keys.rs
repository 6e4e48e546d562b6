//! `/v1/organizations/{org}/registries/{registry}/signing-keys`: the OpenPGP keys a Debian registry signs its
//! indexes with (listed by fingerprint, never their private halves), and their rotation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::{managed_registry, registry_settings};
use super::context::Caller;
use super::described::{Conflict, Invalid, Org, ReadErrors, RegistryPath, TooLarge, Unavailable};
use super::error::ApiResult;
use crate::domain::token::Scope;
use crate::service::signing_keys::{DEFAULT_OVERLAP_DAYS, KeyInfo};

pub fn routes(state: AppState) -> Router {
    let base = "/v1/organizations/{org}/registries/{registry}/signing-keys";
    Router::new()
        .route(base, get(list_signing_keys))
        .route(&format!("{base}/rotate"), post(rotate_signing_keys))
        .with_state(state)
}

/// A registry's signing keys, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SigningKeyList {
    keys: Vec<KeyInfo>,
}

/// How a rotation treats the key it replaces.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotation {
    /// Days the old key keeps signing beside the new one, 0 to 365 (default 30): clients that trust only
    /// the old key keep verifying until then.
    #[schema(default = 30, maximum = 365)]
    overlap_days: Option<u32>,
}

#[utoipa::path(get, path = "/v1/organizations/{org}/registries/{registry}/signing-keys", tag = "registries",
    params(Org, RegistryPath),
    responses((status = 200, description = "The registry's OpenPGP keys by fingerprint, newest first", body = SigningKeyList), ReadErrors))]
pub(crate) async fn list_signing_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
) -> ApiResult<Json<SigningKeyList>> {
    let (registry, _) = registry_settings(&state, &caller, &org, &registry).await?;
    let keys = state.signing_keys.list(&registry, chrono::Utc::now()).await?;
    Ok(Json(SigningKeyList { keys }))
}

#[utoipa::path(post, path = "/v1/organizations/{org}/registries/{registry}/signing-keys/rotate", tag = "registries",
    params(Org, RegistryPath), request_body(content = Option<Rotation>, description = "Optional; the overlap defaults to 30 days"),
    responses((status = 201, description = "Rotated: the new key first, the old one retiring", body = SigningKeyList),
        ReadErrors, TooLarge, Invalid, Conflict, Unavailable))]
pub(crate) async fn rotate_signing_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, registry)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let registry = managed_registry(&state, &caller, &org, &registry, Scope::WriteRegistries).await?;
    let rotation: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation { overlap_days: None }
    } else {
        super::json::parse(&body)?
    };
    let overlap = rotation.overlap_days.unwrap_or(DEFAULT_OVERLAP_DAYS);
    let keys = state.signing_keys.rotate(&caller.acting(), &registry, overlap, chrono::Utc::now()).await?;
    tracing::info!(registry.slug = %registry.slug, signing_key.fingerprint = %keys[0].fingerprint,
        "rotated the signing key of {}/{}; the old key signs for {overlap} more days", registry.organization, registry.slug);
    Ok((StatusCode::CREATED, Json(SigningKeyList { keys })).into_response())
}
